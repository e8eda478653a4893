"""The Elastic Inference PrivateLink endpoint: one per VPC, shared by every deployment in it.

A deployment adds its subnet (when the AZ is not served yet) and its endpoint security group to
an existing endpoint rather than making a second one, and marks itself as a user with a tag.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from amazonei_setup.aws.clients import AwsClients, aws_errors, unless_absent
from amazonei_setup.errors import AwsFailure
from amazonei_setup.resources import endpoint_stack
from amazonei_setup.resources.kind import (
    Action,
    ApplyRun,
    Collect,
    DiscoverInput,
    Found,
    PlanInput,
    PlannedResource,
    ResourceKind,
    TagChange,
    TeardownAction,
    TeardownRun,
    TeardownStep,
    grouped,
)
from amazonei_setup.resources.naming import (
    TAG_DEPLOYMENT,
    TAG_ENDPOINT_USER_PREFIX,
    TAG_MANAGED,
    endpoint_sg_name,
    endpoint_user_tag,
    tag_dict,
    tag_filters,
    tag_list,
    tag_specifications,
)
from amazonei_setup.resources.stack_form import StackInput, StackPart

if TYPE_CHECKING:
    from amazonei_setup.state.ledger import Ledger
from amazonei_setup.aws.waiting import poll
from amazonei_setup.resources.endpoint_subnets import missing_subnets, one_subnet_per_az
from amazonei_setup.resources.vpc_dns import vpc_dns_missing

GONE_STATES = ("deleted", "deleting", "failed", "rejected", "expired")


def _summary(endpoint: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": endpoint["VpcEndpointId"],
        "vpc_id": endpoint.get("VpcId"),
        "service": endpoint.get("ServiceName"),
        "subnets": list(endpoint.get("SubnetIds", [])),
        "groups": [g["GroupId"] for g in endpoint.get("Groups", [])],
        "tags": tag_dict(endpoint.get("Tags")),
        "state": endpoint.get("State"),
    }


def find_tagged(clients: AwsClients, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Live endpoints matching tag filters (deleted ones, which moto keeps listing, skipped)."""
    with aws_errors("listing VPC endpoints"):
        endpoints = clients.ec2.describe_vpc_endpoints(Filters=filters)["VpcEndpoints"]
    return [_summary(e) for e in endpoints if str(e.get("State", "")).lower() not in GONE_STATES]


def find_by_id(clients: AwsClients, endpoint_id: str) -> dict[str, Any] | None:
    """The endpoint as it is now, or None once it is gone (or going)."""
    with aws_errors(f"reading endpoint {endpoint_id}"):
        found = unless_absent(
            lambda: clients.ec2.describe_vpc_endpoints(VpcEndpointIds=[endpoint_id]),
            "InvalidVpcEndpointId.NotFound",
        )
    live = [
        e
        for e in (found or {}).get("VpcEndpoints", [])
        if str(e.get("State", "")).lower() not in GONE_STATES
    ]
    return _summary(live[0]) if live else None


def find(clients: AwsClients, vpc_id: str, service_name: str) -> dict[str, Any] | None:
    """The live endpoint for the service in the VPC (moto keeps deleted ones listed: skip them)."""
    with aws_errors(f"looking up the {service_name} endpoint"):
        endpoints = clients.ec2.describe_vpc_endpoints(
            Filters=[
                {"Name": "vpc-id", "Values": [vpc_id]},
                {"Name": "service-name", "Values": [service_name]},
            ]
        )["VpcEndpoints"]
    live = [e for e in endpoints if str(e.get("State", "")).lower() not in GONE_STATES]
    return _summary(live[0]) if live else None


def create(
    clients: AwsClients,
    vpc_id: str,
    service_name: str,
    subnet_ids: list[str],
    group_ids: list[str],
    tags: dict[str, str],
) -> str:
    # The client token makes a retried create return the first endpoint, not a second one.
    token = hashlib.sha256(f"{vpc_id}|{service_name}|{sorted(tags.items())}".encode())
    with aws_errors(f"creating the {service_name} endpoint"):
        created = clients.ec2.create_vpc_endpoint(
            ClientToken=token.hexdigest()[:48],
            VpcEndpointType="Interface",
            VpcId=vpc_id,
            ServiceName=service_name,
            SubnetIds=subnet_ids,
            SecurityGroupIds=group_ids,
            PrivateDnsEnabled=True,
            TagSpecifications=tag_specifications(["vpc-endpoint"], tags),
        )
    return str(created["VpcEndpoint"]["VpcEndpointId"])


