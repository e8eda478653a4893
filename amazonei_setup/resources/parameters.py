"""The agent's SSM report parameters under /amazonei-setup/<name>/."""

from __future__ import annotations

from amazonei_setup.aws import AwsClients, aws_errors


def find(clients: AwsClients, path: str) -> list[str]:
    with aws_errors(f"listing SSM parameters under {path}"):
        pages = clients.ssm.get_paginator("get_parameters_by_path").paginate(
            Path=path.rstrip("/") or "/", Recursive=True
        )
        return [p["Name"] for page in pages for p in page["Parameters"]]


def delete(clients: AwsClients, names: list[str]) -> None:
    """Ten at a time, the API's limit; names already gone are ignored by AWS."""
    with aws_errors("deleting SSM parameters"):
        for start in range(0, len(names), 10):
            clients.ssm.delete_parameters(Names=names[start : start + 10])
