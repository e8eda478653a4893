"""`export --format cloudformation`: every template profile becomes a cfn-lint-clean template
with no world-open ingress, IMDSv2 required and an encrypted gp3 root."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import pytest
import yaml

from amazonei_setup.engines.cloudformation.template import ssh_cidr_pattern

PROFILES = sorted((Path(__file__).parents[2] / "templates" / "profiles").glob("*.yaml"))
# Beyond the shipped profiles: SSH with seats (a key pair each), and an existing key pair.
VARIANTS = [
    ("eia-2-seats", PROFILES[0], ["--seats", "2"]),
    ("ssh-own-key", PROFILES[-1], ["--access", "ssh", "--key-pair", "mine", "--name", "own"]),
]


def _ingress(template: dict) -> list[dict]:
    return [
        rule
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::EC2::SecurityGroup"
        for rule in resource["Properties"].get("SecurityGroupIngress", [])
    ]


def test_every_template_profile_exports_lint_clean_and_secure(aws, run_cli, tmp_path):
    from cfnlint.api import ManualArgs, lint

    cases = [(path.stem, path, []) for path in PROFILES] + VARIANTS
    assert len(PROFILES) >= 3
    problems = {}
    for label, path, extra in cases:
        out = tmp_path / f"{label}.json"
        result = run_cli("export", "--profile-file", str(path), "-o", str(out), *extra)
        assert result.code == 0, result.err
        text = out.read_text()
        template = json.loads(text)
        region = yaml.safe_load(path.read_text())["region"]
        # one linter, loaded once, for every template
        problems[label] = [str(m) for m in lint(text, config=ManualArgs(regions=[region]))]
        for rule in _ingress(template):
            assert "0.0.0.0/0" not in json.dumps(rule) and "::/0" not in json.dumps(rule)
        (data,) = [
            r["Properties"]["LaunchTemplateData"]
            for r in template["Resources"].values()
            if r["Type"] == "AWS::EC2::LaunchTemplate"
        ]
        assert data["MetadataOptions"]["HttpTokens"] == "required"
        (root,) = data["BlockDeviceMappings"]
        assert root["Ebs"]["Encrypted"] is True and root["Ebs"]["VolumeType"] == "gp3"
        tags = {
            t["Key"]: t["Value"]
            for t in template["Resources"]["InstanceRole"]["Properties"]["Tags"]
        }
        assert tags["amazonei-setup:managed"] == "true"
    assert problems == {label: [] for label, _, _ in cases}


def test_eia_template_has_the_endpoint_the_accelerator_and_per_seat_keys(aws, run_cli):
    result = run_cli("export", "--profile-file", str(PROFILES[0]), "--seats", "2")
    assert result.code == 0, result.err
    template = json.loads(result.out)
    resources = template["Resources"]
    endpoint = resources["ElasticInferenceEndpoint"]["Properties"]
    assert endpoint["VpcEndpointType"] == "Interface" and endpoint["PrivateDnsEnabled"] is True
    assert endpoint["ServiceName"] == {
        "Fn::Sub": "com.amazonaws.${AWS::Region}.elastic-inference.runtime"
    }
    seat2 = resources["InstanceSeat2"]["Properties"]
    assert seat2["ElasticInferenceAccelerators"] == [{"Type": "eia1.large", "Count": 1}]
    assert seat2["KeyName"] == {"Ref": "KeyPairSeat2"}
    assert resources["KeyPairSeat2"]["Properties"]["KeyName"] == "amazonei-setup-eia-workshop.seat2"
    # EI-era DLAMIs have no public parameter: an image id, looked up in the sandbox
    image = template["Parameters"]["ImageId"]
    assert image["Type"] == "AWS::EC2::Image::Id" and image["Default"].startswith("ami-")
    fetch = template["Outputs"]["Seat1PrivateKeyCommand"]["Value"]["Fn::Sub"]
    assert "aws ssm get-parameter --name /ec2/keypair/${KeyPairSeat1.KeyPairId}" in fetch
    assert "--with-decryption" in fetch and "chmod 600" in fetch
    assert "private key stays in SSM" in result.err
    policy = resources["InstanceRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    arns = json.dumps(policy)
    assert "us-west-2" not in arns and "${AWS::AccountId}" in arns


def test_neuron_ami_is_the_image_that_still_carries_pytorch(aws, run_cli):
    """The Neuron DLAMI's public "latest" parameters name SDK 2.32+ images, which carry no
    PyTorch environment: the template takes an image id (the looked-up 2.31 image where the
    lookup finds one; here moto holds no Neuron image, and the export says so)."""
    result = run_cli("export", "--profile-file", str(PROFILES[-1]))
    assert result.code == 0, result.err
    image = json.loads(result.out)["Parameters"]["ImageId"]
    assert image["Type"] == "AWS::EC2::Image::Id"
    assert "no public SSM parameter" in image["Description"]
    assert "no default for the ImageId parameter" in result.err


INF2 = Path(__file__).parents[2] / "templates" / "profiles" / "inf2.yaml"  # us-east-1, ubuntu
UBUNTU_2404 = "/aws/service/neuron/dlami/multi-framework/ubuntu-24.04/latest/image_id"
PYTORCH_213 = (
    "/aws/service/deeplearning/ami/x86_64/oss-nvidia-driver-gpu-pytorch-2.13-ubuntu-24.04/latest/ami-id"
)
PYTORCH_212 = PYTORCH_213.replace("pytorch-2.13", "pytorch-2.12")


def test_the_ami_default_is_a_parameter_that_exists_in_the_region(aws, run_cli):
    """The rule's first parameter is missing in the region: the default is the next one that
    exists; with none left, the image id the look-up found (a stack cannot fall back). The GPU
    rule has two parameters (the Neuron rule has none any more: see docs/DESIGN.md)."""
    from moto.ssm.models import ssm_backends

    aws("us-east-1")
    ssm = ssm_backends["123456789012"]["us-east-1"]
    gpu = ("--profile-file", str(INF2), "--instance-type", "g5.xlarge")
    ssm.delete_parameter(PYTORCH_213)
    image = json.loads(run_cli("export", *gpu).out)["Parameters"]["ImageId"]
    assert (image["Type"], image["Default"]) == (
        "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>",
        PYTORCH_212,
    )
    ssm.delete_parameter(PYTORCH_212)
    result = run_cli("export", *gpu)
    assert result.code == 0, result.err
    image = json.loads(result.out)["Parameters"]["ImageId"]
    assert image["Type"] == "AWS::EC2::Image::Id" and image["Default"].startswith("ami-")


@pytest.mark.parametrize(
    ("cidr", "allowed"),
    [
        ("198.51.100.7/32", True),
        ("10.1.0.0/16", True),
        ("2001:db8::/48", True),
        ("2001:db8:1:2:3:4:5:6/128", True),
        ("0.0.0.0/0", False),
        ("::/0", False),
        ("10.0.0.0/8", False),
        ("2001:db8::/32", False),
        ("198.51.100.7", False),
    ],
)
def test_the_ssh_source_pattern_is_the_tools_width_guard(cidr, allowed):
    assert bool(re.fullmatch(ssh_cidr_pattern(False), cidr)) is allowed
    assert not re.fullmatch(ssh_cidr_pattern(True), "0.0.0.0/0")
    assert not re.fullmatch(ssh_cidr_pattern(True), "::/0")


def test_export_writes_yaml_0644_and_refuses_to_overwrite(aws, run_cli, tmp_path):
    out = tmp_path / "stack.yaml"
    first = run_cli("export", "--profile-file", str(PROFILES[1]), "-o", str(out))
    assert first.code == 0 and first.out == ""
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    assert yaml.safe_load(out.read_text())["Resources"]["InstanceSeat1"]
    again = run_cli("export", "--profile-file", str(PROFILES[1]), "-o", str(out))
    assert again.code == 2 and "--force" in again.err and "Traceback" not in again.err
    forced = run_cli("export", "--profile-file", str(PROFILES[1]), "-o", str(out), "--force")
    assert forced.code == 0


def test_export_of_a_bad_profile_exits_2_and_writes_nothing(run_cli, tmp_path):
    out = tmp_path / "stack.json"
    result = run_cli("export", "--name", "x", "--region", "us-west-2", "-o", str(out))
    assert result.code == 2 and "--instance-type" in result.out + result.err
    assert not out.exists()
