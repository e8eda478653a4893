"""The model a benchmark measures, checked on this machine before anything is created: the
format by its suffix, the size (at most 2 GiB), a file that reads whole (ONNX parsed and
checked; TorchScript and torch.export archives are zip files whose every member's CRC is
checked), its SHA-256 (the instance checks it again), and the input shapes: the ONNX graph's,
merged with `--input-shape` by the same rules the instance applies (agent/bench_inputs.py)."""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from amazonei_setup.agent.bench_inputs import Failure, check_batches, merge_given
from amazonei_setup.agent.bench_job import BUILTINS, DTYPES, MAX_MODEL_BYTES
from amazonei_setup.errors import InputError

FORMATS = {".onnx": "onnx", ".pt": "torchscript", ".pt2": "torch.export"}
# onnx.TensorProto element types → the harness's dtype names.
ONNX_DTYPES = {1: "float32", 10: "float16", 16: "bfloat16", 11: "float64", 7: "int64",
               6: "int32", 3: "int8", 2: "uint8", 9: "bool"}  # fmt: skip


@dataclass(frozen=True)
class ModelSpec:
    """The model as the job names it: `source` is the path or `builtin:NAME`."""

    source: str
    name: str
    format: str  # onnx | torchscript | torch.export | builtin
    sha256: str
    bytes: int
    path: Path | None = None
    builtin: str | None = None
    inputs: tuple[dict[str, Any], ...] = field(default_factory=tuple)  # given: --input-shape

    @property
    def suffix(self) -> str:
        return next((suffix for suffix, form in FORMATS.items() if form == self.format), "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            "format": self.format,
            "sha256": self.sha256,
            "bytes": self.bytes,
        }


def parse_input_shapes(text: str | None, dtype: str | None) -> tuple[dict[str, Any], ...]:
    """`image=1x3x224x224,mask=1x128` → [{name, shape, dtype}]."""
    if dtype is not None and dtype not in DTYPES:
        raise InputError(f"--input-dtype {dtype!r} is not known", "one of " + ", ".join(DTYPES))
    if not text:
        return ()
    found = []
    for item in text.split(","):
        name, sep, dims = item.strip().partition("=")
        try:
            shape = [int(d) for d in dims.lower().split("x")]
        except ValueError:
            shape = []
        if not sep or not name or not shape or any(d < 1 for d in shape):
            raise InputError(
                f"--input-shape {item.strip()!r} is not NAME=DIMxDIM...",
                "e.g. --input-shape image=1x3x224x224 (the first dimension is the batch)",
            )
        found.append({"name": name, "shape": shape, "dtype": dtype})
    return tuple(found)


def inspect_model(
    source: str, given: tuple[dict[str, Any], ...], batch_sizes: tuple[int, ...]
) -> ModelSpec:
    """The checked model, or InputError saying what is wrong with it and what to do."""
    if source.startswith("builtin:"):
        name = source[len("builtin:") :]
        if name not in BUILTINS:
            raise InputError(
                f"{source} is not a built-in workload",
                "use " + ", ".join(f"builtin:{b}" for b in BUILTINS),
            )
        digest = hashlib.sha256(source.encode()).hexdigest()  # as the harness files it
        return ModelSpec(source, source, "builtin", digest, 0, builtin=name, inputs=given)
    path = Path(source).expanduser()
    form = FORMATS.get(path.suffix.lower())
    if form is None:
        raise InputError(
            f"{source}: a {path.suffix or 'suffix-less'} file is not a format the benchmark reads",
            "give an ONNX file (.onnx), TorchScript (.pt), a torch.export archive (.pt2), or "
            "builtin:resnet50",
        )
    if not path.is_file():
        raise InputError(f"{source} does not exist", "give the path of your model file")
    size = path.stat().st_size
    if size == 0 or size > MAX_MODEL_BYTES:
        raise InputError(
            f"{source} is {size} bytes; the benchmark takes 1 byte to 2 GiB",
            "give the model file itself (ONNX external data is not supported)",
        )
    inputs = _onnx_inputs(path) if form == "onnx" else _archive_checked(path, form)
    _check_shapes(source, form, inputs, given, batch_sizes)
    return ModelSpec(source, path.name, form, _sha256(path), size, path=path, inputs=given)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _onnx_inputs(path: Path) -> list[dict[str, Any]]:
    """The graph's inputs that are not initializers, [{name, shape, dtype}], None for an open
    dimension; a file that does not parse or check is refused."""
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
        onnx.checker.check_model(model)
    except Exception as exc:  # DecodeError, ValidationError, and truncated files' others
        said = " ".join(str(exc).split())[:300] or type(exc).__name__
        raise InputError(
            f"{path} is not a readable ONNX model: {said}",
            "export it again (torch.onnx.export) or check the file was copied whole",
        ) from None
    weights = {init.name for init in model.graph.initializer}
    found = []
    for value in model.graph.input:
        if value.name in weights:
            continue
        tensor = value.type.tensor_type
        dtype = ONNX_DTYPES.get(tensor.elem_type)
        if dtype is None:
            raise InputError(f"{path}: input {value.name!r} is not a tensor type it can feed")
        shape = [d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim]
        found.append({"name": value.name, "shape": shape, "dtype": dtype, "dtype_fixed": True})
    return found


def _archive_checked(path: Path, form: str) -> list[dict[str, Any]]:
    """TorchScript and torch.export files are zip archives: one that does not open, or whose
    members fail their CRC (a truncated or damaged copy), is refused. Shapes: none known."""
    try:
        with zipfile.ZipFile(path) as archive:
            broken = archive.testzip()
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(
            f"{path} is not a readable {form} file ({exc})",
            "save it again (torch.jit.save or torch.export.save) or check the copy is whole",
        ) from None
    if broken is not None:
        raise InputError(f"{path} is damaged: {broken} fails its CRC", "copy the file again")
    pickles = ("/data.pkl", "/constants.pkl")
    if form == "torchscript" and not any(n.endswith(pickles) for n in names):
        raise InputError(
            f"{path} is a zip file but not TorchScript", "save the model with torch.jit.save"
        )
    return []


def _check_shapes(
    source: str,
    form: str,
    model_inputs: list[dict[str, Any]],
    given: tuple[dict[str, Any], ...],
    batch_sizes: tuple[int, ...],
) -> None:
    """The shapes the instance will feed, by the instance's own rules (a mismatch there
    would fail every candidate after paying for it)."""
    if form == "torch.export":
        return  # the program carries its shapes; only torch can read them
    if form == "torchscript" and not given:
        raise InputError(
            f"{source}: TorchScript carries no input shapes",
            "give them: --input-shape NAME=1x3x224x224 (the first dimension is the batch)",
        )
    try:
        specs = merge_given(model_inputs, list(given)) if form == "onnx" else []
        check_batches(specs, list(batch_sizes))
    except Failure as failure:
        raise InputError(
            f"{source}: {failure}", "fix --input-shape / --batch-sizes to match the model"
        ) from None
