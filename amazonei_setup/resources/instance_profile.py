"""The instance profile that hands the deployment's role to its instances."""

from __future__ import annotations

from typing import Any

from amazonei_setup.aws import AwsClients, aws_errors, is_error
from amazonei_setup.resources.adopt import create_or_adopt
from amazonei_setup.resources.naming import IAM_PATH, tag_dict, tag_list


def find(clients: AwsClients, profile_name: str) -> dict[str, Any] | None:
    with aws_errors(f"looking up instance profile {profile_name}"):
        try:
            found = clients.iam.get_instance_profile(InstanceProfileName=profile_name)
        except Exception as exc:
            if is_error(exc, "NoSuchEntity"):
                return None
            raise
    profile = found["InstanceProfile"]
    return {
        "arn": profile["Arn"],
        "name": profile["InstanceProfileName"],
        "roles": [role["RoleName"] for role in profile.get("Roles", [])],
        "tags": tag_dict(profile.get("Tags")),
    }


def create(clients: AwsClients, profile_name: str, tags: dict[str, str]) -> str:
    return create_or_adopt(
        lambda: _create(clients, profile_name, tags),
        lambda: find(clients, profile_name),
        tags,
        f"instance profile {profile_name}",
    )


def _create(clients: AwsClients, profile_name: str, tags: dict[str, str]) -> str:
    with aws_errors(f"creating instance profile {profile_name}"):
        created = clients.iam.create_instance_profile(
            InstanceProfileName=profile_name, Path=IAM_PATH, Tags=tag_list(tags)
        )
    return str(created["InstanceProfile"]["Arn"])


def add_role(clients: AwsClients, profile_name: str, role_name: str) -> None:
    with aws_errors(f"adding role {role_name} to instance profile {profile_name}"):
        try:
            clients.iam.add_role_to_instance_profile(
                InstanceProfileName=profile_name, RoleName=role_name
            )
        except Exception as exc:
            # A profile holds one role; a resumed run may find ours already there.
            if not is_error(exc, "LimitExceeded", "EntityAlreadyExists"):
                raise


def delete(clients: AwsClients, profile_name: str, roles: list[str] | None = None) -> bool:
    """Take the roles out (those given, else those it holds now), then delete the profile;
    False when it was already gone."""
    if roles is None:
        found = find(clients, profile_name)
        if found is None:
            return False
        roles = found["roles"]
    with aws_errors(f"deleting instance profile {profile_name}"):
        for role in roles:
            try:
                clients.iam.remove_role_from_instance_profile(
                    InstanceProfileName=profile_name, RoleName=role
                )
            except Exception as exc:
                if not is_error(exc, "NoSuchEntity"):
                    raise
        try:
            clients.iam.delete_instance_profile(InstanceProfileName=profile_name)
        except Exception as exc:
            if is_error(exc, "NoSuchEntity"):
                return False
            raise
    return True
