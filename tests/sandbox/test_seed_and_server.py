"""The sandbox: seeding moto like a real region, and the background server's life cycle."""

from __future__ import annotations

import http.server
import json
import os
import re
import stat
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.ec2.models import ec2_backends
from support import sandbox_keys, signed_request

from amazonei_sandbox import control, form, server
from amazonei_sandbox.control import SandboxError, SandboxInfo
from amazonei_sandbox.seed import SANDBOX_ACCOUNT_ID, SEED_MARK, seed_region
from amazonei_setup.state.paths import templates_dir, write_private_json

REGION = "us-west-2"
EI_SERVICE = "com.amazonaws.{region}.elastic-inference.runtime"
AMI_ID = re.compile(r"^ami-[0-9a-f]{17}$")


def _catalog_yaml(name: str) -> dict[str, Any]:
    """Read the catalog data directly, so the tests do not trust the code under test."""
    return yaml.safe_load((templates_dir() / "catalog" / name).read_text(encoding="utf-8"))


AMI_RULES: dict[str, dict[str, dict[str, Any]]] = _catalog_yaml("amis.yaml")["rules"]
RULE_IDS = [(key, os_name) for key, per_os in AMI_RULES.items() for os_name in per_os]
EIA1_REGIONS: list[str] = _catalog_yaml("hardware.yaml")["elastic_inference"]["regions"]["eia1"]


def _all_rules() -> list[dict[str, Any]]:
    return [AMI_RULES[key][os_name] for key, os_name in RULE_IDS]


def _ssm_names() -> list[str]:
    return sorted({name for rule in _all_rules() for name in rule["ssm_parameters"]})


# One session for every client: its loader keeps the service models between tests.
_SESSION = boto3.session.Session()


def _client(
    service: str, region: str = REGION, endpoint: str | None = None, home: Path | None = None
) -> Any:
    """In-process moto; or, with `endpoint` and `home`, the sandbox with that home's keys."""
    keys = sandbox_keys(home) if home is not None else {}
    return _SESSION.client(
        service,
        region_name=region,
        endpoint_url=endpoint,
        **{"aws_access_key_id": "testing", "aws_secret_access_key": "testing", **keys},
    )


def _rule_images(ec2: Any, rule: dict[str, Any]) -> list[dict[str, Any]]:
    """What the tool's discovery asks for: owner, first name pattern, x86_64, deprecated too."""
    return ec2.describe_images(
        Owners=rule["owners"],
        Filters=[
            {"Name": "name", "Values": [rule["name_patterns"][0]]},
            {"Name": "architecture", "Values": ["x86_64"]},
        ],
        IncludeDeprecated=True,
    )["Images"]


def _all_images_of(rule: dict[str, Any]) -> list[dict[str, Any]]:
    """Every image (deprecated too) matching any name pattern of the rule."""
    return _client("ec2").describe_images(
        Owners=rule["owners"],
        Filters=[{"Name": "name", "Values": rule["name_patterns"]}],
        IncludeDeprecated=True,
    )["Images"]


def _line(name: str) -> str:
    """An image name less its release (the last run of digits): one line of releases."""
    return re.sub(r"[\d.]+(?=\D*$)", "", name)


def _ei_service(ec2: Any, region: str) -> dict[str, Any]:
    response = ec2.describe_vpc_endpoint_services(ServiceNames=[EI_SERVICE.format(region=region)])
    (details,) = response["ServiceDetails"]
    return details


def _error_code(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return str(caught.value.response["Error"]["Code"])


# --- seeding, in process ------------------------------------------------------------------


_SAFE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_EC2_METADATA_DISABLED": "true",
}
_UNSAFE_ENV = ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "MOTO_ACCOUNT_ID")


def _isolate(monkeypatch: pytest.MonkeyPatch) -> None:
    """No real credentials, profile or endpoint may leak into a test."""
    for name in _UNSAFE_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in _SAFE_ENV.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    _isolate(monkeypatch)


@pytest.fixture
def mocked(aws_env: None) -> Iterator[None]:
    with mock_aws():
        yield


