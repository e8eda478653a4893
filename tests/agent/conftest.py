"""Fakes for the agent: a loopback IMDS that insists on IMDSv2, fake `neuron-ls` / `nvidia-smi`
executables printing real sample outputs, and a runner for the agent as a separate process.
Nothing here reaches beyond 127.0.0.1."""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from support import inherited_env

REPO = Path(__file__).resolve().parents[2]

# `neuron-ls --json-output`, shaped as the Neuron SDK 2.x tools print it (the trn1.2xlarge
# capture published with the Neuron docs' examples; inf1 reports 4 cores and 8 GiB per device,
# inf2 2 cores and 32 GiB).
NEURON_LS_INF1_XLARGE = [
    {
        "neuron_device": 0,
        "bdf": "0000:00:1f.0",
        "cpu_affinity": "0-3",
        "numa_node": "-1",
        "connected_to": None,
        "nc_count": 4,
        "memory_size": 8589934592,
        "neuroncore_ids": [0, 1, 2, 3],
        "neuron_processes": [],
    }
]
NEURON_LS_INF2_XLARGE = [
    {
        "neuron_device": 0,
        "bdf": "0000:00:1e.0",
        "cpu_affinity": "0-3",
        "numa_node": "-1",
        "connected_to": None,
        "nc_count": 2,
        "memory_size": 34359738368,
        "neuroncore_ids": [0, 1],
        "neuron_processes": [],
    }
]
# What neuron-ls says with no driver (aws-neuron/aws-neuron-sdk#633): nothing on stdout, exit 1.
NEURON_LS_NO_DRIVER = (
    'FATA[0000] Failed to discover neuron devices             error="Unable to read device '
    "information from the driver. Make sure aws-neuronx-dkms is installed and the neuron driver "
    'is accessible."'
)
NVIDIA_SMI_T4 = "Tesla T4, 15360 MiB, 535.183.01\n"
NVIDIA_SMI_A10G = "NVIDIA A10G, 23028 MiB, 550.127.05\n"
NVIDIA_SMI_NO_DRIVER = (
    "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure "
    "that the latest NVIDIA driver is installed and running.\n"
)

EIA_ID = "eia-bfa21c7904f64a82a21b9f4540169ce1"
INSTANCE_ID = "i-0a1b2c3d4e5f67890"


def instance_metadata(instance_type: str, eia_type: str | None = None) -> dict[str, str]:
    """IMDS items for an instance; with `eia_type`, the association as AWS documents it."""
    items = {
        "instance-id": INSTANCE_ID,
        "instance-type": instance_type,
        "placement/region": "us-west-2",
        "placement/availability-zone": "us-west-2b",
    }
    if eia_type:
        items["elastic-inference/associations"] = EIA_ID
        items[f"elastic-inference/associations/{EIA_ID}"] = json.dumps(
            {
                "version_2018_04_12": {
                    "elastic-inference-accelerator-id": EIA_ID,
                    "elastic-inference-accelerator-type": eia_type,
                }
            }
        )
    return items


@pytest.fixture
def samples() -> SimpleNamespace:
    return SimpleNamespace(
        inf1=NEURON_LS_INF1_XLARGE,
        inf2=NEURON_LS_INF2_XLARGE,
        neuron_no_driver=NEURON_LS_NO_DRIVER,
        t4=NVIDIA_SMI_T4,
        a10g=NVIDIA_SMI_A10G,
        nvidia_no_driver=NVIDIA_SMI_NO_DRIVER,
        metadata=instance_metadata,
        eia_id=EIA_ID,
        instance_id=INSTANCE_ID,
    )


@dataclass
class FakeImds:
    """IMDSv2 only: GET without a token it issued -> 401; PUT without a TTL header -> 400."""

    items: dict[str, str]
    token_value: str | None = None
    tokens: set[str] = field(default_factory=set)
    log: list[tuple[str, str, int]] = field(default_factory=list)
    server: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def expire_tokens(self) -> None:
        self.tokens.clear()

    def handler(self) -> type[BaseHTTPRequestHandler]:
        imds = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: str = "") -> None:
                imds.log.append((self.command, self.path, status))
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_PUT(self) -> None:
                ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds", "")
                if self.path != "/latest/api/token":
                    return self._answer(404)
                if not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
                    return self._answer(400)
                token = imds.token_value or secrets.token_urlsafe(40)
                imds.tokens.add(token)
                return self._answer(200, token)

            def do_GET(self) -> None:
                if self.headers.get("X-aws-ec2-metadata-token") not in imds.tokens:
                    return self._answer(401)
                prefix = "/latest/meta-data/"
                item = self.path[len(prefix) :] if self.path.startswith(prefix) else None
                if item in imds.items:
                    return self._answer(200, imds.items[item])
                return self._answer(404)

        return Handler

    def __enter__(self) -> FakeImds:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler())
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_imds():
    """fake_imds(items, token_value=None) -> a running FakeImds (stopped after the test)."""
    started: list[FakeImds] = []

    def start(items: dict[str, str], token_value: str | None = None) -> FakeImds:
        server = FakeImds(dict(items), token_value).__enter__()
        started.append(server)
        return server

    yield start
    for server in started:
        server.__exit__(None, None, None)


