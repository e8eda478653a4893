"""The launch template, a kind only the stack engines make: the direct engine's RunInstances
request (launching.launch_request: IMDSv2 required, encrypted gp3 root) as launch template
data, which every seat's instance is launched from.

The accelerator is not here: since EI's retirement the LaunchTemplate resource schema no
longer lists ElasticInferenceAccelerators, while AWS::EC2::Instance still does.
"""

from __future__ import annotations

import base64
from typing import Any, ClassVar

from amazonei_setup.aws.amis import DEFAULT_ROOT_VOLUME_GIB
from amazonei_setup.resources.kind import ResourceKind
from amazonei_setup.resources.launching import launch_request
from amazonei_setup.resources.naming import PREFIX, tag_list
from amazonei_setup.resources.stack_form import (
    INSTANCE_PROFILE,
    INSTANCE_SG,
    LAUNCH_TEMPLATE,
    StackInput,
    StackPart,
    instance_tags,
)
from amazonei_setup.resources.stack_handlers import handlers_of

ROOT_DEVICE_BY_OS = {"amazon-linux": "/dev/xvda", "ubuntu": "/dev/sda1"}


class LaunchTemplateKind(ResourceKind):
    """Made by a stack alone (the direct engine launches from the request itself), so it has
    no plan, apply or teardown of its own: the stack's deletion takes it."""

    kind = "launch-template"
    title = "launch template"
    stack_handlers: ClassVar[dict[str, tuple[str, ...]]] = handlers_of("AWS::EC2::LaunchTemplate")
    stack_records: ClassVar[dict[str, str]] = {LAUNCH_TEMPLATE: "launch_template"}

    def stack_part(self, given: StackInput, seat: int | None) -> StackPart:
        if seat is not None:
            return StackPart()
        profile, ami = given.profile, given.ami
        data = launch_request(
            image_id="ImageId",
            instance_type=profile.instance_type,
            root_device_name=ami.root_device_name if ami else ROOT_DEVICE_BY_OS[profile.os],
            root_volume_gib=ami.root_volume_gib if ami else DEFAULT_ROOT_VOLUME_GIB,
            group_ids=[INSTANCE_SG],
            instance_profile_name=INSTANCE_PROFILE,
            key_name=None,
            accelerator=profile.accelerator,
            user_data=None,
            tags=instance_tags(profile, given.tags),
        )
        for key in ("MinCount", "MaxCount", "ElasticInferenceAccelerators"):
            data.pop(key, None)  # the accelerator goes on the instance (instance_stack.py)
        data["ImageId"] = {"Ref": "ImageId"}
        data["SecurityGroupIds"] = [{"Ref": INSTANCE_SG}]
        data["IamInstanceProfile"] = {"Arn": {"Fn::GetAtt": [INSTANCE_PROFILE, "Arn"]}}
        data["UserData"] = base64.b64encode(given.user_data).decode("ascii")
        template: dict[str, Any] = {
            "Type": "AWS::EC2::LaunchTemplate",
            "Properties": {
                "LaunchTemplateName": f"{PREFIX}-{profile.name}",
                "LaunchTemplateData": data,
                "TagSpecifications": [
                    {"ResourceType": "launch-template", "Tags": tag_list(given.tags)}
                ],
            },
        }
        return StackPart({LAUNCH_TEMPLATE: template})


KIND = LaunchTemplateKind()
