"""Bad input: exit 2, a message that names the place, the field, the value and the fix, no
traceback, and nothing created in AWS."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

GOOD = """\
name: demo
region: us-west-2
instance_type: m5.xlarge
accelerator: eia2.medium
"""


def write(tmp_path: Path, text: str | bytes) -> str:
    path = tmp_path / "profile.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return str(path)


def assert_refused(result, recorder, *fragments: str) -> None:
    assert result.code == 2, result.err
    assert "Traceback" not in result.err
    flat = " ".join(result.err.split())
    for fragment in fragments:
        assert fragment in flat, f"{fragment!r} not in {flat!r}"
    assert recorder.operations(mutating_only=True) == []


PROFILE_CASES = [
    # (id, document, expected fragments)
    ("yaml-syntax", "name: demo\nregion: [us-west-2\n", ["profile.yaml:3", "is not valid YAML"]),
    ("empty", "   \n", ["profile.yaml", "is empty"]),
    ("not-a-mapping", "- name: demo\n", ["must be a mapping", "not a list"]),
    ("binary", b"\x89PNG\r\n\x1a\n\x00\x00", ["is not UTF-8 text"]),
    (
        "unknown-key",
        GOOD + "instnce_type: m5.large\n",
        ["profile.yaml:5: instnce_type: unknown key", "Did you mean 'instance_type'?"],
    ),
    (
        "nested-unknown-key",
        GOOD + "network: {vcp: default}\n",
        ["network.vcp: unknown key", "Did you mean 'vpc'?"],
    ),
    (
        "region-typo",
        GOOD.replace("us-west-2", "us-wset-2"),
        ["profile.yaml:2: region: 'us-wset-2' is not an AWS region", "Did you mean 'us-west-2'?"],
    ),
    (
        "bad-name",
        GOOD.replace("name: demo", "name: My_Demo"),
        ["profile.yaml:1: name: 'My_Demo' is not a deployment name", "a-z, 0-9 and '-'"],
    ),
    (
        "instance-typo",
        GOOD.replace("m5.xlarge", "m5.xlarg"),
        ["instance_type: 'm5.xlarg' is not in the catalog", "Did you mean 'm5.xlarge'?"],
    ),
    (
        "accelerator-typo",
        GOOD.replace("eia2.medium", "eia2.meduim"),
        ["accelerator: 'eia2.meduim' is not an Elastic Inference accelerator", "eia2.medium"],
    ),
    (
        "accelerator-on-inferentia",
        GOOD.replace("m5.xlarge", "inf1.xlarge"),
        ["'eia2.medium' cannot be attached to inf1.xlarge", "accelerator: none"],
    ),
    (
        "eia2-where-never-sold",
        GOOD.replace("us-west-2", "ap-northeast-1"),
        ["eia2 accelerators were never offered in ap-northeast-1", "Try eia1"],
    ),
    (
        "bad-cidr",
        GOOD + "access: {ssh_cidr: 10.0.0.300/32}\n",
        ["access.ssh_cidr: '10.0.0.300/32' is not a CIDR block"],
    ),
    (
        "world-ssh",
        GOOD + "access: {ssh_cidr: 0.0.0.0/0}\n",
        ["opens SSH to the whole internet", "allow_world_ssh"],
    ),
    ("seats-zero", GOOD + "seats: 0\n", ["seats: 0 is out of range"]),
    ("seats-negative", GOOD + "seats: -3\n", ["seats: -3 is out of range"]),
    ("seats-word", GOOD + "seats: many\n", ["seats: 'many'"]),
    ("os-typo", GOOD + "os: ubuntoo\n", ["os: 'ubuntoo' is not allowed", "Did you mean 'ubuntu'?"]),
    ("bad-vpc", GOOD + "network: {vpc: my-vpc}\n", ["network.vpc: 'my-vpc' is not a VPC"]),
    ("bad-ami", GOOD + "ami: ubuntu-latest\n", ["ami: 'ubuntu-latest' is not an AMI id"]),
    ("reserved-tag", GOOD + "tags: {'aws:owner': me}\n", ["reserved prefix"]),
    ("missing-region", "name: demo\ninstance_type: m5.xlarge\n", ["region (--region)"]),
    ("missing-everything", "tags: {a: b}\n", ["name (--name)", "region (--region)"]),
    ("name-too-long", GOOD.replace("name: demo", "name: " + "a" * 33), ["not a deployment name"]),
    ("name-trailing-dash", GOOD.replace("name: demo", "name: demo-"), ["not a deployment name"]),
    ("name-number", GOOD.replace("name: demo", "name: [1, 2]"), ["name: [1, 2]"]),
    ("region-empty", GOOD.replace("us-west-2", "''"), ["region (--region)"]),
    ("region-list", GOOD.replace("us-west-2", "[us-west-2]"), ["region: ['us-west-2']"]),
    ("instance-null", GOOD.replace("m5.xlarge", "null"), ["instance_type (--instance-type)"]),
    ("accelerator-number", GOOD.replace("eia2.medium", "7"), ["accelerator: 7"]),
    ("top-level-typo", GOOD + "reigon: us-east-1\n", ["Did you mean 'region'?"]),
    ("tags-not-mapping", GOOD + "tags: [a, b]\n", ["tags: ['a', 'b']"]),
    ("tag-value-number", GOOD + "tags: {cost-center: 42}\n", ["tags.cost-center: 42"]),
    ("network-not-mapping", GOOD + "network: default\n", ["network: 'default'"]),
    ("agent-not-bool", GOOD + "agent: {enabled: maybe}\n", ["agent.enabled: 'maybe'"]),
    ("seats-too-many", GOOD + "seats: 1000\n", ["seats: 1000 is out of range"]),
    ("world-ssh-v6", GOOD + "access: {ssh_cidr: '::/0'}\n", ["opens SSH to the whole internet"]),
    (
        "ssm-with-key",
        GOOD + "access: {mode: ssm, key_pair: mine}\n",
        ["access.key_pair: 'mine' conflicts with access mode ssm"],
    ),
    ("access-mode-typo", GOOD + "access: {mode: shh}\n", ["Did you mean 'ssh'?"]),
    (
        "tab-indent",
        "name: demo\nregion: us-west-2\n\tinstance_type: m5.xlarge\n",
        ["not valid YAML"],
    ),
    ("just-a-string", "hello\n", ["must be a mapping", "not a str"]),
    (
        "ttl-word",
        GOOD + "ttl: soon\n",
        ["profile.yaml:5: ttl: 'soon' is not a duration", "90m, 4h, 2d or 1h30m"],
    ),
    ("ttl-too-short", GOOD + "ttl: 5m\n", ["profile.yaml:5: ttl: '5m' is too short", "10m to 30d"]),
    ("ttl-too-long", GOOD + "ttl: 45d\n", ["ttl: '45d' is too long", "10m to 30d"]),
    ("ttl-number", GOOD + "ttl: 4\n", ["ttl: 4 is not a duration"]),
    ("ttl-seconds", GOOD + "ttl: 3600s\n", ["ttl: '3600s' is not a duration"]),
]


@pytest.mark.parametrize(
    ("document", "fragments"),
    [case[1:] for case in PROFILE_CASES],
    ids=[case[0] for case in PROFILE_CASES],
)
def test_bad_profile_is_refused_with_its_location(
    aws, run_cli, recorder, tmp_path, document, fragments
):
    result = run_cli("launch", "--yes", "--profile-file", write(tmp_path, document))
    assert_refused(result, recorder, *fragments)


def test_every_problem_is_reported_at_once(aws, run_cli, recorder, tmp_path):
    document = "name: Bad!\nregion: mars-1\ninstance_type: m5.xlarge\nseats: 0\n"
    result = run_cli("plan", "--profile-file", write(tmp_path, document))
    assert_refused(result, recorder, "profile.yaml:1: name", "profile.yaml:2: region", "seats")
    assert "has 3 problems" in result.err


def test_missing_profile_file(run_cli, recorder, tmp_path):
    result = run_cli("plan", "--profile-file", str(tmp_path / "nope.yaml"))
    assert_refused(result, recorder, "nope.yaml: file not found")
    assert recorder.sessions == 0


FLAG_CASES = [
    (["--instance-type", "m5.lrge"], ["--instance-type: instance_type: 'm5.lrge'", "m5.large"]),
    (["--region", "eu-wset-1"], ["--region: region: 'eu-wset-1'", "Did you mean 'eu-west-1'?"]),
    (["--seats", "0"], ["--seats: seats: 0 is out of range"]),
    (["--ssh-cidr", "everyone"], ["--ssh-cidr: access.ssh_cidr: 'everyone' is not a CIDR"]),
    (["--tag", "novalue"], ["--tag 'novalue' is not KEY=VALUE"]),
    (["--accelerator", "eia3.huge"], ["'eia3.huge' is not an Elastic Inference accelerator"]),
    (
        ["--access", "ssm", "--ssh-cidr", "10.0.0.1/32"],
        ["--ssh-cidr: access.ssh_cidr", "conflicts"],
    ),
    (["--name", "x" * 40], ["--name: name:", "not a deployment name"]),
    (["--ttl", "4 hours"], ["--ttl: ttl: '4 hours' is not a duration", "1h30m"]),
    (["--ttl", "9m"], ["--ttl: ttl: '9m' is too short"]),
    (["--ttl", "31d"], ["--ttl: ttl: '31d' is too long"]),
]


@pytest.mark.parametrize(("flags", "fragments"), FLAG_CASES, ids=lambda v: str(v)[:30])
def test_bad_flags_name_the_flag(aws, run_cli, recorder, tmp_path, flags, fragments):
    result = run_cli("launch", "--yes", "--profile-file", write(tmp_path, GOOD), *flags)
    assert_refused(result, recorder, *fragments)


def test_flags_override_the_profile(aws, run_cli, tmp_path):
    result = run_cli(
        "plan", "--output", "json", "--profile-file", write(tmp_path, GOOD),
        "--instance-type", "m5.large", "--accelerator", "eia.medium", "--seats", "2",
    )  # fmt: skip
    assert result.code == 0, result.err
    plan = json.loads(result.out)
    assert plan["hardware"] == {
        "instance_type": "m5.large",
        "accelerator": "eia1.medium",
        "seats": 2,
        "os": "amazon-linux",
    }


AWS_STATE_CASES = [
    (["--vpc", "vpc-0123456789abcdef0"], ["VPC vpc-0123456789abcdef0 does not exist in us-west-2"]),
    (["--subnet", "subnet-0123456789abcdef0"], ["subnet subnet-0123456789abcdef0 is not in"]),
    (["--key-pair", "nobody"], ["key pair 'nobody' does not exist in us-west-2", "--access ssm"]),
    (["--ami", "ami-0123456789abcdef0"], ["AMI ami-0123456789abcdef0 does not exist"]),
    (
        ["--instance-type", "p3.2xlarge", "--accelerator", "none"],
        ["p3.2xlarge is not offered in any AZ of us-west-2"],
    ),
]


@pytest.mark.parametrize(("flags", "fragments"), AWS_STATE_CASES, ids=lambda v: str(v)[:30])
def test_things_that_do_not_exist_in_the_account(
    aws, run_cli, recorder, tmp_path, flags, fragments
):
    result = run_cli("launch", "--yes", "--profile-file", write(tmp_path, GOOD), *flags)
    assert_refused(result, recorder, *fragments)


def test_subnet_in_an_az_without_the_endpoint_is_explained(aws, run_cli, recorder, tmp_path):
    import boto3

    subnets = boto3.client("ec2", region_name="us-west-2").describe_subnets()["Subnets"]
    outside = next(s["SubnetId"] for s in subnets if s["AvailabilityZone"] == "us-west-2d")
    result = run_cli(
        "launch", "--yes", "--profile-file", write(tmp_path, GOOD), "--subnet", outside
    )
    assert_refused(
        result, recorder, f"subnet {outside} cannot be used: us-west-2d has no Elastic Inference"
    )


def test_not_on_a_terminal_launch_needs_yes(aws, run_cli, recorder, tmp_path):
    result = run_cli("launch", "--profile-file", write(tmp_path, GOOD))
    assert_refused(result, recorder, "needs confirmation", "--yes")


def test_region_without_elastic_inference_is_refused_with_alternatives(
    aws, run_cli, recorder, tmp_path
):
    aws("eu-central-1")
    document = GOOD.replace("us-west-2", "eu-central-1")
    for command in (("plan",), ("launch", "--yes")):
        recorder.clear()
        result = run_cli(*command, "--profile-file", write(tmp_path, document))
        assert_refused(
            result,
            recorder,
            "Elastic Inference is not available in eu-central-1",
            "AWS retired the service in April 2024",
            "m5.xlarge + eia2.medium was $0.312/h",
            "inf1.xlarge (4 NeuronCores on 1 device(s), $0.228/h)",
            "inf2.xlarge (2 NeuronCores on 1 device(s), $0.758/h)",
            "g4dn.xlarge (1× T4 16 GiB, $0.526/h)",
            "--instance-type inf1.xlarge --accelerator none",
        )
        assert recorder.of("DescribeVpcEndpointServices")
