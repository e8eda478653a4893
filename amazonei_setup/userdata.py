"""User data: the first thing each instance runs. The agent issue puts the agent inside it;
this module renders the template and enforces EC2's 16 KB limit."""

from __future__ import annotations

import json
from string import Template

from amazonei_setup.errors import InputError
from amazonei_setup.paths import templates_dir
from amazonei_setup.profile import Profile
from amazonei_setup.resources.naming import report_parameter_prefix

USER_DATA_LIMIT_BYTES = 16 * 1024


def agent_config(profile: Profile) -> dict[str, object]:
    """What the instance needs to know. No credentials, ever: the instance role provides them."""
    return {
        "deployment": profile.name,
        "region": profile.region,
        "instance_type": profile.instance_type,
        "expect": profile.accelerator or profile.instance_type,
        "report_parameter_prefix": report_parameter_prefix(profile.name),
        "agent": profile.agent.model_dump(),
    }


def render_user_data(profile: Profile) -> str:
    template = Template((templates_dir() / "user-data" / "bootstrap.sh").read_text())
    rendered = template.substitute(
        deployment=profile.name,
        expect=profile.accelerator or profile.instance_type,
        config_json=json.dumps(agent_config(profile), indent=2, sort_keys=True),
    )
    size = len(rendered.encode())
    if size > USER_DATA_LIMIT_BYTES:
        raise InputError(
            f"the rendered user data is {size} bytes; EC2 accepts at most {USER_DATA_LIMIT_BYTES}",
            "shorten the tags or disable the agent (agent.enabled: false)",
        )
    return rendered
