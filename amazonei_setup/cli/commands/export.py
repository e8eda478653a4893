"""`export`: the deployment as a CloudFormation template, for AWS's own engine to run.

The template goes to stdout, or with `-o FILE` to a file (0644, written atomically; YAML when
the name ends in .yaml/.yml, JSON otherwise). Nothing in AWS changes: the AMI is looked up (read
only) so the ImageId parameter defaults to a public SSM parameter that exists in the region, or
to the image id when none does. With --sandbox the
user data is signed with the sandbox's key, so a stack made from the export runs its agent there.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from amazonei_setup.cli.context import Context, clients_for, profile_from_args
from amazonei_setup.errors import EXIT_OK, InputError, SetupError
from amazonei_setup.state.paths import write_public

FORMATS = ("cloudformation", "stackset")


def cmd_export(ctx: Context) -> int:
    from amazonei_setup.engines.cloudformation.template import build_template, key_fetch_command

    args = ctx.args
    target = Path(args.output_file) if args.output_file else None
    if target is not None:
        check_target(target, args.force)
    profile = profile_from_args(ctx)
    ami, note = _looked_up_ami(ctx, profile)
    signing_key = None
    if args.sandbox:  # the sandbox runs only user data signed with the home's key
        from amazonei_setup.seats.userdata import sandbox_signing_key

        signing_key = sandbox_signing_key(ctx.home)
    template = build_template(profile, ami=ami, signing_key=signing_key)
    if args.format == "stackset":
        from amazonei_setup.engines.stackset.template import stackset_template
        from amazonei_setup.resources.naming import deployment_tags

        tags = deployment_tags(profile.name, profile.region, profile.tags)
        template = stackset_template(template, profile.name, tags, auto_deployment=True)
    text = render(template, yaml_out=target is not None and target.suffix in (".yaml", ".yml"))
    if target is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        write_public(target, text)
        ctx.terminal.say(f"wrote {target} ({len(template['Resources'])} resources)")
    if note:
        ctx.terminal.say(f"! {note}", soft_wrap=True)
    if profile.access.mode == "ssh" and profile.access.key_pair == "create":
        ctx.terminal.say(
            "each seat's private key stays in SSM; fetch it with the stack's "
            "SeatNPrivateKeyCommand output: " + key_fetch_command("<key-pair-id>", "key.pem"),
            soft_wrap=True,
        )
    return EXIT_OK


def _looked_up_ami(ctx: Context, profile: Any) -> tuple[Any, str | None]:
    """The image the ImageId parameter defaults to, looked up in the profile's region: through
    the first of the rule's public SSM parameters that exists there (the default is then that
    parameter), else by name (the default is the image id). Without AWS access the template
    still exports: the rule's first parameter unchecked, or no default."""
    from amazonei_setup.aws.amis import resolve_ami
    from amazonei_setup.spec.catalog import load_catalog

    catalog = load_catalog()
    rule = catalog.ami_rule(profile.instance_type, profile.accelerator, profile.os)
    if profile.ami != "auto":
        return None, None
    try:
        return resolve_ami(clients_for(ctx, profile.region), catalog, profile), None
    except (SetupError, Exception) as exc:  # no credentials, no access: the export still stands
        reason = exc.lines()[0] if isinstance(exc, SetupError) else str(exc)
        if rule.ssm_parameters:
            return None, (
                f"could not check that {rule.ssm_parameters[0]} (the ImageId default) exists "
                f"in {profile.region} ({reason}); check it before creating the stack"
            )
        return None, (
            f"no default for the ImageId parameter ({reason}); "
            f"pass ImageId when creating the stack, or set ami: ami-... in the profile"
        )


def render(template: dict[str, Any], *, yaml_out: bool) -> str:
    import yaml

    from amazonei_setup.engines.cloudformation.template import template_json

    if yaml_out:
        return yaml.safe_dump(template, sort_keys=False, width=100)
    return template_json(template)


def check_target(path: Path, force: bool) -> None:
    if path.is_dir():
        raise InputError(f"-o {path} is a folder", "give a file name, e.g. -o stack.yaml")
    if not path.parent.is_dir():
        raise InputError(f"-o {path}: folder {path.parent} does not exist", "create it first")
    if path.exists() and not force:
        raise InputError(f"{path} exists", "pass --force to overwrite it, or choose another file")
