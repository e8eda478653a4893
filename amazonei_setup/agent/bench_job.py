"""The benchmark's job: read (a local file or `s3://`), checked field by field (a JobError says
which field and what is allowed), and its model fetched to the agent's cache and held to the
job's SHA-256, read in chunks, before anything loads it. Schema: amazonei_setup/agent/README.md."""

from __future__ import annotations

import hashlib
import json
import os
import re
import time

from .catalog import parse_expect
from .frameworks import cache_dir
from .s3 import s3_download

MAX_MODEL_BYTES = 2 << 30  # issue 22: models up to 2 GB
MAX_BATCH_SIZES = 8  # loadgen.MAX_BATCH_SIZES: the harness's 60 s of overhead holds up to here
CHUNK_BYTES = 1 << 20
FORMATS = {".onnx": "onnx", ".pt": "torchscript", ".pt2": "torch.export"}
BUILTINS = ("resnet50", "resnet152", "bert-base")
DTYPES = ("float32", "float16", "bfloat16", "float64", "int64", "int32", "int8", "uint8", "bool")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class JobError(ValueError):
    """The job cannot be run as given: the message names the field and what is allowed."""


class ModelError(Exception):
    """The model could not be fetched or is not the file the job names (sha256, size)."""


def read_job(source: str, region: str | None = None) -> dict:
    """The job JSON from a local path or `s3://bucket/key`."""
    path = source
    try:
        if source.startswith("s3://"):
            os.makedirs(cache_dir(), exist_ok=True)
            path = os.path.join(cache_dir(), "job.json")
            s3_download(source, path, region)
        with open(path) as handle:
            job = json.load(handle)
    except (OSError, ValueError) as error:
        raise JobError(f"cannot read the job {source}: {error}") from None
    except Exception as error:  # boto3's own errors
        raise JobError(f"cannot fetch the job {source}: {error}") from None
    if not isinstance(job, dict):
        raise JobError("the job must be a JSON object")
    return job


def _number(job: dict, key: str, default: float | None, low: float, integer: bool = False):
    value = job.get(key, default)
    if value is None:
        return None
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or value < low:
        what = "an integer" if integer else "a number"
        raise JobError(f"{key}: {value!r} is not {what} >= {low:g}")
    return value


def _inputs(items: object) -> list:
    """[{name, shape: [int], dtype}] from a list of those, shapes as lists or `1x3x224x224`."""
    if items is None:
        return []
    if not isinstance(items, list):
        raise JobError("model.inputs: a list of {name, shape, dtype}")
    found = []
    for item in items:
        name, shape = (item or {}).get("name"), (item or {}).get("shape")
        if isinstance(shape, str):
            shape = shape.lower().split("x")
        try:
            dims = [int(d) for d in shape]
        except (TypeError, ValueError):
            dims = []
        if not isinstance(name, str) or not name or not dims or min(dims) < 1:
            raise JobError(f"model.inputs: {item!r} needs a name and a shape like 1x3x224x224")
        dtype = item.get("dtype")
        if dtype is not None and dtype not in DTYPES:
            raise JobError(f"model.inputs {name}: dtype {dtype!r}; known: {', '.join(DTYPES)}")
        found.append({"name": name, "shape": dims, "dtype": dtype})
    return found


def _model(model: object) -> dict:
    if not isinstance(model, dict):
        raise JobError("model: an object with uri or path, sha256, format, bytes, inputs")
    where = model.get("uri") or model.get("path")
    if not isinstance(where, str) or not where:
        raise JobError("model: give uri (s3://bucket/key or builtin:NAME) or path")
    found = {"inputs": _inputs(model.get("inputs")), "bytes": model.get("bytes")}
    found.update(uri=model.get("uri"), path=model.get("path"), name=model.get("name"))
    if where.startswith("builtin:"):
        name = where[len("builtin:") :]
        if name not in BUILTINS:
            raise JobError(f"model {where}: known built-ins are {', '.join(BUILTINS)}")
        digest = hashlib.sha256(where.encode()).hexdigest()  # the key a built-in is filed under
        found.update(format="builtin", builtin=name, sha256=digest, name=found["name"] or where)
        return found
    if found["uri"] and not re.match(r"^s3://[^/]+/.+", found["uri"]):
        raise JobError(f"model.uri {found['uri']!r}: s3://bucket/key or builtin:NAME")
    form = model.get("format") or FORMATS.get(os.path.splitext(where)[1].lower())
    form = {"pt": "torchscript", "pt2": "torch.export", "export": "torch.export"}.get(form, form)
    if form not in ("onnx", "torchscript", "torch.export"):
        raise JobError(f"model {where}: format {form!r}; .onnx, .pt (TorchScript), .pt2")
    sha256 = str(model.get("sha256") or "").lower()
    if not _SHA256.match(sha256):
        raise JobError("model.sha256: the model's SHA-256, 64 hex digits")
    size = found["bytes"]
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
        raise JobError(f"model.bytes: {size!r} is not a positive integer")
    if size is not None and size > MAX_MODEL_BYTES:
        raise JobError(f"model.bytes: {size} is over the 2 GB the benchmark takes")
    found.update(format=form, sha256=sha256, name=found["name"] or os.path.basename(where))
    return found


