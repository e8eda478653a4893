"""The fixed choices the wizard offers, as data: the hardware families of the first question
and the ways to reach the instance. Nothing here talks to AWS or the terminal."""

from __future__ import annotations

from dataclasses import dataclass

from amazonei_setup.spec.catalog import Kind


@dataclass(frozen=True)
class Family:
    key: str
    label: str
    detail: str
    instance_families: tuple[str, ...]  # empty: the catalog's Elastic Inference hosts
    default_size: str
    default_name: str  # deployment name prefix; "" = the instance family (inf1, g4dn, ...)
    # What AWS's own list adds to the menu: the region's types of this kind (spec/hardware_choices;
    # "cpu": nothing, the catalog's hosts only).
    kind: Kind = "cpu"


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
        "Inferentia / Trainium",
        "inf1, inf2, trn1, trn2 … (NeuronCores), as the region offers",
        ("inf1", "inf2"),
        "inf2.xlarge",
        "",
        "neuron",
    ),
    Family(
        "nvidia",
        "NVIDIA GPU",
        "g4dn, g5, g6, g6e, p4d, p5 … as the region offers",
        ("g4dn", "g5", "p2", "p3"),
        "g4dn.xlarge",
        "",
        "nvidia",
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


def family(key: str) -> Family:
    return next(f for f in FAMILIES if f.key == key)


def access_choice(key: str) -> AccessChoice:
    return next(c for c in ACCESS_CHOICES if c.key == key)
