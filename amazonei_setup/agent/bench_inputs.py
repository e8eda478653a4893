"""The benchmark worker's inputs and answer check, shared by its ONNX and PyTorch paths: input
shapes (the model's own, or the job's `name=1x3x224x224`), seeded input data, the first output
held to the CPU's, and the failure classes a candidate's row can carry. Python 3.6 syntax, no
import beyond the standard library at module level (it runs in the framework's own Python)."""

# The first output may differ from the CPU's by this share of its largest |value|: fp32 leaves
# room for TF32 math (cuDNN and TensorRT use it on Ampere and newer GPUs) and a compiler's
# reordered sums; half precision keeps about three decimal digits. A wrong compile, a broken
# operator or other weights are off by far more (tests/agent/test_agent_benchmark.py).
TOLERANCE = {"fp32": 1e-2, "fp16": 5e-2, "bf16": 5e-2}
OUTCOMES = (
    "not installed",
    "unusable",
    "bad model",
    "shape mismatch",
    "compile failed",
    "out of memory",
    "wrong answer",
    "crashed",
    "hung",
)
MEMORY_MARKS = ("out of memory", "outofmemory", "failed to allocate", "cudaerrormemoryallocation")


class Failure(Exception):
    """A classified failure of one environment: `outcome` is one of OUTCOMES."""

    def __init__(self, outcome: str, reason: str):
        Exception.__init__(self, reason)
        self.outcome = outcome


def classify(error: BaseException) -> "tuple":
    """(outcome, reason) of any exception raised while loading, compiling or running."""
    if isinstance(error, Failure):
        return error.outcome, str(error)
    said = (f"{type(error).__name__}: {error}")[:600]
    if isinstance(error, ImportError):
        return "not installed", "not installed (%s)" % (getattr(error, "name", None) or error)
    if isinstance(error, MemoryError) or any(m in said.lower() for m in MEMORY_MARKS):
        return "out of memory", said
    return "crashed", said


def precision_of(dtype: str) -> str:
    return {"float16": "fp16", "bfloat16": "bf16"}.get(dtype, "fp32")


def shape_text(shape: "list") -> str:
    return "x".join("?" if d is None else str(d) for d in shape)


def check_batches(specs: "list", batch_sizes: "list") -> None:
    """The first dimension is the batch: a fixed one must equal every batch size asked."""
    for spec in specs:
        fixed = spec.get("batch")
        for size in batch_sizes:
            if fixed is not None and fixed != size:
                raise Failure(
                    "shape mismatch",
                    f"input {spec['name']!r} has a fixed batch dimension {fixed}: batch size "
                    f"{size} cannot be fed (export the model with a dynamic first axis, or "
                    f"benchmark batch {fixed})",
                )


def _unknown(given: "list", known: "list") -> None:
    for name in [g["name"] for g in given]:
        if name not in known:
            raise Failure(
                "shape mismatch",
                f"the model has no input named {name!r} (its inputs: {', '.join(known)})",
            )


def merge_given(model_specs: "list", given: "list") -> "list":
    """The model's inputs [{name, shape, dtype}] (None for an open dimension), overridden by
    the job's: names must exist, ranks and fixed dimensions beyond the batch must agree, and
    every dimension beyond the batch must end up known. Returns [{name, shape, dtype, batch}],
    `batch` being the model's fixed first dimension (None when open or overridden)."""
    given = list(given or [])
    by_name = dict((g["name"], g) for g in given)
    _unknown(given, [s["name"] for s in model_specs])
    specs = []
    for spec in model_specs:
        name, shape, wanted = spec["name"], list(spec["shape"]), by_name.get(spec["name"])
        dtype, batch = spec["dtype"], (shape[0] if shape and isinstance(shape[0], int) else None)
        if wanted is not None:
            new = [int(d) for d in wanted["shape"]]
            if len(new) != len(shape):
                raise Failure(
                    "shape mismatch",
                    f"input {name!r} has {len(shape)} dimensions ({shape_text(shape)}); the job "
                    f"gives {len(new)} ({shape_text(new)})",
                )
            for axis in range(1, len(new)):
                if shape[axis] is not None and shape[axis] != new[axis]:
                    raise Failure(
                        "shape mismatch",
                        f"input {name!r} is {shape_text(shape)}; the job gives "
                        f"{shape_text(new)} (dimension {axis} differs)",
                    )
            shape, dtype = new, wanted.get("dtype") or dtype
            if wanted.get("dtype") and spec.get("dtype_fixed") and wanted["dtype"] != spec["dtype"]:
                raise Failure(
                    "shape mismatch",
                    f"input {name!r} is {spec['dtype']}; the job gives {wanted['dtype']}",
                )
        for axis in range(1, len(shape)):
            if shape[axis] is None or shape[axis] <= 0:
                raise Failure(
                    "shape mismatch",
                    f"input {name!r} ({shape_text(shape)}) has an open dimension at axis {axis}: "
                    f"give its size, e.g. --input-shape {name}=1x...",
                )
        specs.append({"name": name, "shape": shape, "dtype": dtype, "batch": batch})
    return specs


def given_only(given: "list", what: str) -> "list":
    """Inputs for a model that carries no shapes (TorchScript): the job must give them all."""
    if not given:
        raise Failure(
            "shape mismatch",
            f"{what} carries no input shapes: give them (--input-shape name=1x3x224x224)",
        )
    specs = []
    for item in given:
        shape = [int(d) for d in item["shape"]]
        specs.append(
            {"name": item["name"], "shape": shape, "dtype": item.get("dtype") or "float32"}
        )
    return merge_given([dict(s, shape=[None, *s["shape"][1:]]) for s in specs], given)


def make_inputs(np, specs: "list", batch_size: int) -> "list":
    """Seeded inputs, the same in every environment: floats in [0, 1), integer ids in
    [0, 100), masks all ones, token types zeros."""
    state = np.random.RandomState(batch_size)
    arrays = []
    for spec in specs:
        shape = [batch_size, *list(spec["shape"][1:])]
        dtype, name = spec["dtype"], spec["name"].lower()
        if dtype.startswith("float") or dtype == "bfloat16":
            data = state.random_sample(shape).astype("float32" if dtype == "bfloat16" else dtype)
        elif dtype == "bool" or "mask" in name:
            data = np.ones(shape, dtype=dtype)
        elif "type" in name:
            data = np.zeros(shape, dtype=dtype)
        else:
            data = state.randint(0, 100, size=shape).astype(dtype)
        arrays.append(data)
    return arrays


def compare(np, output, reference, precision: str) -> "tuple":
    """(ok, max_abs_error, tolerance) of the first output against the CPU's answer."""
    out, ref = np.asarray(output, dtype="float64"), np.asarray(reference, dtype="float64")
    share = TOLERANCE[precision]
    scale = float(np.max(np.abs(ref))) if ref.size else 0.0
    tolerance = {"precision": precision, "of_largest": share, "atol": share * max(scale, 1e-6)}
    if out.shape != ref.shape:
        why = f"shape {shape_text(out.shape)}, the CPU's {shape_text(ref.shape)}"
        return False, None, dict(tolerance, why=why)
    if not np.all(np.isfinite(out)):
        return False, None, dict(tolerance, why="not finite (NaN or infinity)")
    error = float(np.max(np.abs(out - ref))) if out.size else 0.0
    return error <= tolerance["atol"], error, tolerance
