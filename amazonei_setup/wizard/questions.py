"""The wizard's questions as data: their order, the profile fields each one decides, the flag
that fixes it (so it is not asked), and the hardware families offered at the first question.

Nothing here talks to AWS or the terminal; `flow` walks this list.
"""

from __future__ import annotations

from dataclasses import dataclass

Path = tuple[str, ...]


@dataclass(frozen=True)
class Question:
    key: str  # flow.py has one `_ask_<key>` step per question
    prompt: str  # the words before the [default]
    decides: tuple[Path, ...]  # the profile fields it fills
    flag: str  # what fixes it on the command line (shown in the review)
    skip_when_fixed: tuple[Path, ...]  # asked only while none of these is fixed


def _q(key: str, prompt: str, decides: tuple[Path, ...], flag: str, skip=None) -> Question:
    return Question(key, prompt, decides, flag, skip if skip is not None else decides)


# The order the issue asks for: hardware → OS → network → access → name → tags → review.
QUESTIONS: tuple[Question, ...] = (
    _q("region", "Region", (("region",),), "--region"),
    _q("family", "Hardware family", (("instance_type",),), "--instance-type"),
    _q("size", "Size", (("instance_type",),), "--instance-type"),
    _q("accelerator", "Accelerator", (("accelerator",),), "--accelerator"),
    _q("os", "Operating system", (("os",),), "--os"),
    _q("vpc", "VPC", (("network", "vpc"),), "--vpc", (("network", "vpc"), ("network", "subnet"))),
    _q("subnet", "Subnet", (("network", "subnet"),), "--subnet"),
    _q(
        "access",
        "Access",
        (("access", "mode"), ("access", "key_pair")),
        "--access / --key-pair",
        (("access", "key_pair"),),
    ),
    _q("ssh_cidr", "SSH allowed from", (("access", "ssh_cidr"),), "--ssh-cidr"),
    _q("name", "Deployment name", (("name",),), "--name"),
    _q("tags", "Tags", (("tags",),), "--tag"),
)


@dataclass(frozen=True)
class Family:
    key: str
    label: str
    detail: str
    instance_families: tuple[str, ...]  # empty: the catalog's Elastic Inference hosts
    default_size: str
    default_name: str  # deployment name prefix; "" = the instance family (inf1, g4dn, ...)


FAMILIES: tuple[Family, ...] = (
    Family(
        "eia",
        "Elastic Inference",
        "an accelerator attached to an m5/c5 instance",
        (),
        "m5.large",
        "eia",
    ),
    Family(
        "inferentia",
        "Inferentia",
        "inf1 / inf2 (NeuronCores)",
        ("inf1", "inf2"),
        "inf2.xlarge",
        "",
    ),
    Family(
        "nvidia",
        "NVIDIA GPU",
        "g4dn (T4), g5 (A10G), p2, p3",
        ("g4dn", "g5", "p2", "p3"),
        "g4dn.xlarge",
        "",
    ),
    Family("cpu", "CPU only", "m5 / c5, no accelerator", ("m5", "c5"), "m5.large", "cpu"),
)

# T4 GPUs: the widest framework support at the lowest accelerator price; Elastic Inference is
# only offered where the region still has it, and never by default (AWS retired it).
DEFAULT_FAMILY = "nvidia"


@dataclass(frozen=True)
class AccessChoice:
    key: str
    label: str
    mode: str


ACCESS_CHOICES: tuple[AccessChoice, ...] = (
    AccessChoice("ssm", "Session Manager only: no key pair, no open port", "ssm"),
    AccessChoice("ssh-new", "SSH with a new key pair (private key kept here)", "ssh"),
    AccessChoice("ssh-existing", "SSH with one of your EC2 key pairs", "ssh"),
    AccessChoice("ssh-import", "SSH with your public key file, imported", "ssh"),
)
DEFAULT_ACCESS = "ssh-new"  # the profile's default (access.mode: ssh, key_pair: create)

PUBLIC_KEY_CANDIDATES = ("~/.ssh/id_ed25519.pub", "~/.ssh/id_ecdsa.pub", "~/.ssh/id_rsa.pub")
QUIT_WORDS = ("q", "quit", "exit")


def question(key: str) -> Question:
    return next(q for q in QUESTIONS if q.key == key)


def family(key: str) -> Family:
    return next(f for f in FAMILIES if f.key == key)
