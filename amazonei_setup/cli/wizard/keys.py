"""Importing the person's own public key as an EC2 key pair (the wizard's "SSH, import" access).

Shaped like resources/key_pair.py: the file is read and checked while asking (no AWS call),
and imported, tagged as part of the deployment so `teardown` removes it, only after the final
confirmation. The profile then names the imported key pair like any existing one.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

from amazonei_setup.aws.clients import AwsClients, aws_errors
from amazonei_setup.resources.naming import key_pair_name, tag_specifications

# EC2 ImportKeyPair takes RSA and ED25519 keys only (EC2 User Guide, "Import a public key").
KEY_TYPES = ("ssh-ed25519", "ssh-rsa")
_REFUSED = {"ecdsa-sha2-": "ECDSA", "sk-ecdsa-sha2-": "ECDSA", "ssh-dss": "DSA", "sk-ssh-": "FIDO"}
MAX_PUBLIC_KEY_BYTES = 16 * 1024


@dataclass(frozen=True)
class PublicKey:
    path: Path
    material: bytes
    key_type: str


def imported_key_name(deployment: str) -> str:
    return f"{key_pair_name(deployment)}-imported"


def read_public_key(path_text: str) -> PublicKey:
    """The OpenSSH public key in the file, or ValueError saying what is wrong with it."""
    path = Path(path_text).expanduser()
    if not path.is_file():
        raise ValueError(f"{path} is not a file")
    if path.stat().st_size > MAX_PUBLIC_KEY_BYTES:
        raise ValueError(f"{path} is too large to be a public key")
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path} cannot be read as a public key ({exc})") from None
    if "PRIVATE KEY" in text:
        raise ValueError(f"{path} is a private key: name the .pub file next to it")
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    parts = lines[0].split() if len(lines) == 1 else []
    refused = next(
        (kind for p, kind in _REFUSED.items() if parts[:1] and parts[0].startswith(p)), None
    )
    if refused:
        raise ValueError(
            f"{path} holds a {parts[0]} ({refused}) key; EC2 imports only RSA and ED25519 keys: "
            "name an id_ed25519.pub or id_rsa.pub, or make one with `ssh-keygen -t ed25519`"
        )
    if len(parts) < 2 or parts[0] not in KEY_TYPES:
        raise ValueError(
            f"{path} is not an OpenSSH public key (one line: {' | '.join(KEY_TYPES[:2])} AAAA…)"
        )
    try:
        base64.b64decode(parts[1], validate=True)
    except ValueError:
        raise ValueError(f"{path}: the key data is not base64") from None
    return PublicKey(path=path, material=lines[0].encode("ascii"), key_type=parts[0])


def import_public_key(
    clients: AwsClients, key_name: str, key: PublicKey, tags: dict[str, str]
) -> str:
    """ec2 import-key-pair, tagged; returns the key pair id."""
    with aws_errors(f"importing {key.path} as key pair {key_name}"):
        done = clients.ec2.import_key_pair(
            KeyName=key_name,
            PublicKeyMaterial=key.material,
            TagSpecifications=tag_specifications(["key-pair"], tags),
        )
    return str(done.get("KeyPairId", key_name))