def add_to(
    clients: AwsClients,
    endpoint_id: str,
    subnet_ids: list[str],
    group_ids: list[str],
    user_tags: dict[str, str],
) -> None:
    """Join an existing endpoint: our subnet and group, and our user tag."""
    with aws_errors(f"updating endpoint {endpoint_id}"):
        if subnet_ids or group_ids:
            request: dict[str, Any] = {"VpcEndpointId": endpoint_id}
            if subnet_ids:
                request["AddSubnetIds"] = subnet_ids
            if group_ids:
                request["AddSecurityGroupIds"] = group_ids
            clients.ec2.modify_vpc_endpoint(**request)
        if user_tags:
            clients.ec2.create_tags(Resources=[endpoint_id], Tags=tag_list(user_tags))


def leave(
    clients: AwsClients,
    endpoint_id: str,
    group_ids: list[str],
    user_tag: str,
    hand_over: dict[str, str] | None = None,
) -> None:
    """Stop using a shared endpoint: take our group off it and drop our user tag. When we
    created it, `hand_over` re-tags it to a remaining user, so nothing keeps our name."""
    with aws_errors(f"leaving endpoint {endpoint_id}"):
        if group_ids:
            clients.ec2.modify_vpc_endpoint(
                VpcEndpointId=endpoint_id, RemoveSecurityGroupIds=group_ids
            )
        if hand_over:
            clients.ec2.create_tags(Resources=[endpoint_id], Tags=tag_list(hand_over))
        clients.ec2.delete_tags(Resources=[endpoint_id], Tags=[{"Key": user_tag}])


