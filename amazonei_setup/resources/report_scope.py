"""Each instance may write only its own report: the instance role's statements for the agent's
SSM parameter, and the reader's check of who wrote one.

Design — how the scoping works, and why this way (checked against AWS's documentation):

- A request signed with an instance role's credentials carries the global condition key
  `ec2:SourceInstanceARN` (`arn:PARTITION:ec2:REGION:ACCOUNT:instance/i-...`), and it can be used
  as a policy variable; `aws:userid` is `ROLE-ID:i-...` for the same credentials.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
- Neither value can appear in a parameter's name, so `parameter/.../${ec2:SourceInstanceARN}`
  in `Resource` matches nothing: names take only `a-zA-Z0-9_.-` and `/` (no `:`).
  https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_PutParameter.html
- One statement per instance id, written after launch, does not fit either: a role's inline
  policies are limited to 10,240 characters together, about 40 seats, and we allow 200.
- So the report keeps its path, `/amazonei-setup/NAME/INSTANCE-ID/report`, and carries its
  writer in the tag `amazonei-setup:reporter`. PutParameter (and the tagging it implies) is
  allowed only with that tag in the request, equal to `${ec2:SourceInstanceARN}`, and no other
  tag key (`aws:RequestTag/...`, `aws:TagKeys`); tagging only a parameter with no such tag yet
  (`Null` on `ssm:resourceTag/...`). An overwrite cannot carry tags (the API refuses Tags with
  Overwrite), so a report is written once: no instance can rewrite one, its own included (what
  its workload does after boot cannot change what the agent found), nor re-tag another's.
  https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssystemsmanager.html
- What the role cannot stop: an instance creating a report under another seat's path before
  that seat publishes. The reader therefore trusts a report only when its reporter tag is the
  instance it reads it for (`reporter_is`); a report with no tag at all was written under the
  policy of before this scoping (or by the user) and is read as before.
"""

from __future__ import annotations

import re
from typing import Any

from amazonei_setup.resources.naming import TAG_REPORTER, report_parameter_prefix

SOURCE_INSTANCE = "${ec2:SourceInstanceARN}"
_INSTANCE_ARN = re.compile(r"arn:aws[a-z-]*:ec2:[a-z0-9-]+:\d{12}:instance/(i-[0-9a-f]+)")


def report_statements(name: str, partition: str, region: str, account_id: str) -> list[dict]:
    """The agent's statements: create its report, once, tagged with its own instance ARN."""
    prefix = report_parameter_prefix(name)
    reports = f"arn:{partition}:ssm:{region}:{account_id}:parameter{prefix}*"
    return [
        {
            "Sid": "AgentReportCreate",
            "Effect": "Allow",
            "Action": ["ssm:PutParameter"],
            "Resource": reports,
            "Condition": {
                "StringEquals": {f"aws:RequestTag/{TAG_REPORTER}": SOURCE_INSTANCE},
                "ForAllValues:StringEquals": {"aws:TagKeys": [TAG_REPORTER]},
            },
        },
        {
            "Sid": "AgentReportTagOnCreate",
            "Effect": "Allow",
            "Action": ["ssm:AddTagsToResource"],
            "Resource": reports,
            "Condition": {
                "StringEquals": {f"aws:RequestTag/{TAG_REPORTER}": SOURCE_INSTANCE},
                "ForAllValues:StringEquals": {"aws:TagKeys": [TAG_REPORTER]},
                "Null": {f"ssm:resourceTag/{TAG_REPORTER}": "true"},
            },
        },
    ]


def reporter_is(tags: dict[str, str], instance_id: str) -> bool | None:
    """True when the report's reporter tag names this instance, False when it names another
    (or is not an instance ARN), None when the report has no reporter tag (written before the
    scoping)."""
    reporter = tags.get(TAG_REPORTER)
    if reporter is None:
        return None
    found = _INSTANCE_ARN.fullmatch(reporter)
    return found is not None and found.group(1) == instance_id


def tags_of(found: dict[str, Any]) -> dict[str, str]:
    """ListTagsForResource's answer as a dict."""
    return {tag["Key"]: tag["Value"] for tag in found.get("TagList") or []}
