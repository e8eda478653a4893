"""`launch --engine cloudformation` in the sandbox: the change set is the plan, the stack's
events the progress; status, verify's record shape and teardown work on the stack, and a
failed resource rolls back, exits 1 with its reason, and leaves nothing after teardown."""

from __future__ import annotations

import stat

import boto3
from support import leftovers, nothing_left

from amazonei_setup.state.ledger import Ledger

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
    launched = run_cli("launch", *EIA, "--engine", "cloudformation", "--yes", "--no-wait")
    shown = launched.out + launched.err
    assert launched.code == 0, shown
    # the change set, shown before anything was made
    assert "Change set of stack amazonei-setup-eia-workshop (CREATE)" in shown
    for logical_id in ("InstanceRole", "ElasticInferenceEndpoint", "KeyPairSeat1", "InstanceSeat1"):
        assert logical_id in shown
    assert launched.err.index("Change set") < launched.err.index("CREATE_COMPLETE")
    # the stack's events are the progress: one line per resource made
    assert "CREATE_COMPLETE InstanceSeat1 (AWS::EC2::Instance)" in shown
    record = Ledger(run_cli.home).load(REGION, "eia-workshop")
    assert record.engine == "cloudformation" and record.stack.status == "CREATE_COMPLETE"
    (seat,) = record.instances
    assert seat.id.startswith("i-") and seat.connect.startswith("ssh -i ")
    # the direct engine's record shape: connect and verify read a stack's record alike
    assert {"role", "instance_profile", "instance_sg", "endpoint_sg", "endpoint"} <= set(
        record.resources
    )
    assert record.resources["instance:1"].id == seat.id
    key = record.resources["key_pair:1"]
    key_file = run_cli.home / "keys" / REGION / "amazonei-setup-eia-workshop.pem"
    assert key.private_key == str(key_file) and "PRIVATE KEY" in key_file.read_text()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    ec2 = boto3.client("ec2", region_name=REGION)
    (instance,) = ec2.describe_instances(InstanceIds=[seat.id])["Reservations"][0]["Instances"]
    assert instance["MetadataOptions"]["HttpTokens"] == "required"
    connect = run_cli("connect", "eia-workshop", "--print")  # reads the record unchanged
    assert connect.code == 0, connect.err
    assert f"-i {key_file}" in connect.out and "ec2-user@" in connect.out
    status = run_cli("status", "eia-workshop")
    assert "stack amazonei-setup-eia-workshop: CREATE_COMPLETE" in status.out + status.err
    assert "drift: IN_SYNC" in status.out + status.err
    # someone opens SSH to the world by hand: status reports the drift
    group = record.resources["instance_sg"].id
    ec2.authorize_security_group_ingress(
        GroupId=group, IpProtocol="tcp", FromPort=22, ToPort=22, CidrIp="0.0.0.0/0"
    )
    drifted = run_cli("status", "eia-workshop")
    assert "drift: DRIFTED: InstanceSecurityGroup MODIFIED" in drifted.out + drifted.err
    dry = run_cli("teardown", "eia-workshop", "--dry-run")
    assert dry.code == 0 and "InstanceSeat1" in dry.out + dry.err and _stacks()
    gone = run_cli("teardown", "eia-workshop", "--yes")
    assert gone.code == 0, gone.out + gone.err
    assert "DELETE_COMPLETE KeyPairSeat1 (AWS::EC2::KeyPair)" in gone.out + gone.err
    assert _stacks() == []
    assert nothing_left("eia-workshop", run_cli.home), leftovers("eia-workshop", run_cli.home)


def test_declining_the_change_set_changes_nothing(aws, run_cli, hooks):
    unasked = run_cli("launch", *EIA, "--engine", "cloudformation")  # not a TTY, no --yes
    assert unasked.code == 2 and "--yes" in unasked.out + unasked.err
    assert _stacks() == []
    from prompt_toolkit.application import create_app_session
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    hooks.stdin_is_tty = lambda: True
    with create_pipe_input() as pipe:  # the person answers "n" at the question
        pipe.send_text("n\r")
        pipe.close()
        with create_app_session(input=pipe, output=DummyOutput()):
            declined = run_cli("launch", *EIA, "--engine", "cloudformation")
    shown = declined.out + declined.err
    assert declined.code == 0 and "Nothing was created" in shown
    assert "Change set of stack" in declined.err and "Nothing was created" in shown
    assert _stacks() == []
    assert nothing_left("eia-workshop", run_cli.home)


