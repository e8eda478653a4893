"""The deployment's private S3 bucket for models and results (issue 22, "Model delivery").

The benchmark engine creates it (`create`), uploads the model once (`upload_file`) and reads
each instance's result (`get_json`); an instance role may read only its model's keys and write
only its own result keys (`instance_statements`). It is private in every way S3 offers: Block
Public Access on, SSE-S3 by default, a policy that refuses anything not over TLS, a lifecycle
that expires what a lost deployment leaves behind. As a resource kind it is found by its tags,
shown by `status`, emptied and removed by `teardown`, and found by `sweep`.

The objects' half of the API (`upload_file`, `put_bytes`, `get_json`, `exists`,
`instance_statements`) lives in model_objects.py and is re-exported here.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from amazonei_setup.aws.arns import partition_of
from amazonei_setup.aws.clients import AwsClients, aws_errors, is_error
from amazonei_setup.errors import AwsFailure, BucketNameTaken
from amazonei_setup.resources.kind import (
    Found,
    ResourceKind,
    TagChange,
    TeardownAction,
    TeardownRun,
    TeardownStep,
    grouped,
)
from amazonei_setup.resources.model_objects import bucket_arn
from amazonei_setup.resources.model_objects import exists as exists
from amazonei_setup.resources.model_objects import get_json as get_json
from amazonei_setup.resources.model_objects import instance_statements as instance_statements
from amazonei_setup.resources.model_objects import put_bytes as put_bytes
from amazonei_setup.resources.model_objects import upload_file as upload_file
from amazonei_setup.resources.naming import (
    PREFIX,
    TAG_DEPLOYMENT,
    TAG_MANAGED,
    TAG_REGION,
    tag_dict,
    tag_list,
)

if TYPE_CHECKING:
    from amazonei_setup.state.ledger import Ledger

MAX_NAME = 63  # S3's bucket naming rules: 3-63 of a-z, 0-9, '-' and '.'
DIGEST_CHARS = 10  # of SHA-256, appended when the plain name does not fit
_PLAIN = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", "--x-s3", "--table-s3")  # S3 refuses these
DELETE_BATCH = 1000  # DeleteObjects' limit
_NOT_YET = ("NoSuchBucket",)  # just created: a moment before every endpoint knows it
_SETTLE_DELAYS_S = (1, 2, 4, 8)
BUCKET, BUCKET_POLICY = "ModelBucket", "ModelBucketTlsOnly"  # logical ids in a stack
_EMPTY_PASSES = 3  # a late writer (an agent shutting down) can refill it once or twice


def bucket_name(account_id: str, region: str, deployment: str) -> str:
    """`amazonei-setup-ACCOUNT-REGION-DEPLOYMENT`: bucket names are global, so the account and
    region make it unique, and a re-run derives the same one. A name S3 would refuse (too
    long, a reserved suffix) is cut and given a digest of the whole, so it stays unique."""
    full = f"{PREFIX}-{account_id}-{region}-{deployment}"
    if _PLAIN.fullmatch(full) and not full.endswith(_RESERVED_SUFFIXES):
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:DIGEST_CHARS]
    cleaned = re.sub(r"[^a-z0-9-]+", "-", full.lower())
    return f"{cleaned[: MAX_NAME - DIGEST_CHARS - 1].rstrip('-')}-{digest}"


def _named_for(region: str) -> re.Pattern[str]:
    """What the names `bucket_name` gives in `region` start with (cut names too: the account
    and region always fit), so a listing asks S3 about those buckets alone."""
    return re.compile(rf"^{re.escape(PREFIX)}-\d{{12}}-{re.escape(region)}-")


def tls_only_policy(partition: str, bucket: str) -> dict[str, Any]:
    """Refuse every request to the bucket and its objects that does not come over TLS."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TlsOnly",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn(partition, bucket), bucket_arn(partition, bucket, "*")],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }


def lifecycle_rules(expire_days: int) -> list[dict[str, Any]]:
    """What a deployment lost before its teardown leaves behind goes by itself."""
    return [
        {
            "ID": f"{PREFIX}-expire",
            "Status": "Enabled",
            "Filter": {"Prefix": ""},
            "Expiration": {"Days": expire_days},
            "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
        }
    ]


PUBLIC_ACCESS_BLOCK = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}
ENCRYPTION = {
    "Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": True}
    ]
}


