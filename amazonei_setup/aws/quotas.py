"""Explain the launch errors people hit most at workshops: a vCPU quota too small for the
instance family, and permissions the caller lacks."""

from __future__ import annotations

from amazonei_setup.aws.clients import AwsClients
from amazonei_setup.errors import AwsFailure
from amazonei_setup.spec.catalog import Catalog


def current_quota(clients: AwsClients, code: str) -> float | None:
    """The applied quota value from Service Quotas, or None when it cannot be read."""
    try:
        found = clients.client("service-quotas").get_service_quota(
            ServiceCode="ec2", QuotaCode=code
        )
        return float(found["Quota"]["Value"])
    except Exception:  # unreadable (no permission, unsupported region): say what we can without it
        return None


def explain_vcpu_limit(
    clients: AwsClients, catalog: Catalog, instance_type: str, seats: int, failure: AwsFailure
) -> AwsFailure:
    quota = catalog.vcpu_quota(instance_type)
    spec = catalog.instance(instance_type)
    needed = f"{spec.vcpus * seats} vCPUs" if spec else "more vCPUs"
    value = current_quota(clients, quota.code)
    have = f"your quota is {value:g} vCPUs" if value is not None else "your quota is too small"
    region = clients.target.region
    return AwsFailure(
        f"{instance_type} × {seats} needs {needed}; {have} for '{quota.name}' "
        f"(quota {quota.code}) in {region}",
        f"request more at Service Quotas: `aws service-quotas request-service-quota-increase "
        f"--service-code ec2 --quota-code {quota.code} --desired-value <vCPUs> --region "
        f"{region}`, or pick a smaller size; running the same command again resumes",
        code="VcpuLimitExceeded",
    )