class TestSeededRegion:
    """Read-only checks that share one seeded in-process region (seeding costs ~0.5 s)."""

    @pytest.fixture(scope="class", autouse=True)
    @classmethod
    def seeded(cls) -> Iterator[None]:
        # The environment first, then the mock: undone the other way round, so the mock's
        # fake keys are gone before the environment is put back (the other order left
        # moto's FOOBARKEY in the worker's environment for every later test).
        with pytest.MonkeyPatch.context() as monkeypatch:
            _isolate(monkeypatch)
            # as the sandbox server has them (conftest turns moto's stock AMIs off elsewhere)
            monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "true")
            with mock_aws():
                seed_region(REGION)
                yield

    @pytest.mark.parametrize(("key", "os_name"), RULE_IDS)
    def test_each_rule_has_two_releases_and_ssm_names_the_newest(
        self, key: str, os_name: str
    ) -> None:
        rule = AMI_RULES[key][os_name]
        images = _rule_images(_client("ec2"), rule)
        ours = [image for image in images if SEED_MARK in image.get("Description", "")]
        assert len({image["CreationDate"] for image in ours}) >= 2, [i["Name"] for i in images]
        newest = max(images, key=lambda image: image["CreationDate"])
        assert newest in ours
        ssm, ec2 = _client("ssm"), _client("ec2")
        for name in rule["ssm_parameters"]:
            parameter = ssm.get_parameter(Name=name)["Parameter"]
            [named] = ec2.describe_images(ImageIds=[parameter["Value"]])["Images"]
            line = [i for i in _all_images_of(rule) if _line(i["Name"]) == _line(named["Name"])]
            assert named == max(line, key=lambda image: image["CreationDate"]), name
            assert parameter["Type"] == "String"
            assert parameter["DataType"] == "aws:ec2:image"

    @pytest.mark.parametrize(("key", "os_name"), RULE_IDS)
    def test_seeded_images_look_like_real_ones(self, key: str, os_name: str) -> None:
        rule = AMI_RULES[key][os_name]
        ours = [i for i in _rule_images(_client("ec2"), rule) if SEED_MARK in i["Description"]]
        assert ours
        for image in ours:
            assert AMI_ID.match(image["ImageId"]), image["ImageId"]
            assert image["Architecture"] == "x86_64"
            assert image["RootDeviceType"] == "ebs"
            assert image["VirtualizationType"] == "hvm"
            assert image["State"] == "available"
            root = "/dev/sda1" if os_name == "ubuntu" else "/dev/xvda"
            assert image["RootDeviceName"] == root
            if rule["owners"] == ["amazon"]:
                assert image["ImageOwnerAlias"] == "amazon"
                assert image["OwnerId"] == "898082745236"
            else:
                assert "ImageOwnerAlias" not in image
                assert image["OwnerId"] == rule["owners"][0]

    def test_eia_images_are_deprecated_and_hidden_unless_asked_for(self) -> None:
        """As on AWS: every Elastic Inference-era DLAMI is deprecated, so DescribeImages leaves
        it out unless IncludeDeprecated=True, and gives it by id."""
        ec2 = _client("ec2")
        for pattern in (
            "Deep Learning AMI (Amazon Linux 2) Version *",
            "Deep Learning AMI (Ubuntu*",
        ):
            search = {"Owners": ["amazon"], "Filters": [{"Name": "name", "Values": [pattern]}]}
            assert ec2.describe_images(**search)["Images"] == [], pattern
            found = ec2.describe_images(**search, IncludeDeprecated=True)["Images"]
            assert len(found) >= 2, pattern
            for image in found:
                assert image["DeprecationTime"] < "2025", image
            by_id = ec2.describe_images(ImageIds=[found[0]["ImageId"]])["Images"]
            assert by_id[0]["DeprecationTime"] == found[0]["DeprecationTime"]

    def test_inf1_neuron_images_name_their_sdk_and_old_lines_are_deprecated(self) -> None:
        ec2 = _client("ec2")
        search = {
            "Owners": ["amazon"],
            "Filters": [{"Name": "name", "Values": ["Deep Learning AMI Neuron (Ubuntu 22.04) *"]}],
        }
        assert ec2.describe_images(**search)["Images"] == []
        found = ec2.describe_images(**search, IncludeDeprecated=True)["Images"]
        sdks = sorted(re.search(r"Neuron SDK ([\d.]+)", i["Description"])[1] for i in found)
        assert sdks == ["2.25.0", "2.26.0", "2.30.0"]

    def test_every_catalog_parameter_resolves_to_an_existing_image(self) -> None:
        names = _ssm_names()
        assert names
        ssm, ec2 = _client("ssm"), _client("ec2")
        for start in range(0, len(names), 10):  # GetParameters takes at most 10 names
            response = ssm.get_parameters(Names=names[start : start + 10])
            assert response["InvalidParameters"] == []
            image_ids = [parameter["Value"] for parameter in response["Parameters"]]
            assert len(ec2.describe_images(ImageIds=image_ids)["Images"]) == len(image_ids)

    def test_moto_own_amazon_linux_parameters_still_work(self) -> None:
        ssm, ec2 = _client("ssm"), _client("ec2")
        name = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-x86_64"
        image_id = ssm.get_parameter(Name=name)["Parameter"]["Value"]
        assert ec2.describe_images(ImageIds=[image_id])["Images"]
        tree = ssm.get_parameters_by_path(Path="/aws/service/ami-amazon-linux-latest")
        assert len(tree["Parameters"]) > 1

    def test_ei_service_only_in_eia_zones_that_sell_m5(self) -> None:
        ec2 = _client("ec2")
        details = _ei_service(ec2, REGION)
        assert details["AvailabilityZones"] == ["us-west-2a", "us-west-2b", "us-west-2c"]
        assert details["ServiceType"] == [{"ServiceType": "Interface"}]
        offerings = ec2.describe_instance_type_offerings(
            LocationType="availability-zone",
            Filters=[{"Name": "instance-type", "Values": ["m5.large"]}],
        )["InstanceTypeOfferings"]
        m5_zones = {offering["Location"] for offering in offerings}
        assert set(details["AvailabilityZones"]) < m5_zones