def create(
    clients: AwsClients,
    name: str,
    region: str,
    tags: dict[str, str],
    expire_days: int,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Create the bucket (ours already: carry on) and configure it; every step is a PUT of the
    whole setting, so running it again converges. Another account's bucket of that name:
    BucketNameTaken. `region` is the clients' region."""
    if expire_days < 1:
        raise ValueError("expire_days must be at least 1")
    s3 = clients.client("s3")
    request: dict[str, Any] = {"Bucket": name}
    if region != "us-east-1":  # us-east-1 takes no LocationConstraint
        request["CreateBucketConfiguration"] = {"LocationConstraint": region}
    with aws_errors(f"creating S3 bucket {name}"):
        try:
            s3.create_bucket(**request)
        except Exception as exc:
            if is_error(exc, "BucketAlreadyExists"):
                raise BucketNameTaken(name) from None
            if not is_error(exc, "BucketAlreadyOwnedByYou"):
                raise
    policy = json.dumps(tls_only_policy(partition_of(region), name))
    steps: list[tuple[str, Callable[[], Any]]] = [
        (
            "blocking public access to",
            lambda: s3.put_public_access_block(
                Bucket=name, PublicAccessBlockConfiguration=PUBLIC_ACCESS_BLOCK
            ),
        ),
        (
            "turning on default encryption of",
            lambda: s3.put_bucket_encryption(
                Bucket=name, ServerSideEncryptionConfiguration=ENCRYPTION
            ),
        ),
        (
            "putting the TLS-only policy on",
            lambda: s3.put_bucket_policy(Bucket=name, Policy=policy),
        ),
        (
            "putting the expiry rules on",
            lambda: s3.put_bucket_lifecycle_configuration(
                Bucket=name, LifecycleConfiguration={"Rules": lifecycle_rules(expire_days)}
            ),
        ),
        (
            "tagging",
            lambda: s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tag_list(tags)}),
        ),
    ]
    for doing, call in steps:
        with aws_errors(f"{doing} S3 bucket {name}"):
            _settled(call, sleep)


def _settled(call: Callable[[], Any], sleep: Callable[[float], None]) -> Any:
    """The call, retried (bounded) while a just-created bucket is not yet known everywhere."""
    delays = list(_SETTLE_DELAYS_S)
    while True:
        try:
            return call()
        except Exception as exc:
            if not is_error(exc, *_NOT_YET) or not delays:
                raise
            sleep(delays.pop(0))


# -- finding and removing ------------------------------------------------------------------


