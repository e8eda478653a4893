"""EC2 key pairs: created ones keep their private key in the state home (0600); a named,
existing key pair is used as it is and never touched."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from amazonei_setup.aws import AwsClients, aws_errors, is_error
from amazonei_setup.paths import write_private
from amazonei_setup.resources.naming import key_pair_names_pattern, tag_dict, tag_specifications


def find(clients: AwsClients, key_name: str) -> dict[str, Any] | None:
    with aws_errors(f"looking up key pair {key_name}"):
        try:
            pairs = clients.ec2.describe_key_pairs(KeyNames=[key_name])["KeyPairs"]
        except Exception as exc:
            if is_error(exc, "InvalidKeyPair.NotFound"):
                return None
            raise
    if not pairs:
        return None
    return {
        "id": pairs[0].get("KeyPairId", key_name),
        "name": pairs[0]["KeyName"],
        "tags": tag_dict(pairs[0].get("Tags")),
    }


def private_key_path(home: Path, region: str, key_name: str) -> Path:
    return home / "keys" / region / f"{key_name}.pem"


def private_key_files(home: Path, region: str, deployment: str) -> list[Path]:
    """Every seat's private key file of the deployment that is still in the state home."""
    folder = home / "keys" / region
    found = {
        path
        for pattern in key_pair_names_pattern(deployment)
        for path in folder.glob(f"{pattern}.pem")
    }
    return sorted(found)


def find_named(clients: AwsClients, key_names: list[str]) -> dict[str, dict[str, Any]]:
    """The key pairs among `key_names` that exist, by name: one call for every seat."""
    if not key_names:
        return {}
    found = find_tagged(clients, [{"Name": "key-name", "Values": key_names}])
    return {pair["name"]: pair for pair in found}


def create(
    clients: AwsClients, key_name: str, key_path: Path, tags: dict[str, str], key_type: str
) -> str:
    """Create the key pair and write its private key before anything else can fail.

    If ours already exists (a retried call whose first answer was lost), its private key is
    gone with that answer: replace it rather than hand out a key nobody can use.
    """
    request = {
        "KeyName": key_name,
        "KeyType": key_type,
        "KeyFormat": "pem",
        "TagSpecifications": tag_specifications(["key-pair"], tags),
    }
    with aws_errors(f"creating key pair {key_name}"):
        try:
            created = clients.ec2.create_key_pair(**request)
        except Exception as exc:
            if not is_error(exc, "InvalidKeyPair.Duplicate"):
                raise
            theirs = [p for p in find_tagged(clients, [{"Name": "key-name", "Values": [key_name]}])
                      if p["tags"].get("amazonei-setup:managed") != "true"]  # fmt: skip
            if theirs:
                raise
            clients.ec2.delete_key_pair(KeyName=key_name)
            created = clients.ec2.create_key_pair(**request)
    write_private(key_path, created["KeyMaterial"])
    return str(created.get("KeyPairId", key_name))


def find_tagged(clients: AwsClients, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    with aws_errors("listing key pairs"):
        pairs = clients.ec2.describe_key_pairs(Filters=filters)["KeyPairs"]
    return [
        {
            "id": p.get("KeyPairId", p["KeyName"]),
            "name": p["KeyName"],
            "tags": tag_dict(p.get("Tags")),
        }
        for p in pairs
    ]


def delete(clients: AwsClients, key_name: str) -> None:
    """Deleting a key pair that does not exist succeeds on AWS: safe to repeat."""
    with aws_errors(f"deleting key pair {key_name}"):
        clients.ec2.delete_key_pair(KeyName=key_name)
