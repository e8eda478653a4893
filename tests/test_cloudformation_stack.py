"""`launch --engine cloudformation` in the sandbox: the change set is the plan, the stack's
events the progress; status, verify's record shape and teardown work on the stack, and a
failed resource rolls back, exits 1 with its reason, and leaves nothing after teardown."""

from __future__ import annotations

import stat

import boto3
from support import leftovers, nothing_left

from amazonei_setup.ledger import Ledger

REGION = "us-west-2"
EIA = ["--profile-file", "templates/profiles/eia-workshop.yaml"]


def _stacks() -> list[str]:
    cfn = boto3.client("cloudformation", region_name=REGION)
    return [
        s["StackName"]
        for s in cfn.list_stacks()["StackSummaries"]
        if s["StackStatus"] != "DELETE_COMPLETE"
    ]


def test_stack_launch_and_teardown_leave_nothing(aws, run_cli):
    launched = run_cli("launch", *EIA, "--engine", "cloudformation", "--yes")
    shown = launched.out + launched.err
    assert launched.code == 0, shown
    # the change set, shown before anything was made
    assert "Change set of stack amazonei-setup-eia-workshop (CREATE)" in shown
    for logical_id in ("InstanceRole", "ElasticInferenceEndpoint", "KeyPairSeat1", "InstanceSeat1"):
        assert logical_id in shown
    assert shown.index("Change set") < shown.index("CREATE_COMPLETE")
    # the stack's events are the progress: one line per resource made
    assert "CREATE_COMPLETE InstanceSeat1 (AWS::EC2::Instance)" in shown
    record = Ledger(run_cli.home).load(REGION, "eia-workshop")
    assert record.engine == "cloudformation" and record.stack.status == "CREATE_COMPLETE"
    (seat,) = record.instances
    assert seat.id.startswith("i-") and seat.connect.startswith("ssh -i ")
    (key,) = [r for r in record.resources.values() if r.private_key]
    key_file = run_cli.home / "keys" / REGION / "amazonei-setup-eia-workshop.pem"
    assert key.private_key == str(key_file) and "PRIVATE KEY" in key_file.read_text()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    ec2 = boto3.client("ec2", region_name=REGION)
    (instance,) = ec2.describe_instances(InstanceIds=[seat.id])["Reservations"][0]["Instances"]
    assert instance["MetadataOptions"]["HttpTokens"] == "required"
    status = run_cli("status", "eia-workshop")
    assert "stack amazonei-setup-eia-workshop: CREATE_COMPLETE" in status.out + status.err
    assert "drift: unavailable" in status.out + status.err
    dry = run_cli("teardown", "eia-workshop", "--dry-run")
    assert dry.code == 0 and "InstanceSeat1" in dry.out + dry.err and _stacks()
    gone = run_cli("teardown", "eia-workshop", "--yes")
    assert gone.code == 0, gone.out + gone.err
    assert "DELETE_COMPLETE KeyPairSeat1 (AWS::EC2::KeyPair)" in gone.out + gone.err
    assert _stacks() == []
    assert nothing_left("eia-workshop", run_cli.home), leftovers("eia-workshop", run_cli.home)


def test_declining_the_change_set_changes_nothing(aws, run_cli, hooks, monkeypatch):
    unasked = run_cli("launch", *EIA, "--engine", "cloudformation")  # not a TTY, no --yes
    assert unasked.code == 2 and "--yes" in unasked.out + unasked.err
    assert _stacks() == []
    hooks.stdin_is_tty = lambda: True
    monkeypatch.setattr("rich.prompt.Confirm.ask", lambda *a, **k: False)
    declined = run_cli("launch", *EIA, "--engine", "cloudformation")
    shown = declined.out + declined.err
    assert declined.code == 0 and "Nothing was created" in shown
    assert shown.index("Change set of stack") < shown.index("Nothing was created")
    assert _stacks() == []
    assert nothing_left("eia-workshop", run_cli.home)


def test_a_failed_resource_rolls_back_exits_1_and_teardown_leaves_nothing(aws, run_cli):
    from moto.ec2.models import ec2_backends

    def refuse(*args, **kwargs):
        from moto.ec2.exceptions import EC2ClientError

        raise EC2ClientError("InsufficientInstanceCapacity", "We currently do not have capacity")

    backend = ec2_backends["123456789012"][REGION]
    backend.run_instances = refuse  # the stack's instance fails; what came before rolls back
    failed = run_cli("launch", *EIA, "--engine", "cloudformation", "--yes")
    del backend.run_instances
    shown = failed.out + failed.err
    assert failed.code == 1, shown
    assert "InstanceSeat1" in shown and "We currently do not have capacity" in shown
    assert "Traceback" not in shown
    assert "teardown eia-workshop" in shown
    gone = run_cli("teardown", "eia-workshop", "--yes")
    assert gone.code == 0, gone.out + gone.err
    assert _stacks() == []
    assert nothing_left("eia-workshop", run_cli.home), leftovers("eia-workshop", run_cli.home)


def test_a_rerun_changes_only_what_changed(aws, run_cli):
    assert run_cli("launch", *EIA, "--engine", "cloudformation", "--yes").code == 0
    same = run_cli("launch", *EIA, "--engine", "cloudformation", "--yes")
    assert same.code == 0 and "up to date: nothing to change" in same.out + same.err
    more = run_cli("launch", *EIA, "--engine", "cloudformation", "--yes", "--seats", "2")
    shown = more.out + more.err
    assert more.code == 0 and "(UPDATE)" in shown, shown
    assert "KeyPairSeat2" in shown and "InstanceSeat1" not in shown.split("executing")[0]
    record = Ledger(run_cli.home).load(REGION, "eia-workshop")
    assert [seat.seat for seat in record.instances] == [1, 2]
    assert (run_cli.home / "keys" / REGION / "amazonei-setup-eia-workshop.seat2.pem").exists()
    assert run_cli("teardown", "eia-workshop", "--yes").code == 0
    assert nothing_left("eia-workshop", run_cli.home), leftovers("eia-workshop", run_cli.home)