def _region_of(s3: Any, bucket: dict[str, Any]) -> str | None:
    """The bucket's region: ListBuckets says it where S3 does, else GetBucketLocation (None:
    us-east-1, 'EU': eu-west-1, as S3 has always answered); None when it is gone."""
    if bucket.get("BucketRegion"):
        return str(bucket["BucketRegion"])
    try:
        where = s3.get_bucket_location(Bucket=bucket["Name"]).get("LocationConstraint")
    except Exception as exc:
        if is_error(exc, "NoSuchBucket"):
            return None
        raise
    return {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(where, where)


def _tags_of(s3: Any, name: str) -> dict[str, str] | None:
    """The bucket's tags ({} when it has none), or None when it is gone."""
    try:
        return tag_dict(s3.get_bucket_tagging(Bucket=name)["TagSet"])
    except Exception as exc:
        if is_error(exc, "NoSuchTagSet"):
            return {}
        if is_error(exc, "NoSuchBucket"):
            return None
        raise


def _listed(s3: Any) -> list[dict[str, Any]]:
    if s3.can_paginate("list_buckets"):
        pages = s3.get_paginator("list_buckets").paginate()
        return [b for page in pages for b in page.get("Buckets", [])]
    return list(s3.list_buckets().get("Buckets", []))


def find_tagged(clients: AwsClients, region: str, deployment: str | None) -> list[dict[str, Any]]:
    """The tool's buckets in `region` (named by `bucket_name`, located there, tagged managed)
    of `deployment`, or of every deployment when None."""
    s3 = clients.client("s3")
    shape = _named_for(region)
    found = []
    with aws_errors(f"listing S3 buckets in {region}"):
        for bucket in _listed(s3):
            name = str(bucket["Name"])
            if not shape.match(name) or _region_of(s3, bucket) != region:
                continue
            tags = _tags_of(s3, name)
            if not tags or tags.get(TAG_MANAGED) != "true":
                continue
            if tags.get(TAG_REGION, region) != region:
                continue
            if deployment is not None and tags.get(TAG_DEPLOYMENT) != deployment:
                continue
            found.append({"id": name, "name": name, "tags": tags})
    return found


def empty_and_delete(clients: AwsClients, name: str) -> int:
    """Remove every object version and delete marker, abort unfinished uploads, then the
    bucket; returns how many objects (versions and markers) went. A bucket already gone is
    done: safe to repeat."""
    s3 = clients.client("s3")
    removed = 0
    with aws_errors(f"emptying and deleting S3 bucket {name}"):
        try:
            for attempt in range(_EMPTY_PASSES):
                removed += _empty(s3, name)
                try:
                    s3.delete_bucket(Bucket=name)
                    return removed
                except Exception as exc:
                    if not is_error(exc, "BucketNotEmpty") or attempt == _EMPTY_PASSES - 1:
                        raise
        except Exception as exc:
            if is_error(exc, "NoSuchBucket"):
                return removed
            raise
    return removed


def _empty(s3: Any, name: str) -> int:
    for page in s3.get_paginator("list_multipart_uploads").paginate(Bucket=name):
        for upload in page.get("Uploads", []):
            try:
                s3.abort_multipart_upload(
                    Bucket=name, Key=upload["Key"], UploadId=upload["UploadId"]
                )
            except Exception as exc:
                if not is_error(exc, "NoSuchUpload"):
                    raise
    removed = 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
        entries = [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
        objects = [{"Key": e["Key"], "VersionId": e["VersionId"]} for e in entries]
        for start in range(0, len(objects), DELETE_BATCH):
            batch = objects[start : start + DELETE_BATCH]
            answer = s3.delete_objects(Bucket=name, Delete={"Objects": batch, "Quiet": True})
            errors = answer.get("Errors") or []
            if errors:
                first = errors[0]
                raise AwsFailure(
                    f"S3 did not delete {len(errors)} object(s) of {name}, e.g. {first['Key']}: "
                    f"{first.get('Code')} {first.get('Message', '')}".rstrip(),
                    "run the same teardown again",
                    code=first.get("Code"),
                )
            removed += len(batch)
    return removed


class ModelBucketKind(ResourceKind):
    """Created by the benchmark engine, not planned by a launch; removed once no instance is
    left that could still write to it."""

    kind = "model-bucket"
    title = "S3 bucket (models)"
    count_key = "s3_buckets"
    own = True
    teardown_after = ("ec2-instance",)
    caller_actions: ClassVar[dict[str, tuple[str, ...]]] = {
        "read": ("s3:ListAllMyBuckets",),
        "s3": (
            "s3:AbortMultipartUpload",
            "s3:CreateBucket",
            "s3:DeleteBucket",
            "s3:DeleteObject",
            "s3:DeleteObjectVersion",
            "s3:GetBucketLocation",
            "s3:GetBucketTagging",
            "s3:GetObject",
            "s3:ListBucket",  # a missing key answers 404, not 403
            "s3:ListBucketMultipartUploads",
            "s3:ListBucketVersions",
            "s3:PutBucketPolicy",
            "s3:PutBucketPublicAccessBlock",
            "s3:PutBucketTagging",
            "s3:PutEncryptionConfiguration",
            "s3:PutLifecycleConfiguration",
            "s3:PutObject",
        ),
    }

    # The benchmark makes it, directly, never a launch's stack (so the stack policy grants
    # none of its handlers): its stack form is model_bucket_stack.stack_resources, and a
    # stack that holds one reads back as this kind.
    stack_records: ClassVar[dict[str, str]] = {BUCKET: "bucket", BUCKET_POLICY: "bucket_policy"}

    def inventory(
        self, clients: AwsClients, pool: ThreadPoolExecutor, name: str, region: str
    ) -> Future[list[Any]]:
        return pool.submit(find_tagged, clients, region, name)

    def region_inventory(self, clients: AwsClients, region: str) -> dict[str, list[Any]]:
        buckets = find_tagged(clients, region, None)
        return grouped([(b["tags"].get(TAG_DEPLOYMENT, "?"), b) for b in buckets])

    def retag(
        self, clients: AwsClients, found: Found, change: TagChange, ec2_ids: list[str]
    ) -> None:
        """S3 replaces a bucket's tags whole: the current ones, moved."""
        s3 = clients.client("s3")
        for bucket in found.of(self.kind):
            tags = {**bucket["tags"], **change.put}
            for key in change.remove:
                tags.pop(key, None)
            s3.put_bucket_tagging(Bucket=bucket["name"], Tagging={"TagSet": tag_list(tags)})
            bucket["tags"] = tags

    def teardown(self, found: Found, home: Path, ledger: Ledger) -> list[TeardownStep]:
        return [
            TeardownStep(
                f"bucket:{b['name']}",
                self.kind,
                (TeardownAction("delete", self.kind, b["name"], b["id"]),),
            )
            for b in found.of(self.kind)
        ]

    def remove(self, run: TeardownRun, step: TeardownStep) -> list[TeardownAction]:
        for action in step.actions:
            removed = empty_and_delete(run.clients, action.name)
            if removed:
                run.note(f"emptied {action.name}: {removed} object version(s) removed")
        return list(step.actions)


KIND = ModelBucketKind()
