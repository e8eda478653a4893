"""Property-based fuzz of profile documents and raw bytes: never a traceback, and bad input is
always exit 2 (exit 1 is for AWS, which a bad profile must never reach)."""

from __future__ import annotations

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amazonei_setup.cli.main import Hooks, main
from amazonei_setup.errors import ProfileError
from amazonei_setup.spec.profile_checks import validate_profile
from amazonei_setup.spec.profile_file import read_profile_file

KEYS = ["name", "region", "instance_type", "accelerator", "os", "ami", "network", "access",
        "seats", "tags", "agent", "ttl", "reigon", "extra"]  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(
        [
            "demo",
            "us-west-2",
            "m5.xlarge",
            "inf1.xlarge",
            "eia2.medium",
            "none",
            "ubuntu",
            "auto",
            "default",
            "0.0.0.0/0",
            "ssm",
            "ssh",
            "create",
            "4h",
            "1h30m",
            "5m",
            "",
        ]
    ),
    st.text(max_size=20),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
DOCUMENTS = st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=8)


class AwsMustNotBeReached(Exception):
    pass


def _no_aws(target):
    raise AwsMustNotBeReached


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(document=DOCUMENTS)
def test_profile_documents_never_crash(tmp_path_factory, document):
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / "profile.yaml"
    path.write_text(yaml.safe_dump(document))
    try:
        validate_profile(read_profile_file(path))
        valid = True
    except ProfileError:
        valid = False
    hooks = Hooks(session_factory=_no_aws, stdin_is_tty=lambda: False)
    try:
        code = main(["--home", str(folder / "home"), "plan", "--profile-file", str(path)], hooks)
    except AwsMustNotBeReached:
        assert valid, "an invalid profile reached AWS"
        return
    if not valid:
        assert code == 2


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_raw_bytes_only_ever_give_profile_errors(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("raw") / "profile.yaml"
    path.write_bytes(raw)
    try:
        validate_profile(read_profile_file(path))
    except ProfileError as error:
        assert error.exit_code == 2
        assert all(line.strip() for line in error.lines())
