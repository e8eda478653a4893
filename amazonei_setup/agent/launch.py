"""The benchmark mode of the shipped agent (issue 22), kept tiny for the user data's 16 KB: the
config's `benchmark` {harness, sha256, job} names the harness file the tool uploaded to the
deployment's bucket; it is fetched, held to the SHA-256 the user data carries (not the bucket's
word), and run on the job. The harness (benchmark.py, one file: bundle.build_benchmark_file)
does the rest and writes the result where the job says."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

from .frameworks import cache_dir
from .s3 import s3_download


def run_benchmark(spec: dict, region: str | None, log) -> int:
    """The harness's exit status (0 measured, 1 failed, 2 a bad job); 1 when it cannot be
    fetched or is not the file the user data names."""
    path = os.path.join(os.path.dirname(cache_dir()), "benchmark.py")  # beside the agent
    try:
        os.makedirs(cache_dir(), exist_ok=True)
        s3_download(spec["harness"], path, region)
        with open(path, "rb") as harness:
            digest = hashlib.sha256(harness.read()).hexdigest()
    except Exception as error:
        log(f"benchmark: cannot fetch the harness: {error}")
        return 1
    if digest != spec["sha256"]:
        log(f"benchmark: {spec['harness']} has SHA-256 {digest}, not {spec['sha256']}: not run")
        return 1
    return subprocess.call([sys.executable, path, "--job", spec["job"], "--region", region or ""])