def test_a_failed_resource_rolls_back_exits_1_and_teardown_leaves_nothing(aws, run_cli):
    from moto.ec2.models import ec2_backends

    def refuse(*args, **kwargs):
        from moto.ec2.exceptions import EC2ClientError

        raise EC2ClientError("InsufficientInstanceCapacity", "We currently do not have capacity")

    backend = ec2_backends["123456789012"][REGION]
    backend.run_instances = refuse  # the stack's instance fails; what came before rolls back
    failed = run_cli("launch", *EIA, "--engine", "cloudformation", "--yes", "--no-wait")
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


def test_a_rerun_changes_only_what_changed(aws, run_cli, tmp_path):
    handout = tmp_path / "seats"
    first = run_cli(
        "launch", *EIA, "--engine", "cloudformation", "--yes", "--no-wait",
        "--handout", str(handout),
    )  # fmt: skip
    assert first.code == 0
    assert "amazonei-setup-eia-workshop.pem" in (tmp_path / "seats.md").read_text()
    same = run_cli("launch", *EIA, "--engine", "cloudformation", "--yes", "--no-wait")
    assert same.code == 0 and "up to date: nothing to change" in same.out + same.err
    more = run_cli(
        "launch", *EIA, "--engine", "cloudformation", "--yes", "--no-wait", "--seats", "2"
    )
    shown = more.out + more.err
    assert more.code == 0 and "(UPDATE)" in shown, shown
    assert "KeyPairSeat2" in shown and "InstanceSeat1" not in shown.split("executing")[0]
    record = Ledger(run_cli.home).load(REGION, "eia-workshop")
    assert [seat.seat for seat in record.instances] == [1, 2]
    assert (run_cli.home / "keys" / REGION / "amazonei-setup-eia-workshop.seat2.pem").exists()
    assert run_cli("teardown", "eia-workshop", "--yes").code == 0
    assert nothing_left("eia-workshop", run_cli.home), leftovers("eia-workshop", run_cli.home)


def test_a_stack_that_never_settles_times_out_with_backoff_and_no_real_wait(clock):
    import pytest

    from amazonei_setup.engines.cloudformation import stack as cfn
    from amazonei_setup.errors import AwsFailure

    class Stuck:
        def describe_stack_events(self, StackName):
            return {"StackEvents": []}

        def describe_stacks(self, StackName):
            return {"Stacks": [{"StackStatus": "CREATE_IN_PROGRESS"}]}

    class Clients:
        def client(self, service):
            return Stuck()

    with pytest.raises(AwsFailure, match="has not finished in time"):
        cfn.wait_settled(
            Clients(), "s", set(), on_event=print, sleep=clock.sleep, clock=clock, timeout_s=600
        )
    assert clock.sleeps[1] > clock.sleeps[0] and max(clock.sleeps) <= 10
    assert sum(clock.sleeps) == pytest.approx(600)


def test_a_vpc_with_another_deployments_endpoint_is_refused_before_anything(aws, run_cli):
    """AWS refuses a second private-DNS endpoint for one service in a VPC: the direct engine
    shares it, a stack cannot, so the launch stops at once and says what to do."""
    direct = run_cli("launch", *EIA, "--yes", "--no-wait", "--name", "direct-one")
    assert direct.code == 0, direct.err
    refused = run_cli("launch", *EIA, "--engine", "cloudformation", "--yes", "--no-wait")
    shown = refused.out + refused.err
    assert refused.code == 2 and "already has an Elastic Inference endpoint" in shown, shown
    assert "direct engine" in shown and "Traceback" not in shown
    assert _stacks() == []
    assert nothing_left("eia-workshop", run_cli.home)


def test_a_ttl_is_refused_for_a_stack_before_anything(aws, run_cli):
    refused = run_cli("launch", *EIA, "--engine", "cloudformation", "--yes", "--ttl", "4h")
    assert refused.code == 2 and "time-to-live" in refused.out + refused.err
    assert _stacks() == [] and nothing_left("eia-workshop", run_cli.home)