def delete(
    clients: AwsClients,
    endpoint_id: str,
    *,
    sleep: Callable[[float], None],
    timeout_s: float = 300,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Delete the endpoint and wait until AWS reports it gone (its ENIs hold our groups)."""
    with aws_errors(f"deleting endpoint {endpoint_id}"):
        deleted = unless_absent(
            lambda: clients.ec2.delete_vpc_endpoints(VpcEndpointIds=[endpoint_id]),
            "InvalidVpcEndpointId.NotFound",
        )
    if deleted is None:
        return

    def gone() -> bool | None:
        with aws_errors(f"waiting for endpoint {endpoint_id} to go"):
            found = unless_absent(
                lambda: clients.ec2.describe_vpc_endpoints(VpcEndpointIds=[endpoint_id]),
                "InvalidVpcEndpointId.NotFound",
            )
        if found is None:
            return True
        states = [str(e.get("State", "")).lower() for e in found["VpcEndpoints"]]
        return True if all(state in ("deleted", "") for state in states) else None

    poll(
        gone,
        timeout_s=timeout_s,
        sleep=sleep,
        clock=clock,
        first_delay_s=1.0,
        on_timeout=lambda: AwsFailure(
            f"endpoint {endpoint_id} is still there after {timeout_s:.0f}s",
            "run the same teardown again to keep waiting",
        ),
    )


def endpoint_users(endpoint: dict[str, Any]) -> set[str]:
    """The deployments a shared endpoint serves, from its user tags."""
    prefix = TAG_ENDPOINT_USER_PREFIX
    return {key[len(prefix) :] for key in endpoint["tags"] if key.startswith(prefix)}


def other_users(endpoint: dict[str, Any], name: str, region: str, ledger: Ledger) -> set[str]:
    """Who else uses a shared endpoint: its user tags plus live records that name it."""
    users = endpoint_users(endpoint)
    for record in ledger.all():
        if record.region == region and record.resource_id("endpoint") == endpoint["id"]:
            users.add(record.name)
    return users - {name}


@dataclass
class EndpointFound:
    """The VPC's live endpoint for the service, and the DNS attributes private DNS still needs
    (looked up only when there is no endpoint: one with private DNS proves them on)."""

    endpoint: dict[str, Any] | None
    dns_missing: list[str] = field(default_factory=list)


@dataclass
class EndpointDetails:
    service: str
    subnets: list[str]
    shared: bool = False


class EndpointKind(ResourceKind):
    """The Elastic Inference PrivateLink endpoint, shared by every deployment in the VPC."""

    kind = "vpc-endpoint"
    caller_actions: ClassVar[dict[str, tuple[str, ...]]] = {
        "read": ("ec2:DescribeVpcEndpointServices", "ec2:DescribeVpcEndpoints"),
        "create": ("ec2:CreateVpcEndpoint",),
        "owned": ("ec2:DeleteVpcEndpoints",),
    }
    title = "VPC endpoint"
    count_key = "endpoints"
    after = ("security-group", "vpc-attribute")
    own = False
    stack_handlers = endpoint_stack.HANDLERS
    stack_records = endpoint_stack.RECORDS

    def stack_part(self, given: StackInput, seat: int | None) -> StackPart:
        return endpoint_stack.part(given, seat)

    def needs_vpc(self) -> bool:
        return True

    def discover(self, look: DiscoverInput) -> Collect | None:
        if not look.profile.has_eia:
            return None
        vpc_id = str(look.vpc_id)
        service = look.catalog.ei_endpoint_service(look.profile.region)
        endpoint = look.pool.submit(find, look.clients, vpc_id, service)

        def collect() -> tuple[Any, int]:
            found = endpoint.result()
            if found is not None:
                return EndpointFound(found), 1
            return EndpointFound(None, vpc_dns_missing(look.clients, vpc_id)), 2

        return collect

    def plan(self, given: PlanInput) -> list[PlannedResource]:
        profile, discovery = given.profile, given.discovery
        if not profile.has_eia:
            return []
        after = given.keys("security-group", "vpc-attribute")
        after = tuple(key for key in after if key != "instance_sg")
        service = given.catalog.ei_endpoint_service(profile.region)
        wanted = one_subnet_per_az(discovery)
        looked: EndpointFound | None = discovery.existing.of(self.kind)
        found = looked.endpoint if looked else None
        if found is None:
            details = EndpointDetails(service, [s.id for s in wanted])
            azs = ", ".join(s.availability_zone for s in wanted)
            why = f"Elastic Inference PrivateLink in {azs} (every AZ a seat may land in)"
            return [
                PlannedResource("endpoint", self.kind, service, "create", None, after, details, why)
            ]
        add_subnets = missing_subnets(discovery, found)
        groups: dict[str, Any] = discovery.existing.of("security-group") or {}
        ours = groups.get(endpoint_sg_name(profile.name))
        changes = []
        if add_subnets:
            changes.append(f"add subnet {', '.join(add_subnets)}")
        if ours is None or ours["id"] not in found["groups"]:
            changes.append("add our endpoint group")
        if endpoint_user_tag(profile.name) not in found["tags"]:
            changes.append("record this deployment as a user")
        action: Action = "update" if changes else "reuse"
        why = "shared endpoint of the VPC: " + (", ".join(changes) if changes else "in use")
        details = EndpointDetails(service, add_subnets, shared=True)
        return [
            PlannedResource(
                "endpoint", self.kind, service, action, found["id"], after, details, why
            )
        ]

    def step_calls(self, resource: PlannedResource) -> int:
        return {"create": 2, "reuse": 0}.get(resource.action, 3)  # look, then create / modify, tag

    def apply(self, run: ApplyRun, resource: PlannedResource) -> str:
        """Create the VPC's endpoint, or join the one that exists by now. Serialised per VPC
        in this state home; across machines, AWS's private-DNS conflict says 'join it'."""
        vpc_id = run.discovery.vpc_id
        details: EndpointDetails = resource.details
        region = run.profile.region
        with run.ledger.lock(region, vpc_id, "an endpoint change", wait_s=180):
            found = find(run.clients, vpc_id, details.service)
            if found is None:
                try:
                    endpoint_id = create(
                        run.clients,
                        vpc_id,
                        details.service,
                        details.subnets,
                        [run.ids["endpoint_sg"]],
                        {**run.tags, endpoint_user_tag(run.profile.name): "true"},
                    )
                except AwsFailure as failure:
                    found = find(run.clients, vpc_id, details.service)
                    if found is None:
                        raise
                    run.note(
                        f"another deployment created the endpoint meanwhile ({failure.code}); "
                        "joining it"
                    )
                else:
                    run.remember(resource, endpoint_id, owned=True, shared=True)
                    return endpoint_id
            subnets = missing_subnets(run.discovery, found)
            group = run.ids["endpoint_sg"]
            groups = [] if group in found["groups"] else [group]
            add_to(
                run.clients,
                found["id"],
                subnets,
                groups,
                {endpoint_user_tag(run.profile.name): "true"},
            )
            run.joined(resource)
            return str(found["id"])

    def owned_when_reused(self, run: ApplyRun, resource: PlannedResource) -> bool:
        """A joined endpoint belongs to its creator."""
        looked: EndpointFound | None = run.discovery.existing.of(self.kind)
        found = (looked.endpoint if looked else None) or {}
        return found.get("tags", {}).get(TAG_DEPLOYMENT) == run.profile.name

    def inventory(
        self, clients: AwsClients, pool: ThreadPoolExecutor, name: str, region: str
    ) -> Future[list[Any]]:
        user_tag = endpoint_user_tag(name)
        managed = tag_filters(name)

        def ours() -> list[Any]:
            used = find_tagged(clients, [{"Name": "tag-key", "Values": [user_tag]}])
            return used + [e for e in find_tagged(clients, managed) if user_tag not in e["tags"]]

        return pool.submit(ours)

    def region_inventory(self, clients: AwsClients, region: str) -> dict[str, list[Any]]:
        found = find_tagged(clients, tag_filters())
        return grouped(
            [
                (user, endpoint)
                for endpoint in found
                for user in endpoint_users(endpoint) or [endpoint["tags"].get(TAG_DEPLOYMENT, "?")]
            ]
        )

    def retag(
        self, clients: AwsClients, found: Found, change: TagChange, ec2_ids: list[str]
    ) -> None:
        """Only the endpoint it created: a joined one carries its creator's expiry."""
        ec2_ids += [
            e["id"]
            for e in found.of(self.kind)
            if e["tags"].get(TAG_DEPLOYMENT) == found.name and e["tags"].get(TAG_MANAGED) == "true"
        ]

    def teardown(self, found: Found, home: Path, ledger: Ledger) -> list[TeardownStep]:
        steps = []
        for endpoint in found.of(self.kind):
            others = other_users(endpoint, found.name, found.region, ledger)
            if endpoint["tags"].get(TAG_MANAGED) == "true" and not others:
                action = TeardownAction("delete", self.kind, endpoint["service"], endpoint["id"])
            else:
                why = (
                    f"still used by {', '.join(sorted(others))}" if others else "not created by us"
                )
                action = TeardownAction(
                    "leave",
                    self.kind,
                    endpoint["service"],
                    endpoint["id"],
                    f"{why}: our group and tag come off, the endpoint stays",
                )
            steps.append(TeardownStep(f"endpoint:{endpoint['id']}", self.kind, (action,)))
        return steps

    def remove(self, run: TeardownRun, step: TeardownStep) -> list[TeardownAction]:
        """Delete or leave, decided again under the VPC's endpoint lock from the endpoint as it
        is now: another deployment may have joined it since the plan was shown (on AWS, the
        instances' termination and the person's reading of the prompt lie in between)."""
        done = []
        for action in step.actions:
            planned = next(e for e in run.found.of(self.kind) if e["id"] == action.id)
            vpc_id = str(planned.get("vpc_id"))
            with run.ledger.lock(run.region, vpc_id, "an endpoint change", wait_s=180):
                endpoint = find_by_id(run.clients, action.id)
                if endpoint is None:  # gone meanwhile
                    done.append(action)
                    continue
                others = sorted(run.other_users(endpoint))
                if endpoint["tags"].get(TAG_MANAGED) == "true" and not others:
                    delete(run.clients, action.id, sleep=run.sleep, timeout_s=run.wait_timeout_s)
                    done.append(replace(action, verb="delete"))
                    continue
                if action.verb == "delete":
                    run.note(f"{action.id} gained users ({', '.join(others)}): left, not deleted")
                hand_over = None
                if endpoint["tags"].get(TAG_DEPLOYMENT) == run.name and others:
                    hand_over = {TAG_DEPLOYMENT: others[0]}
                our_groups = {g["id"] for g in run.found.of("security-group")}
                groups = [g for g in endpoint["groups"] if g in our_groups]
                leave(run.clients, endpoint["id"], groups, endpoint_user_tag(run.name), hand_over)
                done.append(replace(action, verb="leave"))
        return done


KIND = EndpointKind()
