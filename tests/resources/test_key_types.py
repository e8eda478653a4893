"""EC2 imports only RSA and ED25519 public keys: an ECDSA or DSA key is refused when the wizard
asks for the file (before any AWS call), and the sandbox refuses it as ImportKeyPair does."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from amazonei_setup.cli.wizard.keys import read_public_key


def _public_file(folder: Path, name: str, private) -> Path:
    material = private.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    path = folder / name
    path.write_bytes(material + b" me@laptop\n")
    return path


def test_rsa_and_ed25519_keys_are_read(tmp_path):
    ed = _public_file(tmp_path, "id_ed25519.pub", ed25519.Ed25519PrivateKey.generate())
    assert read_public_key(str(ed)).key_type == "ssh-ed25519"
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert read_public_key(str(_public_file(tmp_path, "id_rsa.pub", key))).key_type == "ssh-rsa"


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        (None, "ECDSA"),  # a real nistp256 key, generated below
        ("ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQ= me", "ECDSA"),
        ("ssh-dss AAAAB3NzaC1kc3M= me", "DSA"),
        ("sk-ecdsa-sha2-nistp256@openssh.com AAAAInNrLWVjZHNh me", "ECDSA"),
    ],
)
def test_ecdsa_and_dsa_keys_are_refused_with_what_to_use(tmp_path, line, kind):
    if line is None:
        path = _public_file(tmp_path, "id_ecdsa.pub", ec.generate_private_key(ec.SECP256R1()))
    else:
        path = tmp_path / "key.pub"
        path.write_text(line + "\n")
    with pytest.raises(ValueError) as refused:
        read_public_key(str(path))
    message = str(refused.value)
    assert f"({kind})" in message and "only RSA and ED25519" in message
    assert "ssh-keygen -t ed25519" in message


def test_the_sandbox_refuses_an_ecdsa_key_as_ec2_does(aws, tmp_path):
    path = _public_file(tmp_path, "id_ecdsa.pub", ec.generate_private_key(ec.SECP256R1()))
    ec2 = boto3.client("ec2", region_name="us-west-2")
    with pytest.raises(ClientError) as refused:
        ec2.import_key_pair(KeyName="mine", PublicKeyMaterial=path.read_bytes())
    assert refused.value.response["Error"]["Code"].endswith(".Format")
    assert ec2.describe_key_pairs()["KeyPairs"] == []
