"""The test session's environment, the same whatever the developer's shell exports.

botocore reads dozens of AWS_* variables (region, profile, endpoints, FIPS, retries, credential
sources), moto reads MOTO_* and TEST_SERVER_MODE, urllib and botocore take proxies from the
environment, and the tool has variables of its own: any of them in a developer's shell would
change what the tests see, or send a call somewhere other than moto. Standard library only: the
root conftest applies this before anything imports botocore or moto."""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping

# Every variable with one of these prefixes goes: botocore reads AWS_ENDPOINT_URL_<SERVICE>,
# AWS_BEARER_TOKEN_<SERVICE> and more by pattern, so no fixed list of AWS_* names is complete.
FOREIGN_PREFIXES = ("AWS_", "BOTOCORE_", "MOTO_")

# And these by name: moto's server modes, the proxies and CA bundles botocore and urllib take
# from the environment, boto's old config file (one of botocore's credential sources), and the
# tool's own settings (state home, debug output, sandbox throttle, the agent's).
FOREIGN_NAMES = frozenset(
    {
        "TEST_SERVER_MODE",
        "TEST_PROXY_MODE",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "no_proxy",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
        "BOTO_CONFIG",
        "AMAZONEI_SETUP_HOME",
        "AMAZONEI_SETUP_DEBUG",
        "AMAZONEI_SETUP_ROOT",
        "AMAZONEI_SANDBOX_THROTTLE",
        "AMAZONEI_AGENT_ROOT",
        "AMAZONEI_AGENT_DEV_DIR",
        "AMAZONEI_AGENT_IMDS_ENDPOINT",
        "AMAZONEI_AGENT_CACHE_DIR",
    }
)

# And one for the suite's speed, not what it sees: with PYTHONDONTWRITEBYTECODE set, none of the
# hundreds of children the suite starts (each CLI run, sandbox server, agent) caches the
# package's bytecode, so each compiles it from source again. Measured on 2 cores, the README's
# test command took 3 min 46 s with it and 3 min 06 s without. Python's default (__pycache__,
# git-ignored) is restored for the session and its children.
COSTLY_NAMES = frozenset({"PYTHONDONTWRITEBYTECODE"})

# What the suite sets in their place: moto's dummy keys, and no AWS config or credentials file
# (a [default] profile there would bring its region, endpoint or FIPS setting back).
SUITE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}

# moto reads these at import time: bad ids must fail as they do on AWS. In-process mocks skip
# moto's ~1,300 stock AMIs (0.15 s of CPU per EC2 backend, a third of the suite's time); the
# seed adds the DLAMIs the tool looks for. The sandbox server keeps them (control.py).
SUITE_MOTO = {
    "MOTO_ENABLE_AMI_VALIDATION": "true",
    "MOTO_ENABLE_KEYPAIR_VALIDATION": "true",
    "MOTO_EC2_ENABLE_INSTANCE_TYPE_VALIDATION": "true",
    "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
}

SUITE_VARIABLES = {**SUITE_AWS, **SUITE_MOTO}


AT_START: dict[str, str] = {}  # set by conftest.py once it made the session hermetic


def is_foreign(name: str) -> bool:
    """Whether a variable of this name, from outside, could change what a test sees."""
    return name.startswith(FOREIGN_PREFIXES) or name in FOREIGN_NAMES


def foreign_names(environ: Mapping[str, str]) -> list[str]:
    """The variables in `environ` that are neither harmless nor the suite's own values."""
    return sorted(
        name
        for name, value in environ.items()
        if is_foreign(name) and SUITE_VARIABLES.get(name) != value
    )


def make_hermetic(environ: MutableMapping[str, str]) -> None:
    """Remove every foreign and costly variable from `environ`, then set the suite's own."""
    for name in [name for name in environ if is_foreign(name) or name in COSTLY_NAMES]:
        del environ[name]
    environ.update(SUITE_VARIABLES)


def hermetic_copy(environ: Mapping[str, str], **extra: str) -> dict[str, str]:
    """A copy of `environ` made hermetic, plus `extra` (what one child is meant to see)."""
    env = dict(environ)
    make_hermetic(env)
    env.update(extra)
    return env
