"""The interactive wizard, driven in-process with scripted answers through prompt_toolkit's pipe
input, on in-process moto: golden transcripts of the main paths, the profile they produce, the
AWS state they leave, and quitting at every prompt leaving nothing behind.

Golden transcripts live in tests/cli/wizard/test_wizard_golden/. After an intended change of
wording or layout, regenerate them with
`WIZARD_GOLDEN_UPDATE=1 pytest tests/cli/wizard/test_wizard_golden_runs.py` and read the
diff before committing it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
import yaml
from prompt_toolkit.application import create_app_session
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from amazonei_setup.cli.main import Hooks, main
from amazonei_setup.resources.naming import TAG_DEPLOYMENT, TAG_MANAGED

GOLDEN = Path(__file__).resolve().parent / "test_wizard_golden"
CALLER_IP = "198.51.100.7"
ENTER = ""
CTRL_C = "\x03"
CTRL_D = "\x04"


@pytest.fixture
def hooks(recorder, clock) -> Hooks:
    """conftest's hooks, with a person at the terminal."""
    return Hooks(
        session_factory=recorder.session_factory,
        ip_lookup=lambda target: CALLER_IP,
        sleep=clock.sleep,
        clock=clock,
        stdin_is_tty=lambda: True,
    )


@pytest.fixture
def home():
    # A fixed-length path, so that folded table cells fold the same way on every run.
    folder = Path(tempfile.mkdtemp(prefix="wz", dir="/tmp"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Run:
    code: int
    out: str
    err: str
    home: Path

    @property
    def transcript(self) -> str:
        return normalise(self.err, self.home)

    def until_confirmation(self) -> str:
        """The dialogue up to the final answer (what follows runs concurrently)."""
        lines = self.transcript.splitlines()
        end = next(i for i, line in enumerate(lines) if line.startswith("? Create these"))
        return "\n".join(lines[: end + 1]) + "\n"


@pytest.fixture
def wizard(hooks, home, capsys, monkeypatch):
    """Run the CLI with `answers` typed at the prompts (then end of input)."""
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("HOME", str(home / "user"))  # no ~/.ssh key offered by default

    def run(answers: list[str], *argv: str) -> Run:
        capsys.readouterr()
        with create_pipe_input() as pipe:
            pipe.send_text("".join(a if a in (CTRL_C, CTRL_D) else a + "\r" for a in answers))
            pipe.close()
            with create_app_session(input=pipe, output=DummyOutput()):
                code = main(["--home", str(home), *argv], hooks)
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err, home)

    return run


ID = re.compile(r"\b(vpc|subnet|ami|sg|vpce|i|key)-[0-9a-f]{8,17}\b")


def normalise(text: str, home: Path) -> str:
    """Ids and dates that change from run to run, replaced by same-length stand-ins (so
    table layout is kept), and trailing blanks dropped."""
    text = ID.sub(lambda m: m.group(1) + "-" + "x" * (len(m.group(0)) - len(m.group(1)) - 1), text)
    text = text.replace(str(home), "/tmp/wz" + "H" * (len(str(home)) - len("/tmp/wz")))
    text = re.sub(r"as of 20\d\d-\d\d-\d\d\b", "as of YYYY-MM-DD", text)  # the price list
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("WIZARD_GOLDEN_UPDATE"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    expected = path.read_text(encoding="utf-8")
    assert text == expected, f"transcript differs from {path} (WIZARD_GOLDEN_UPDATE=1 rewrites)"


def assert_fits_80_columns(transcript: str) -> None:
    # The echoed answers are the prompt's own line; everything the tool lays out fits 80.
    wide = [line for line in transcript.splitlines() if len(line) > 80 and not line.startswith("?")]
    assert not wide, wide


def ec2():
    return boto3.client("ec2", region_name="us-west-2")


def tags_of(resource: dict) -> dict:
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}


def public_key_file(folder: Path) -> Path:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    public = ed25519.Ed25519PrivateKey.generate().public_key()
    material = public.public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    path = folder / "id_ed25519.pub"
    path.write_bytes(material + b" me@laptop\n")
    return path


# ---------------------------------------------------------------------------------------------
# The main paths, each to a launched instance


def test_eia_with_a_new_key(aws, wizard, recorder, home):
    saved = home / "eia.yaml"
    answers = ["eia", ENTER, "2", ENTER, ENTER, ENTER, ENTER, ENTER, ENTER, "workshop=reinvent"]
    run = wizard(
        [*answers, "y"], "--region", "us-west-2", "--no-wait", "--save-profile", str(saved)
    )

    assert run.code == 0, run.err
    check_golden("eia_new_key", run.until_confirmation())
    assert_fits_80_columns(run.until_confirmation())

    # The answers, as a profile that `launch --profile-file` replays.
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    profile = yaml.safe_load(saved.read_text())
    assert profile["name"] == "eia-demo" and profile["region"] == "us-west-2"
    assert (profile["instance_type"], profile["accelerator"]) == ("m5.large", "eia2.large")
    assert profile["access"] == {
        "mode": "ssh",
        "key_pair": "create",
        "ssh_cidr": "auto",
        "allow_world_ssh": False,
    }
    assert profile["network"] == {"vpc": "default", "subnet": "auto"}
    assert profile["tags"] == {"workshop": "reinvent"}

    # What AWS holds: an accelerator on the request, a new key pair, the endpoint, all tagged.
    [request] = recorder.of("RunInstances")
    assert request.params["ElasticInferenceAccelerators"] == [{"Type": "eia2.large", "Count": 1}]
    assert request.params["KeyName"] == "amazonei-setup-eia-demo"
    [reservation] = ec2().describe_instances(
        Filters=[{"Name": f"tag:{TAG_DEPLOYMENT}", "Values": ["eia-demo"]}]
    )["Reservations"]
    [instance] = reservation["Instances"]
    assert instance["InstanceType"] == "m5.large" and instance["State"]["Name"] == "running"
    assert tags_of(instance)["workshop"] == "reinvent"
    [key] = ec2().describe_key_pairs(KeyNames=["amazonei-setup-eia-demo"])["KeyPairs"]
    assert tags_of(key)[TAG_MANAGED] == "true"
    assert ec2().describe_vpc_endpoints()["VpcEndpoints"]
    private_key = home / "keys" / "us-west-2" / "amazonei-setup-eia-demo.pem"
    assert stat.S_IMODE(private_key.stat().st_mode) == 0o600

    # The final text, the result (stdout): how to connect, and the exact teardown command.
    flat = " ".join(run.out.split())
    assert "'eia-demo' is running in us-west-2" in flat
    assert f"amazonei-setup --home {home} teardown eia-demo --region us-west-2" in flat
    replay = f"amazonei-setup --home {home} launch --profile-file {saved} --yes"
    assert f"replay with: {replay}" in flat


def test_inf1_with_ssm_only(aws, wizard, recorder, home):
    saved = home / "inf1.yaml"
    answers = ["2", "inf1.xlarge", "ubuntu", ENTER, "3", "ssm", "my-inf1", ENTER, "y"]
    run = wizard(answers, "--region", "us-west-2", "--no-wait", "--save-profile", str(saved))

    assert run.code == 0, run.err
    check_golden("inf1_ssm", run.until_confirmation())
    assert_fits_80_columns(run.until_confirmation())
    assert "SSH allowed from" not in run.err  # SSM opens no port: nothing to ask

    profile = yaml.safe_load(saved.read_text())
    assert (profile["name"], profile["instance_type"], profile["os"]) == (
        "my-inf1",
        "inf1.xlarge",
        "ubuntu",
    )
    assert profile["accelerator"] == "none" and profile["access"]["mode"] == "ssm"
    assert profile["network"]["subnet"].startswith("subnet-")

    [request] = recorder.of("RunInstances")
    assert "KeyName" not in request.params
    assert request.params["SubnetId"] == profile["network"]["subnet"]
    assert not recorder.of("CreateKeyPair") and not recorder.of("CreateVpcEndpoint")
    [group] = ec2().describe_security_groups(GroupNames=["amazonei-setup-my-inf1-instance"])[
        "SecurityGroups"
    ]
    assert group["IpPermissions"] == []  # no inbound at all
    [reservation] = ec2().describe_instances(
        Filters=[{"Name": f"tag:{TAG_DEPLOYMENT}", "Values": ["my-inf1"]}]
    )["Reservations"]
    assert reservation["Instances"][0]["InstanceType"] == "inf1.xlarge"
    assert "aws ssm start-session --target i-" in run.out  # how to connect, in the result


def test_invalid_answers_are_explained_and_asked_again(aws, wizard, recorder, home):
    answers = [
        "foo",  # not a family
        "gpu",  # a near miss
        "7",  # out of range
        "3",
        "p3.2xlarge",  # listed, but not offered in us-west-2
        "1",
        ENTER,
        ENTER,
        ENTER,
        ENTER,
        "0.0.0.0/0",  # the whole internet
        "10.0.0.0/33",  # not a CIDR
        "203.0.113.9",
        "Bad_Name",
        ENTER,
        "aws:team=ml",  # reserved prefix
        "novalue",
        "team=ml, owner=me",
        "maybe",  # neither y nor n
        "y",
    ]
    run = wizard(answers, "--region", "us-west-2", "--no-wait")

    assert run.code == 0, run.err
    check_golden("invalid_then_valid", run.until_confirmation())
    text = " ".join(run.err.split())
    for explained in (
        "'foo' is not one of the choices: type 1-4 or a name",
        "Did you mean 'cpu'?",
        "'7' is not one of the choices",
        "p3.2xlarge cannot be chosen: not offered in us-west-2",
        "opens SSH to the whole internet",
        "'10.0.0.0/33' is not a CIDR block",
        "'Bad_Name' is not a deployment name",
        "uses a reserved prefix",
        "'novalue' is not KEY=VALUE",
        "'maybe': answer y to go ahead",
    ):
        assert explained in text, explained

    [request] = recorder.of("RunInstances")
    assert request.params["InstanceType"] == "g4dn.xlarge"
    record = json.loads((home / "deployments" / "us-west-2" / "g4dn-demo.json").read_text())
    assert record["profile"]["access"]["ssh_cidr"] == "203.0.113.9/32"
    assert record["profile"]["tags"] == {"team": "ml", "owner": "me"}
    [group] = ec2().describe_security_groups(GroupNames=["amazonei-setup-g4dn-demo-instance"])[
        "SecurityGroups"
    ]
    [permission] = group["IpPermissions"]
    assert permission["IpRanges"][0]["CidrIp"] == "203.0.113.9/32"


# ---------------------------------------------------------------------------------------------
# Quitting creates nothing


def test_quit_at_each_prompt_creates_nothing(aws, wizard, recorder, home):
    """Every prompt of the longest path (region → … → public key file → … → confirmation):
    q, Ctrl-C or Ctrl-D there leaves with 130, no mutating AWS call, no file written."""
    key_file = public_key_file(home)
    saved = home / "saved.yaml"
    script = [
        ("Region", "us-west-2"),
        ("Hardware family", "eia"),
        ("Size", ENTER),
        ("Accelerator", ENTER),
        ("Operating system", ENTER),
        ("VPC", ENTER),
        ("Subnet", ENTER),
        ("Access", "ssh-import"),
        ("Public key file", str(key_file)),
        ("SSH allowed from", ENTER),
        ("Deployment name", ENTER),
        ("Tags", ENTER),
        ("Create these resources?", "y"),
    ]
    for index, (prompt, _) in enumerate(script):
        leave = ("q", CTRL_C, CTRL_D)[index % 3]
        recorder.clear()
        answers = [answer for _, answer in script[:index]] + [leave]
        run = wizard(answers, "--no-wait", "--save-profile", str(saved))
        where = f"quitting at {prompt!r} with {leave!r}"
        assert run.code == 130, (where, run.err)
        last_question = [line for line in run.err.splitlines() if line.startswith("? ")][-1]
        assert last_question.startswith(f"? {prompt}"), (where, last_question)
        assert last_question.endswith({"q": " q", CTRL_C: " ^C", CTRL_D: " ^D"}[leave]), where
        assert "Quit: nothing was created." in run.err, where
        assert recorder.operations(mutating_only=True) == [], where
        assert not saved.exists(), where
        assert not (home / "deployments").exists() or not list(
            (home / "deployments").rglob("*.json")
        ), where
    assert ec2().describe_key_pairs()["KeyPairs"] == []
    assert ec2().describe_instances()["Reservations"] == []
    assert len(script) == 13


def test_declining_at_the_review_creates_nothing(aws, wizard, recorder):
    answers = ["cpu", ENTER, ENTER, ENTER, ENTER, "ssm", ENTER, ENTER, "n"]
    run = wizard(answers, "--region", "us-west-2")
    assert run.code == 0
    assert "Nothing was created." in run.err
    assert recorder.operations(mutating_only=True) == []


# ---------------------------------------------------------------------------------------------
# Access variants


def test_imported_public_key_is_imported_after_confirmation_and_torn_down(
    aws, wizard, recorder, home, hooks, capsys
):
    key_file = public_key_file(home)
    answers = ["inferentia", ENTER, ENTER, ENTER, ENTER, "4", str(key_file), ENTER, "imp", ENTER]
    run = wizard([*answers, "y"], "--region", "us-west-2", "--no-wait")
    assert run.code == 0, run.err
    review = run.until_confirmation()
    assert "amazonei-setup-imp-imported" in review and "after you" in review

    mutating = recorder.operations(mutating_only=True)
    assert mutating[0] == "ImportKeyPair"  # nothing before the confirmation, the key first
    [request] = recorder.of("RunInstances")
    assert request.params["KeyName"] == "amazonei-setup-imp-imported"
    assert request.params["InstanceType"] == "inf2.xlarge"
    [key] = ec2().describe_key_pairs(KeyNames=["amazonei-setup-imp-imported"])["KeyPairs"]
    assert tags_of(key)[TAG_DEPLOYMENT] == "imp" and tags_of(key)[TAG_MANAGED] == "true"

    # Teardown finds the imported key by its tags and removes it with the rest.
    hooks.stdin_is_tty = lambda: False
    code = main(["--home", str(home), "teardown", "imp", "--region", "us-west-2", "--yes"], hooks)
    assert code == 0, capsys.readouterr().err
    assert ec2().describe_key_pairs()["KeyPairs"] == []


def test_existing_key_pair_is_listed_and_used(aws, wizard, recorder):
    ec2().create_key_pair(KeyName="alice", KeyType="ed25519")
    answers = ["nvidia", ENTER, ENTER, ENTER, ENTER, "ssh-existing", "alice", ENTER, ENTER, ENTER]
    run = wizard([*answers, "y"], "--region", "us-west-2", "--no-wait")
    assert run.code == 0, run.err
    assert "? Key pair [alice]: alice" in run.err
    [request] = recorder.of("RunInstances")
    assert request.params["KeyName"] == "alice"
    assert not recorder.of("CreateKeyPair") and not recorder.of("ImportKeyPair")
    assert [k["KeyName"] for k in ec2().describe_key_pairs()["KeyPairs"]] == ["alice"]


# ---------------------------------------------------------------------------------------------
# Profiles, flags and the terminal


def test_saved_profile_replays_the_same_plan(aws, wizard, home, hooks, capsys):
    saved = home / "replay.yaml"
    answers = ["inferentia", "inf2.xlarge", ENTER, ENTER, ENTER, ENTER, ENTER, "rp", "team=ml"]
    run = wizard(
        answers,
        "--region",
        "us-west-2",
        "--dry-run",
        "--output",
        "json",
        "--save-profile",
        str(saved),
    )
    assert run.code == 0, run.err
    assert "Dry run: nothing was created." in run.err
    from_wizard = json.loads(run.out)

    hooks.stdin_is_tty = lambda: False  # the replay is non-interactive
    code = main(
        ["--home", str(home), "plan", "--profile-file", str(saved), "--output", "json"], hooks
    )
    replayed = capsys.readouterr()
    assert code == 0, replayed.err
    assert json.loads(replayed.out) == from_wizard

    code = main(
        ["--home", str(home), "launch", "--profile-file", str(saved), "--yes", "--no-wait"], hooks
    )
    assert code == 0, capsys.readouterr().err
    [reservation] = ec2().describe_instances(
        Filters=[{"Name": f"tag:{TAG_DEPLOYMENT}", "Values": ["rp"]}]
    )["Reservations"]
    assert reservation["Instances"][0]["InstanceType"] == "inf2.xlarge"


def test_flags_and_profile_are_not_asked_and_their_origin_is_shown(aws, wizard, home):
    profile = home / "partial.yaml"
    profile.write_text("region: us-west-2\ninstance_type: inf1.xlarge\nos: ubuntu\n")
    answers = [ENTER, "ssm", "from-file", ENTER]
    run = wizard(answers, "--profile-file", str(profile), "--vpc", "default", "--dry-run")

    assert run.code == 0, run.err
    asked = [line[2:].split(" [")[0] for line in run.err.splitlines() if line.startswith("? ")]
    assert asked == ["Subnet", "Access", "Deployment name", "Tags"]
    flat = " ".join(run.err.split())
    assert f"Already chosen: region=us-west-2 ({profile}:1)" in flat
    assert f"instance_type=inf1.xlarge ({profile}:2), os=ubuntu ({profile}:3)" in flat
    assert "network.vpc=default (--vpc)" in flat
    # The review's table: one row per setting, with where its value came from.
    rows = {}
    for line in run.transcript.splitlines():
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        if len(cells) == 3 and cells[0]:
            rows[cells[0]] = cells
    assert rows["os"][2].startswith("profile") and rows["network.vpc"][2] == "flag (--vpc)"
    assert rows["name"][1:] == ["from-file", "answer"]
    assert rows["access.mode"][1:] == ["ssm", "answer"]
    assert rows["seats"][1:] == ["1", "default"]
    assert "Dry run: nothing was created." in run.err


def test_without_a_terminal_missing_choices_exit_2_naming_the_flags(aws, hooks, capsys, home):
    hooks.stdin_is_tty = lambda: False
    code = main(
        ["--home", str(home), "--region", "us-west-2", "--instance-type", "m5.large"], hooks
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "missing required choice(s): name (--name)" in " ".join(err.split())


def test_save_profile_refuses_to_overwrite_before_any_question(aws, wizard, home):
    saved = home / "exists.yaml"
    saved.write_text("keep: me\n")
    run = wizard([], "--region", "us-west-2", "--save-profile", str(saved))
    assert run.code == 2
    assert "exists" in run.err and "--force" in run.err
    assert "Hardware family" not in run.err
    assert saved.read_text() == "keep: me\n"


def test_a_region_without_elastic_inference_says_so_and_does_not_offer_it(aws, wizard):
    aws("eu-central-1")  # seeded like the real region: no EI endpoint service there
    run = wizard(["q"], "--region", "eu-central-1")
    assert run.code == 130
    flat = " ".join(run.err.split())
    assert "Elastic Inference is not offered in eu-central-1" in flat
    assert "retired the service in April 2024" in flat
    assert "Elastic Inference  retired" not in run.err and "1  inferentia" in run.err

    run = wizard(["q"], "--region", "eu-central-1", "--instance-type", "m5.large")
    flat = " ".join(run.err.split())
    assert "m5.large runs without an accelerator" in flat
    assert "inf2.xlarge" in flat  # the way to an accelerator is named


def test_back_goes_to_the_previous_question_and_forgets_its_answer(aws, wizard, recorder, home):
    saved = home / "back.yaml"
    answers = [
        "cpu",
        "<",  # at Size: back to the family, CPU only taken back
        "eia",
        ENTER,
        "2",
        ENTER,
        ENTER,
        ENTER,
        "ssm",
        "<",  # at the name: back to Access
        "ssh-new",
        ENTER,
        ENTER,
        ENTER,
    ]
    run = wizard(answers, "--region", "us-west-2", "--dry-run", "--save-profile", str(saved))

    assert run.code == 0, run.err
    asked = [line[2:].split(" [")[0] for line in run.err.splitlines() if line.startswith("? ")]
    assert asked == [
        "Hardware family",
        "Size",
        "Hardware family",
        "Size",
        "Accelerator",
        "Operating system",
        "VPC",
        "Subnet",
        "Access",
        "Deployment name",
        "Access",
        "SSH allowed from",
        "Deployment name",
        "Tags",
    ]
    assert "< goes back" in run.err
    assert "→ m5.large (default)" in run.err
    profile = yaml.safe_load(saved.read_text())
    assert (profile["instance_type"], profile["accelerator"]) == ("m5.large", "eia2.large")
    assert profile["access"]["mode"] == "ssh" and profile["access"]["key_pair"] == "create"
    assert profile["name"] == "eia-demo"
    assert recorder.operations(mutating_only=True) == []