@dataclass
class FakeTools:
    """A directory of fake executables, the only one on PATH; `dev` stands in for /dev, `root`
    for / (AMAZONEI_AGENT_ROOT: where framework environments are looked for, empty at first)."""

    bin: Path
    dev: Path
    root: Path

    def framework(self, key: str, behaviour: str = "correct", env: str | None = None) -> Path:
        """A fake framework environment under the root (see sandbox.fake_tools)."""
        from amazonei_sandbox.fake_tools import install_framework

        return install_framework(self.root, key, behaviour, env)

    def install(self, name: str, stdout: str = "", stderr: str = "", code: int = 0) -> Path:
        """An executable that records its argv, prints the given text and exits `code`."""
        path = self.bin / name
        record = self.bin / f"{name}.calls"
        path.write_text(
            f"#!{sys.executable}\n"
            "import json, sys\n"
            f"open({str(record)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
            f"sys.stdout.write({stdout!r})\n"
            f"sys.stderr.write({stderr!r})\n"
            f"sys.exit({code})\n"
        )
        path.chmod(0o755)
        return path

    def neuron_ls(self, devices: list[dict[str, Any]], **kwargs: Any) -> Path:
        return self.install("neuron-ls", json.dumps(devices, indent=4) + "\n", **kwargs)

    def neuron_devices(self, count: int) -> None:
        for index in range(count):
            (self.dev / f"neuron{index}").write_text("")

    def calls(self, name: str) -> list[list[str]]:
        record = self.bin / f"{name}.calls"
        lines = record.read_text().splitlines() if record.exists() else []
        return [json.loads(line) for line in lines]


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on: connecting is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, closed_port: int) -> FakeTools:
    """Fake tools first (and alone) on PATH, an empty fake /dev, IMDS pointed at a closed
    loopback port until a test starts a fake one; the agent never sees the real machine."""
    fake = FakeTools(tmp_path / "bin", tmp_path / "dev", tmp_path / "root")
    fake.bin.mkdir()
    fake.dev.mkdir()
    fake.root.mkdir()
    monkeypatch.setenv("AMAZONEI_AGENT_ROOT", str(fake.root))
    monkeypatch.setenv("AMAZONEI_AGENT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", str(fake.bin))
    monkeypatch.setenv("AMAZONEI_AGENT_DEV_DIR", str(fake.dev))
    monkeypatch.setenv("AMAZONEI_AGENT_IMDS_ENDPOINT", f"http://127.0.0.1:{closed_port}")
    monkeypatch.setattr("amazonei_setup.agent.probes.NEURON_BIN", str(fake.bin / "none"))
    return fake


@pytest.fixture(autouse=True)
def _never_the_real_imds(monkeypatch: pytest.MonkeyPatch, closed_port: int) -> None:
    """Every agent test, in-process or child, talks to loopback only."""
    monkeypatch.setenv("AMAZONEI_AGENT_IMDS_ENDPOINT", f"http://127.0.0.1:{closed_port}")


@dataclass
class AgentRun:
    code: int
    report: dict[str, Any] | None
    stdout: str
    stderr: str


def run_process(argv: list[str], *args: str, python: str | None = None) -> AgentRun:
    """Run the agent as a child process with the current (faked) environment."""
    env = inherited_env(PYTHONPATH=str(REPO))
    done = subprocess.run(
        [python or sys.executable, *argv, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(REPO),
        timeout=60,
    )
    try:
        report = json.loads(done.stdout)
    except ValueError:
        report = None
    return AgentRun(done.returncode, report, done.stdout, done.stderr)


@pytest.fixture(scope="session")
def bundle_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from amazonei_setup.agent.bundle import build_single_file

    path = tmp_path_factory.mktemp("bundle") / "agent.py"
    path.write_text(build_single_file())
    return path


@pytest.fixture
def agent_process(bundle_path: Path):
    """agent_process(how, *args): how is "module" (python -m amazonei_setup.agent) or "bundle"."""

    def run(how: str, *args: str, python: str | None = None) -> AgentRun:
        argv = ["-m", "amazonei_setup.agent"] if how == "module" else [str(bundle_path)]
        return run_process(argv, *args, python=python)

    return run