def check_job(job: dict) -> dict:
    """The job with defaults filled in; JobError names the first field that is wrong."""
    sizes = job.get("batch_sizes", [1])
    if (
        not isinstance(sizes, list)
        or not sizes
        or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in sizes)
    ):
        raise JobError(f"batch_sizes: {sizes!r} is not a list of integers >= 1")
    if len(set(sizes)) != len(sizes) or len(sizes) > MAX_BATCH_SIZES:
        raise JobError(f"batch_sizes: {sizes!r}: at most {MAX_BATCH_SIZES}, no duplicates")
    checked = {"model": _model(job.get("model")), "batch_sizes": sizes}
    checked["duration_s"] = _number(job, "duration_s", 30, 0.001)
    checked["min_queries"] = _number(job, "min_queries", 1000, 1, integer=True)
    checked["p99_target_ms"] = _number(job, "p99_target_ms", None, 0.001)
    for key in ("warmup_queries",):
        checked[key] = _number(job, key, 10, 1, integer=True)
    for key in ("warmup_s", "step_s"):
        checked[key] = _number(job, key, None, 0.0)
    instance_type = job.get("instance_type")
    if instance_type is not None and not isinstance(instance_type, str):
        raise JobError(f"instance_type: {instance_type!r} is not an instance type")
    try:
        spec = parse_expect(str(job.get("expect") or instance_type or "none"))
    except ValueError as error:
        raise JobError(f"expect: {error}") from None
    checked.update(instance_type=instance_type or spec["instance_type"], expect=spec)
    result_uri = job.get("result_uri")
    if not isinstance(result_uri, str) or not result_uri:
        raise JobError("result_uri: where the result goes (s3://bucket/key or a local path)")
    checked["result_uri"] = result_uri
    planned = checked["duration_s"] * len(sizes)
    checked["time_limit_s"] = _number(job, "time_limit_s", 2 * planned + 900, 1)
    return checked


def sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _verify(path: str, model: dict) -> None:
    size = os.path.getsize(path)
    if model.get("bytes") is not None and size != model["bytes"]:
        raise ModelError(
            f"the model is {size} bytes, the job says {model['bytes']}: truncated or not the "
            "file uploaded; run the benchmark again (it uploads the model again)"
        )
    if size > MAX_MODEL_BYTES:
        raise ModelError(f"the model is {size} bytes, over the 2 GB the benchmark takes")
    digest = sha256_file(path)
    if digest != model["sha256"]:
        raise ModelError(
            f"the model's SHA-256 is {digest}, the job says {model['sha256']}: a corrupt or "
            "truncated copy; run the benchmark again (it uploads the model again)"
        )


def fetch_model(model: dict, region: str | None = None, clock=time.monotonic) -> dict:
    """{path, download_s, cached}: the model on local disk, held to its SHA-256 and size. A copy
    already in the cache that matches is used again; one that does not is removed."""
    if model["format"] == "builtin":
        return {"path": None, "download_s": 0.0, "cached": False}
    if model.get("path"):
        _verify(model["path"], model)
        return {"path": model["path"], "download_s": 0.0, "cached": False}
    folder = os.path.join(cache_dir(), "models")
    os.makedirs(folder, exist_ok=True)
    extension = {"onnx": ".onnx", "torchscript": ".pt", "torch.export": ".pt2"}[model["format"]]
    path = os.path.join(folder, model["sha256"] + extension)
    if os.path.exists(path):
        try:
            _verify(path, model)
            return {"path": path, "download_s": 0.0, "cached": True}
        except ModelError:
            os.remove(path)
    began, partial = clock(), path + ".part"
    try:
        s3_download(model["uri"], partial, region)
    except Exception as error:  # boto3's errors, the CLI's, the disk's
        raise ModelError(f"cannot download {model['uri']}: {error}") from None
    seconds = clock() - began
    try:
        _verify(partial, model)
    except ModelError:
        os.remove(partial)
        raise
    os.replace(partial, path)
    return {"path": path, "download_s": round(seconds, 3), "cached": False}