def test_ei_service_in_another_eia1_region(mocked: None) -> None:
    region = "ap-northeast-1"
    assert region in EIA1_REGIONS
    seed_region(region)
    zones = _ei_service(_client("ec2", region), region)["AvailabilityZones"]
    assert zones and all(zone.startswith(region) for zone in zones)


def test_ei_service_is_invalid_outside_eia_regions(mocked: None) -> None:
    region = "eu-central-1"
    assert region not in EIA1_REGIONS
    seed_region(region)
    ec2 = _client("ec2", region)
    code = _error_code(
        ec2.describe_vpc_endpoint_services, ServiceNames=[EI_SERVICE.format(region=region)]
    )
    assert code == "InvalidServiceName"
    # Other endpoint services of the region are untouched.
    assert _ei_other_services(ec2, region)


def _ei_other_services(ec2: Any, region: str) -> list[dict[str, Any]]:
    name = f"com.amazonaws.{region}.ssm"
    return ec2.describe_vpc_endpoint_services(ServiceNames=[name])["ServiceDetails"]


def _seeded_image_ids(region: str) -> set[str]:
    ec2 = _client("ec2", region)
    rules = _all_rules()
    images = ec2.describe_images(
        Owners=sorted({owner for rule in rules for owner in rule["owners"]}),
        Filters=[{"Name": "name", "Values": [p for rule in rules for p in rule["name_patterns"]]}],
        IncludeDeprecated=True,
    )["Images"]
    return {image["ImageId"] for image in images if SEED_MARK in image.get("Description", "")}


def _snapshot(region: str) -> tuple[Any, ...]:
    """Everything seeding writes, counted in the backends (all images, not just ours)."""
    ec2 = ec2_backends[SANDBOX_ACCOUNT_ID][region]
    ssm = _client("ssm", region)
    versions = [(n, ssm.get_parameter(Name=n)["Parameter"]["Version"]) for n in _ssm_names()]
    ei = _client("ec2", region).describe_vpc_endpoint_services(
        ServiceNames=[EI_SERVICE.format(region=region)]
    )
    return len(ec2.amis), len(ec2.snapshots), versions, ei["ServiceDetails"]


def test_seeding_twice_changes_nothing(mocked: None) -> None:
    seed_region(REGION)
    first = _snapshot(REGION)
    seed_region(REGION)
    assert _snapshot(REGION) == first
    assert len(first[-1]) == 1


def test_image_ids_are_deterministic_per_region(aws_env: None) -> None:
    def seeded_ids(region: str) -> set[str]:
        with mock_aws():
            seed_region(region)
            return _seeded_image_ids(region)

    first = seeded_ids(REGION)
    assert len(first) >= 2 * len(RULE_IDS) - 2  # two rules share the AL2023 Neuron line
    assert seeded_ids(REGION) == first
    assert not first & seeded_ids("us-east-1")


