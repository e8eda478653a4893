"""ARNs as AWS writes them: the partition follows the region (China and GovCloud differ)."""

from __future__ import annotations


def partition_of(region: str | None) -> str:
    """`aws`, `aws-cn` or `aws-us-gov`; no region (a global command) means the commercial one."""
    if region and region.startswith("cn-"):
        return "aws-cn"
    if region and region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"
