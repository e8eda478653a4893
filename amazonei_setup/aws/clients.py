"""One place that makes boto3 clients and turns AWS errors into messages a person can act on.

boto3 is imported lazily so `amazonei-setup --help` stays fast and import-light.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from amazonei_setup import __version__
from amazonei_setup.errors import AwsFailure, InputError

if TYPE_CHECKING:
    import boto3

READ_PREFIXES = ("Describe", "Get", "List", "Simulate", "Lookup", "Search")


@dataclass(frozen=True)
class AwsTarget:
    """Which AWS to talk to: region, named credentials profile, endpoint override (sandbox)."""

    region: str
    profile_name: str | None = None
    endpoint_url: str | None = None

    @property
    def is_loopback(self) -> bool:
        url = self.endpoint_url or ""
        return url.startswith(("http://127.", "http://localhost", "http://[::1]"))


SessionFactory = Callable[[AwsTarget], "boto3.Session"]


def default_session(target: AwsTarget) -> boto3.Session:
    import boto3
    from botocore.exceptions import ProfileNotFound

    try:
        return boto3.Session(profile_name=target.profile_name, region_name=target.region)
    except ProfileNotFound:
        raise InputError(
            f"there is no AWS profile named '{target.profile_name}' in your AWS config",
            "`aws configure list-profiles` lists them; `aws configure --profile NAME` makes one",
        ) from None


class AwsClients:
    """Clients shared by every step of a run.

    boto3 sessions are not thread-safe, so clients are created under a lock and then shared
    (clients themselves are thread-safe). Retries are botocore's adaptive mode, which backs off
    on RequestLimitExceeded and friends.
    """

    def __init__(self, target: AwsTarget, session_factory: SessionFactory | None = None):
        self.target = target
        self._session_factory = session_factory or default_session
        self._session: Any = None
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str) -> Any:
        made = self._clients.get(service)
        if made is not None:  # no lock: a thread making another client must not hold this up
            return made
        with self._lock:
            if service not in self._clients:
                from botocore.config import Config

                if self._session is None:
                    self._session = self._session_factory(self.target)
                config = Config(
                    retries={"mode": "adaptive", "max_attempts": 10},
                    connect_timeout=10,
                    read_timeout=60,
                    user_agent_extra=f"amazonei-setup/{__version__}",
                    proxies=self._proxies(),
                )
                self._clients[service] = self._session.client(
                    service,
                    region_name=self.target.region,
                    endpoint_url=self.target.endpoint_url,
                    config=config,
                )
            return self._clients[service]

    def _proxies(self) -> dict[str, str] | None:
        """A loopback endpoint (the sandbox) is reached directly: botocore would otherwise
        send its calls to the HTTP(S)_PROXY of the user's shell (an empty dict, unlike None,
        stops it looking there). Real AWS keeps the proxies the environment gives."""
        return {} if self.target.is_loopback else None

    @property
    def ec2(self) -> Any:
        return self.client("ec2")

    @property
    def iam(self) -> Any:
        return self.client("iam")

    @property
    def ssm(self) -> Any:
        return self.client("ssm")

    @property
    def sts(self) -> Any:
        return self.client("sts")


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a botocore ClientError, else None."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return response.get("Error", {}).get("Code")
    return None


def error_message(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Message", exc))
    return str(exc)


def is_error(exc: BaseException, *codes: str) -> bool:
    return error_code(exc) in codes


SERVICES_USED = ("ec2", "iam", "ssm", "sts", "service-quotas", "cloudformation", "organizations")


@functools.cache
def iam_action(operation: str) -> str:
    """The IAM action behind an API operation, e.g. RunInstances -> ec2:RunInstances (from
    botocore's bundled models, read once per process)."""
    import botocore.session

    from amazonei_setup.aws.s3_actions import s3_action

    session = botocore.session.get_session()
    for service in SERVICES_USED:
        model = session.get_service_model(service)
        if operation in model.operation_names:
            prefix = model.metadata.get("signingName") or model.endpoint_prefix
            return f"{prefix}:{operation}"
    return s3_action(operation) or operation


def _operation(exc: BaseException) -> str:
    operation = str(getattr(exc, "operation_name", "") or "")
    return iam_action(operation) if operation else "the AWS call"


def translate(exc: BaseException, doing: str) -> AwsFailure:
    """A botocore failure as an AwsFailure that says what we were doing and what to try."""
    from botocore.exceptions import (
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
    )
    from botocore.exceptions import ProfileNotFound as BotoProfileNotFound

    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return AwsFailure(
            f"no AWS credentials while {doing}",
            "configure credentials (aws configure, AWS_PROFILE, --aws-profile) "
            "or try the local sandbox with --sandbox",
        )
    if isinstance(exc, BotoProfileNotFound):
        return AwsFailure(str(exc), "list your profiles with `aws configure list-profiles`")
    if isinstance(exc, EndpointConnectionError):
        return AwsFailure(
            f"could not reach AWS while {doing}: {exc}",
            "check the network, the region and --endpoint-url; for the sandbox run "
            "`amazonei-setup sandbox start`",
        )
    if isinstance(exc, NoRegionError):
        return AwsFailure("no region given", "pass --region or set it in the profile")
    if isinstance(exc, ClientError):
        code = error_code(exc) or "Unknown"
        message = error_message(exc)
        if code in ("UnauthorizedOperation", "AccessDenied", "AccessDeniedException"):
            hint = f"your credentials are not allowed {_operation(exc)}; "
            hint += "`amazonei-setup iam-policy` prints the policy this tool needs"
            if "Encoded authorization failure message" in message:
                hint += "; decode the details with `aws sts decode-authorization-message "
                hint += "--encoded-message <message>`"
            return AwsFailure(f"{code} while {doing}: {message}", hint, code=code)
        if code in ("ExpiredToken", "ExpiredTokenException", "RequestExpired"):
            return AwsFailure(
                f"your AWS session expired while {doing}", "refresh your credentials", code=code
            )
        if code == "AuthFailure":
            return AwsFailure(
                f"AWS rejected the credentials while {doing}: {message}",
                "check the access key, or whether the region is enabled for your account",
                code=code,
            )
        return AwsFailure(f"{code} while {doing}: {message}", None, code=code)
    return AwsFailure(f"{type(exc).__name__} while {doing}: {exc}")


@contextmanager
def aws_errors(doing: str) -> Iterator[None]:
    """Re-raise botocore failures inside the block as AwsFailure naming `doing`."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise translate(exc, doing) from exc


def is_mutating(operation_name: str) -> bool:
    """True for calls that change something in AWS (anything not a Describe/Get/List...)."""
    return not operation_name.startswith(READ_PREFIXES)


T = TypeVar("T")


def unless_absent(call: Callable[[], T], *codes: str) -> T | None:
    """The call's answer, or None when AWS answers one of `codes` (the thing is not there):
    the one place for the look-up / delete that treats "not found" as an answer."""
    try:
        return call()
    except Exception as exc:
        if is_error(exc, *codes):
            return None
        raise


def configured_region(aws_profile: str | None) -> str | None:
    """The region as the AWS CLI resolves it when --region is not given: AWS_REGION, then
    AWS_DEFAULT_REGION, then the named profile's `region` (None when none says)."""
    try:
        import botocore.session

        return botocore.session.Session(profile=aws_profile).get_config_variable("region")
    except Exception:  # an unknown --profile is reported when AWS is first called
        return None