# --- the server's middleware, without a server --------------------------------------------


def _signed(region: str, path: str = "/") -> dict[str, Any]:
    return {
        "PATH_INFO": path,
        "HTTP_X_MOTO_ACCOUNT_ID": "111122223333",
        "HTTP_AUTHORIZATION": (
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261121/"
            f"{region}/ec2/aws4_request, SignedHeaders=host, Signature=abc"
        ),
    }


def _middleware() -> tuple[server.SeedingMiddleware, list[tuple[str, str]], list[str]]:
    seeds: list[tuple[str, str]] = []
    served: list[str] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        served.append(environ["PATH_INFO"])
        return [b"moto"]

    def seed(region: str, account_id: str) -> None:
        seeds.append((account_id, region))

    return server.SeedingMiddleware(app, seed=seed), seeds, served


def test_credential_scope_reads_key_and_region() -> None:
    header = _signed("eu-west-1")["HTTP_AUTHORIZATION"]
    assert form.credential_scope(header) == ("AKIDEXAMPLE", "eu-west-1")
    assert form.credential_scope("") is None
    assert form.credential_scope("Bearer token") is None


def test_middleware_seeds_each_region_once_even_under_concurrency(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MOTO_ACCOUNT_ID", raising=False)
    middleware, seeds, served = _middleware()
    threads = [
        threading.Thread(target=middleware, args=(_signed(REGION), lambda *a: None))
        for _ in range(16)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    middleware({"PATH_INFO": "/unsigned"}, lambda *a: None)
    middleware(_signed("eu-west-1"), lambda *a: None)
    assert seeds == [("111122223333", REGION), ("111122223333", "eu-west-1")]
    assert len(served) == 18


def test_middleware_reseeds_after_moto_reset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MOTO_ACCOUNT_ID", raising=False)
    middleware, seeds, served = _middleware()
    middleware(_signed(REGION), lambda *a: None)
    middleware({"PATH_INFO": "/moto-api/reset"}, lambda *a: None)
    middleware(_signed(REGION), lambda *a: None)
    assert seeds == [("111122223333", REGION)] * 2
    assert "/moto-api/reset" in served


def test_middleware_serves_regions_it_cannot_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MOTO_ACCOUNT_ID", raising=False)
    attempts: list[str] = []

    def seed(region: str, account_id: str) -> None:
        attempts.append(region)
        raise KeyError(region)

    middleware = server.SeedingMiddleware(lambda environ, start: [b"moto"], seed=seed)
    assert middleware(_signed("mars-east-1"), lambda *a: None) == [b"moto"]
    assert middleware(_signed("mars-east-1"), lambda *a: None) == [b"moto"]
    assert attempts == ["mars-east-1", "mars-east-1"]  # not remembered as seeded


def test_middleware_health_names_this_process() -> None:
    middleware, seeds, served = _middleware()
    statuses: list[str] = []
    body = middleware({"PATH_INFO": control.HEALTH_PATH}, lambda s, h: statuses.append(s))
    assert json.loads(b"".join(body)) == {"service": control.SERVICE_ID, "pid": os.getpid()}
    assert statuses == ["200 OK"] and not served and not seeds


# --- the server process -------------------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, SandboxInfo]]:
    """One server for the module: the first EC2 call of a process costs over a second."""
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as monkeypatch:
        for flag in server.VALIDATION_FLAGS:  # the server must turn them on by itself
            monkeypatch.delenv(flag, raising=False)
        info = control.start(home, timeout_s=60)
    try:
        yield home, info
    finally:
        control.stop(home)


def test_status_reports_a_running_loopback_endpoint(sandbox: tuple[Path, SandboxInfo]) -> None:
    home, info = sandbox
    current = control.status(home)
    assert current == info
    assert current.running
    assert current.endpoint == f"http://127.0.0.1:{current.port}"
    assert current.port > 0
    document = current.to_dict()
    assert document["endpoint"] == current.endpoint and document["running"] is True
    assert {"pid", "port"} <= set(document)


def test_state_file_is_private(sandbox: tuple[Path, SandboxInfo]) -> None:
    home, info = sandbox
    state = home / "sandbox" / "sandbox.json"
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    assert stat.S_IMODE(state.parent.stat().st_mode) == 0o700
    assert json.loads(state.read_text())["pid"] == info.pid
    assert stat.S_IMODE((state.parent / "server.log").stat().st_mode) == 0o600


def test_listens_on_loopback_only(sandbox: tuple[Path, SandboxInfo]) -> None:
    _, info = sandbox
    table = Path("/proc/net/tcp")
    if not table.exists():
        pytest.skip("needs Linux /proc/net/tcp")
    port = f":{info.port:04X}"
    listening = [
        line.split()[1]
        for line in table.read_text().splitlines()[1:]
        if line.split()[1].endswith(port) and line.split()[3] == "0A"
    ]
    assert listening == ["0100007F" + port]


def test_boto3_finds_seeded_dlamis_and_ei_through_the_endpoint(
    sandbox: tuple[Path, SandboxInfo],
) -> None:
    home, info = sandbox
    ec2 = _client("ec2", endpoint=info.endpoint, home=home)
    rule = AMI_RULES["nvidia"]["ubuntu"]
    images = _rule_images(ec2, rule)
    assert len(images) == 2
    newest = max(images, key=lambda image: image["CreationDate"])
    ssm = _client("ssm", endpoint=info.endpoint, home=home)
    assert (
        ssm.get_parameter(Name=rule["ssm_parameters"][0])["Parameter"]["Value"] == newest["ImageId"]
    )
    eia = _rule_images(ec2, AMI_RULES["eia"]["amazon-linux"])
    assert len(eia) == 2 and all(i["ImageOwnerAlias"] == "amazon" for i in eia)
    assert len(_ei_service(ec2, REGION)["AvailabilityZones"]) == 3
    other = _client("ec2", "eu-central-1", endpoint=info.endpoint, home=home)
    code = _error_code(
        other.describe_vpc_endpoint_services,
        ServiceNames=[EI_SERVICE.format(region="eu-central-1")],
    )
    assert code == "InvalidServiceName"


def test_environment_variables_alone_point_boto3_at_the_sandbox(
    sandbox: tuple[Path, SandboxInfo], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    home, info = sandbox
    keys = sandbox_keys(home)
    environment = {  # what a user exports to reach the sandbox with boto3 or the AWS CLI
        "AWS_ENDPOINT_URL": info.endpoint,
        "AWS_ACCESS_KEY_ID": keys["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": keys["aws_secret_access_key"],
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    ec2 = boto3.session.Session().client("ec2", region_name=REGION)  # no endpoint_url given
    assert len(_ei_service(ec2, REGION)["AvailabilityZones"]) == 3


def test_server_validates_ids_like_aws(sandbox: tuple[Path, SandboxInfo]) -> None:
    home, info = sandbox
    ec2 = _client("ec2", endpoint=info.endpoint, home=home)
    image_id = _rule_images(ec2, AMI_RULES["eia"]["amazon-linux"])[0]["ImageId"]
    launch = {"MinCount": 1, "MaxCount": 1}
    bogus_ami = {"ImageId": "ami-0123456789abcdef0", "InstanceType": "m5.large"}
    assert _error_code(ec2.run_instances, **launch, **bogus_ami) == "InvalidAMIID.NotFound"
    bogus_type = {"ImageId": image_id, "InstanceType": "m5.bogus"}
    assert "InstanceType" in _error_code(ec2.run_instances, **launch, **bogus_type)
    bogus_key = {"ImageId": image_id, "InstanceType": "m5.large", "KeyName": "missing"}
    assert _error_code(ec2.run_instances, **launch, **bogus_key) == "InvalidKeyPair.NotFound"


def test_moto_reset_is_followed_by_a_fresh_seed(sandbox: tuple[Path, SandboxInfo]) -> None:
    home, info = sandbox
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = signed_request(home, info.endpoint + "/moto-api/reset", "POST")  # the owner only
    with opener.open(request, timeout=10) as response:
        assert response.status == 200
    ec2 = _client("ec2", endpoint=info.endpoint, home=home)
    # Ubuntu 24.04's 2.31.0 and 22.04's 2.26.0 and 2.30.0 (at most 2.31: the rule's limit)
    assert len(_rule_images(ec2, AMI_RULES["neuron"]["ubuntu"])) == 3


def test_a_stranger_on_the_recorded_port_is_not_the_sandbox(
    sandbox: tuple[Path, SandboxInfo], tmp_path: Path
) -> None:
    """Ports get reused too: whatever answers there must be our server, with our pid."""
    _, info = sandbox

    class Stranger(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"service": "something else"}')

        def log_message(self, *args: Any) -> None:
            return None

    stranger = http.server.HTTPServer(("127.0.0.1", 0), Stranger)
    thread = threading.Thread(target=stranger.serve_forever, daemon=True)
    thread.start()
    try:
        _write_state(tmp_path, info.pid, port=stranger.server_address[1])
        current = control.status(tmp_path)
        assert current is not None and current.pid == info.pid and not current.running
    finally:
        stranger.shutdown()
        stranger.server_close()


def test_second_start_reuses_the_running_server(sandbox: tuple[Path, SandboxInfo]) -> None:
    home, info = sandbox
    again = control.start(home)
    assert again == info


# --- life cycle of a server of its own ----------------------------------------------------


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _write_state(home: Path, pid: int, port: int = 9) -> None:
    endpoint = f"http://127.0.0.1:{port}"
    write_private_json(
        home / "sandbox" / "sandbox.json", {"pid": pid, "port": port, "endpoint": endpoint}
    )


def test_start_replaces_a_stale_record_and_stop_ends_the_server(tmp_path: Path) -> None:
    stale_pid = _dead_pid()
    _write_state(tmp_path, stale_pid)
    stale = control.status(tmp_path)
    assert stale is not None and not stale.running
    info = control.start(tmp_path)
    assert info.running and info.pid != stale_pid
    assert control.stop(tmp_path) is True
    assert control.status(tmp_path) is None
    with pytest.raises(ProcessLookupError):
        os.kill(info.pid, 0)
    with pytest.raises(OSError):
        urllib.request.build_opener(urllib.request.ProxyHandler({})).open(info.endpoint, timeout=2)
    assert control.stop(tmp_path) is False


def test_never_signals_a_process_that_is_not_the_server(tmp_path: Path) -> None:
    bystander = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    try:
        _write_state(tmp_path, bystander.pid)
        current = control.status(tmp_path)
        assert current is not None and not current.running
        assert control.stop(tmp_path, timeout_s=2) is False
        assert bystander.poll() is None
        assert control.status(tmp_path) is None
    finally:
        assert bystander.stdin is not None
        bystander.stdin.close()
        bystander.wait(timeout=10)


def test_start_failure_reports_the_server_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    failing = [sys.executable, "-c", "import sys; sys.exit('boom: cannot serve here')"]
    monkeypatch.setattr(control, "_server_command", lambda ready, home=None: failing)
    with pytest.raises(SandboxError) as caught:
        control.start(tmp_path, timeout_s=20)
    assert "boom: cannot serve here" in caught.value.message
    assert caught.value.hint
    assert control.status(tmp_path) is None


def test_unreadable_state_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "sandbox").mkdir()
    (tmp_path / "sandbox" / "sandbox.json").write_text("{not json")
    with pytest.raises(SandboxError) as caught:
        control.status(tmp_path)
    assert "sandbox.json" in caught.value.message and caught.value.hint


def test_state_pointing_away_from_loopback_is_refused(tmp_path: Path) -> None:
    write_private_json(
        tmp_path / "sandbox" / "sandbox.json",
        {"pid": os.getpid(), "port": 80, "endpoint": "http://203.0.113.7:80"},
    )
    with pytest.raises(SandboxError):
        control.status(tmp_path)


def test_the_server_runs_without_any_of_the_callers_aws_credentials(
    sandbox: tuple[Path, SandboxInfo],
) -> None:
    """Issue 15 point 13: this test process has AWS_ACCESS_KEY_ID and friends set (conftest);
    the server it started has none of them and no credentials file to fall back on."""
    _, info = sandbox
    raw = Path(f"/proc/{info.pid}/environ").read_bytes().split(b"\0")
    env = dict(item.decode().split("=", 1) for item in raw if b"=" in item)
    assert os.environ.get("AWS_ACCESS_KEY_ID")  # the caller has some
    assert not {k for k in env if k.startswith("AWS_")} - {
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
    }
    assert env["AWS_CONFIG_FILE"] == env["AWS_SHARED_CREDENTIALS_FILE"] == os.devnull
