"""How to get a shell on a seat: the one place that builds the ssh or Session Manager command,
used by the launch summary (and so the record and the handout) and by `connect`.

Commands are argv lists; `command_line` quotes them for people (shlex), so a key file under a
home with spaces survives copy and paste. No AWS calls here, and nothing is run.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from amazonei_setup.state.record import DeploymentRecord, RecordedInstance

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
INSTALL_HINTS = {
    "ssh": "install an OpenSSH client (e.g. `sudo apt-get install openssh-client`, "
    "`sudo dnf install openssh-clients`; built into macOS and Windows 10+)",
    "aws": "install the AWS CLI v2 (https://docs.aws.amazon.com/cli/latest/userguide/"
    "getting-started-install.html) and the Session Manager plugin "
    "(https://docs.aws.amazon.com/systems-manager/latest/userguide/"
    "session-manager-working-with-install-plugin.html)",
}


def ssh_argv(user: str, host: str, key_file: str | None) -> list[str]:
    """ssh as `user` with only `key_file` offered (IdentitiesOnly: an agent holding many keys
    would otherwise exhaust the server's MaxAuthTries before the right one)."""
    argv = ["ssh"]
    if key_file:
        argv += ["-i", key_file, "-o", "IdentitiesOnly=yes"]
    return [*argv, f"{user}@{host}"]


def ssm_argv(
    instance_id: str, region: str, aws_profile: str | None = None, endpoint_url: str | None = None
) -> list[str]:
    """`aws ssm start-session` to the instance, with the credentials profile and endpoint the
    tool itself used (the sandbox's, above all)."""
    argv = ["aws", "ssm", "start-session", "--target", instance_id, "--region", region]
    if aws_profile:
        argv += ["--profile", aws_profile]
    if endpoint_url:
        argv += ["--endpoint-url", endpoint_url]
    return argv


def command_line(argv: Sequence[str]) -> str:
    """The argv as one line a POSIX shell runs as it is."""
    return shlex.join(argv)


def is_loopback(endpoint_url: str | None) -> bool:
    """An endpoint on this machine (the sandbox, a moto server): its instances are simulated."""
    return bool(endpoint_url) and urlsplit(str(endpoint_url)).hostname in LOOPBACK_HOSTS


def host_of(instance: Any) -> str:
    """The address ssh should use: public DNS, public IP, private IP, else the id."""
    return str(instance.public_dns or instance.public_ip or instance.private_ip or instance.id)


@dataclass(frozen=True)
class SeatCommand:
    """The command for one seat, and what the person should know about it."""

    seat: int
    argv: list[str]
    notes: tuple[str, ...] = ()
    simulated: bool = False

    @property
    def line(self) -> str:
        return command_line(self.argv)


def seats_of(record: DeploymentRecord) -> list[int]:
    return sorted(instance.seat for instance in record.instances)


def seat_command(
    record: DeploymentRecord,
    seat: int,
    aws_profile: str | None = None,
    endpoint_url: str | None = None,
) -> SeatCommand:
    """The command for `seat` as the record knows it; KeyError when the seat has no instance."""
    instance = _instance(record, seat)
    endpoint = endpoint_url or record.endpoint_url
    simulated = is_loopback(endpoint)
    access = record.profile.get("access") or {}
    if access.get("mode") == "ssm":
        argv = ssm_argv(instance.id, record.region, aws_profile, endpoint)
        return SeatCommand(seat, argv, simulated=simulated)
    notes: list[str] = []
    key_file = _key_file(record, seat)
    if key_file is None:
        key_name = access.get("key_pair")
        notes.append(
            f"key pair {key_name} is yours, so its private key is not in the state home: ssh "
            "offers your agent's and default keys (add -i FILE to choose one)"
        )
    user = _ssh_user(record)
    return SeatCommand(seat, ssh_argv(user, host_of(instance), key_file), tuple(notes), simulated)


def _instance(record: DeploymentRecord, seat: int) -> RecordedInstance:
    for instance in record.instances:
        if instance.seat == seat:
            return instance
    raise KeyError(seat)


def _key_file(record: DeploymentRecord, seat: int) -> str | None:
    """The seat's private key file, when the tool created (or imported) the key pair."""
    keys = [r for r in record.resources.values() if r.kind == "key-pair" and r.private_key]
    for resource in keys:
        if resource.seat in (seat, None):
            return resource.private_key
    return None


def _ssh_user(record: DeploymentRecord) -> str:
    """The AMI's login user as discovery resolved it, else the catalog's for the profile's OS
    (ec2-user on Amazon Linux, ubuntu on Ubuntu)."""
    ami = (record.discovered or {}).get("ami") or {}
    if ami.get("ssh_user"):
        return str(ami["ssh_user"])
    from amazonei_setup.spec.catalog import load_catalog

    return load_catalog().ssh_user(str(record.profile.get("os") or "amazon-linux"))
