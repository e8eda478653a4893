"""Start, find and stop the sandbox server (`sandbox start|stop|status`).

State lives in `<home>/sandbox/`: `sandbox.json` (pid, port, endpoint; 0600), `server.log`,
`credentials.json` (the owner's access key and secret: the server answers only requests signed
with them, credentials.py), `user-data.key` (the key user data is signed with; the server runs
only what it signs), `instances/<id>/` (each live simulated instance: status.json and its root
directory) and `logs/` (what is kept of instances that are gone: status and logs, bounded).
`start(home, throttle="BURST:RATE")` (or AMAZONEI_SANDBOX_THROTTLE) starts a server that rate-limits
API calls as AWS does (throttle.py); `throttle_counts` asks it what it refused.
The server only ever listens on 127.0.0.1, and a pid is signalled only after checking that it
still runs our server (or, for a simulated instance, its script in its own root): pids get reused.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import amazonei_setup
from amazonei_sandbox import process_tree
from amazonei_sandbox.moto_version import require_tested_moto
from amazonei_setup.errors import InputError, SetupError
from amazonei_setup.state.paths import private_dir, write_private_json

SERVER_MODULE = "amazonei_sandbox.server"
HEALTH_PATH = "/__amazonei-setup/sandbox/health"  # answered by server.SeedingMiddleware
THROTTLE_PATH = "/__amazonei-setup/sandbox/throttle"  # answered by throttle.ThrottleMiddleware
SERVICE_ID = "amazonei-setup-sandbox"
LOOPBACK_HOST = "127.0.0.1"  # the only address the sandbox ever listens on
_LOOPBACK_HOSTS = {LOOPBACK_HOST}
_FIRST_POLL_S = 0.02
_MAX_POLL_S = 0.5
_LOG_TAIL_LINES = 20

# Servers this process started: their exit is only reaped through the Popen object.
_children: dict[int, subprocess.Popen[bytes]] = {}


class SandboxError(SetupError):
    """The sandbox could not be started, reached or stopped."""


@dataclass(frozen=True)
class SandboxInfo:
    endpoint: str
    port: int
    pid: int
    running: bool
    throttle: str | None = None  # BURST:RATE the server throttles at, None when it does not

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def start(home: Path, timeout_s: float = 30, throttle: str | None = None) -> SandboxInfo:
    """The running sandbox of this home, or a new one started in the background.

    `throttle` ("BURST:RATE" or "off"; default AMAZONEI_SANDBOX_THROTTLE, else off) rate-limits
    a new server's API calls (throttle.py). A running server is reused as it is, unless an
    explicit `throttle` differs from its own: that is an InputError (stop it first). A malformed
    setting, explicit or from the environment, is an InputError before anything starts."""
    require_tested_moto()
    from amazonei_sandbox.throttle import ENV_VAR, parse_setting

    if throttle is not None:
        setting = parse_setting(throttle)
    else:
        setting = parse_setting(os.environ.get(ENV_VAR), source=ENV_VAR)
    wanted = str(setting) if setting is not None else None
    folder = private_dir(home / "sandbox")
    with _exclusive(folder / ".lock"):  # two `start`s at once must not start two servers
        current = status(home)
        if current is not None and current.running:
            if throttle is not None and current.throttle != wanted:
                raise InputError(
                    f"the sandbox already runs at {current.endpoint} with throttling "
                    f"{current.throttle or 'off'}, not {wanted or 'off'}",
                    "stop it first (`amazonei-setup sandbox stop`), then start it again",
                )
            return current
        if current is not None:
            _terminate(current.pid, timeout_s=5)  # ours but not answering: do not leave it
            _kill_orphaned_instances(home)
        _clear_instances(home)  # what a server that died left behind
        _state_file(home).unlink(missing_ok=True)
        # The tool signs user data with this key and the server checks it, and the server
        # answers only requests signed with these credentials: create both first.
        from amazonei_sandbox.credentials import sandbox_credentials
        from amazonei_setup.seats.userdata import sandbox_signing_key

        sandbox_signing_key(home)
        sandbox_credentials(home)
        info = _launch(folder, timeout_s, home, wanted)
        write_private_json(_state_file(home), _state_document(info))
        return info


def stop(home: Path, timeout_s: float = 10) -> bool:
    """Stop the sandbox of this home and its simulated instances; True when one was running."""
    current = _read_state(home)
    if current is None:
        return False
    stopped = _terminate(current.pid, timeout_s)
    # The server kills its instances' scripts as it stops; a server killed outright could not.
    _kill_orphaned_instances(home)
    _clear_instances(home)
    _state_file(home).unlink(missing_ok=True)
    return stopped


def _clear_instances(home: Path) -> None:
    """No instance folder outlives its server: their logs go to `sandbox/logs/` (bounded)."""
    from amazonei_sandbox.instance_logs import archive_all, logs_dir

    archive_all(home / "sandbox" / "instances", logs_dir(home))


def status(home: Path) -> SandboxInfo | None:
    """None when no sandbox was ever started here; `running` says whether it answers now."""
    recorded = _read_state(home)
    if recorded is None:
        return None
    running = _is_our_server(recorded.pid) and _answers(recorded.endpoint, recorded.pid)
    return SandboxInfo(recorded.endpoint, recorded.port, recorded.pid, running, recorded.throttle)


# --- state file ---------------------------------------------------------------------------


def _state_file(home: Path) -> Path:
    return home / "sandbox" / "sandbox.json"


def _state_document(info: SandboxInfo) -> dict[str, Any]:
    return {
        "endpoint": info.endpoint,
        "port": info.port,
        "pid": info.pid,
        "throttle": info.throttle,
    }


def _read_state(home: Path) -> SandboxInfo | None:
    path = _state_file(home)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        return _info_from(document, running=False)
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError) as error:
        raise SandboxError(
            f"the sandbox state file {path} is unreadable ({error})",
            f"stop any sandbox server by hand if one runs, then delete {path}",
        ) from error


def _info_from(document: dict[str, Any], running: bool) -> SandboxInfo:
    endpoint = str(document["endpoint"])
    port = int(document["port"])
    if urlsplit(endpoint).hostname not in _LOOPBACK_HOSTS or urlsplit(endpoint).port != port:
        raise ValueError(f"endpoint {endpoint!r} is not 127.0.0.1:{port}")
    throttle = document.get("throttle")
    return SandboxInfo(
        endpoint=endpoint,
        port=port,
        pid=int(document["pid"]),
        running=running,
        throttle=str(throttle) if throttle is not None else None,
    )


# --- starting -----------------------------------------------------------------------------


@contextlib.contextmanager
def _exclusive(lock_file: Path) -> Iterator[None]:
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _launch(folder: Path, timeout_s: float, home: Path, throttle: str | None = None) -> SandboxInfo:
    ready = folder / "server.ready.json"
    ready.unlink(missing_ok=True)
    process = _spawn(folder, ready, home, throttle)
    try:
        return _wait_until_ready(process, ready, folder / "server.log", timeout_s)
    except BaseException:
        _terminate(process.pid, timeout_s=5)
        raise
    finally:
        ready.unlink(missing_ok=True)


def _server_command(ready: Path, home: Path | None = None) -> list[str]:
    command = [sys.executable, "-m", SERVER_MODULE, "--port", "0", "--ready-file", str(ready)]
    return command + (["--home", str(home)] if home is not None else [])


def server_environment(outer: Mapping[str, str]) -> dict[str, str]:
    """The caller's environment without anything that reaches a real AWS account: no AWS_*
    variable (keys, session token, profile, endpoint) and no AWS config or credentials file.
    moto's own Amazon Linux AMIs are always there, as in a real region (whatever a caller, such
    as the test suite, turned off for its in-process mocks)."""
    env = {k: v for k, v in outer.items() if not k.startswith("AWS_")}
    env["AWS_CONFIG_FILE"] = env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    env["MOTO_EC2_LOAD_DEFAULT_AMIS"] = "true"
    return env


def _spawn(
    folder: Path, ready: Path, home: Path | None = None, throttle: str | None = None
) -> subprocess.Popen[bytes]:
    """Start the server detached from our terminal and session, logging to server.log;
    `throttle` (BURST:RATE, None for off) reaches it through the environment."""
    from amazonei_sandbox.throttle import ENV_VAR

    env = server_environment(os.environ)
    env.pop(ENV_VAR, None)
    if throttle is not None:
        env[ENV_VAR] = throttle
    # The child must import this very copy of the package, wherever it was started from.
    package_root = str(Path(amazonei_setup.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    with (folder / "server.log").open("wb") as log:  # one run per log
        os.fchmod(log.fileno(), 0o600)
        process = subprocess.Popen(
            _server_command(ready, home),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=folder,
            env=env,
            start_new_session=True,
            close_fds=True,
        )
    _children[process.pid] = process
    return process


def _wait_until_ready(
    process: subprocess.Popen[bytes], ready: Path, log: Path, timeout_s: float
) -> SandboxInfo:
    """Poll the ready file with growing pauses until it appears, the server dies, or time ends."""

    def is_ready() -> bool:
        return ready.exists() or process.poll() is not None

    if not _poll(is_ready, timeout_s) or process.poll() is not None:
        reason = "exited" if process.poll() is not None else f"was not ready after {timeout_s:g}s"
        raise SandboxError(
            f"the sandbox server {reason}; last lines of {log}:\n{_tail(log)}",
            "check that moto[server] is installed (pip install 'amazonei-setup[sandbox]')",
        )
    info = _info_from(json.loads(ready.read_text(encoding="utf-8")), running=True)
    if info.pid != process.pid or not _answers(info.endpoint, info.pid):
        raise SandboxError(
            f"the sandbox server wrote {ready} but does not answer at {info.endpoint}",
            f"see {log}",
        )
    return info


def _poll(done: Callable[[], bool], timeout_s: float) -> bool:
    """Bounded backoff: 20 ms, growing to 0.5 s, never past the deadline."""
    deadline = time.monotonic() + timeout_s
    pause = _FIRST_POLL_S
    while not done():
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(pause, left))
        pause = min(pause * 1.5, _MAX_POLL_S)
    return True


def _tail(log: Path) -> str:
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return "(no log)"
    return "\n".join(lines[-_LOG_TAIL_LINES:]) or "(empty log)"


# --- health and identity ------------------------------------------------------------------


def throttle_counts(info: SandboxInfo, timeout_s: float = 2.0) -> dict[str, Any] | None:
    """What the running server's throttle let through and refused (see throttle.py), or None
    when it does not answer."""
    if urlsplit(info.endpoint).hostname not in _LOOPBACK_HOSTS:
        return None
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(info.endpoint + THROTTLE_PATH, timeout=timeout_s) as response:
            document = json.loads(response.read())
    except (OSError, ValueError, urllib.error.URLError):
        return None
    return document if isinstance(document, dict) else None


def _answers(endpoint: str, pid: int, timeout_s: float = 1.0) -> bool:
    """Whether our server with this pid answers at the (loopback) endpoint."""
    if urlsplit(endpoint).hostname not in _LOOPBACK_HOSTS:
        return False
    # No proxies: a proxy from the environment must never see, or answer for, the sandbox.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(endpoint + HEALTH_PATH, timeout=timeout_s) as response:
            document = json.loads(response.read())
    except (OSError, ValueError, urllib.error.URLError):
        return False
    return document.get("service") == SERVICE_ID and document.get("pid") == pid


def _is_alive(pid: int) -> bool:
    child = _children.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


def _is_our_server(pid: int) -> bool:
    """Whether `pid` is alive and runs the sandbox server (and not a process that reused it)."""
    return pid > 0 and _is_alive(pid) and SERVER_MODULE in _command_line(pid)


def _command_line(pid: int) -> str:
    proc = Path("/proc")
    if proc.is_dir():
        try:
            return (proc / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, UnicodeDecodeError):
            return ""
    try:  # no /proc (macOS)
        return subprocess.run(
            ["ps", "-p", str(pid), "-o", "command="], capture_output=True, text=True, check=False
        ).stdout
    except OSError:
        return ""


# --- stopping -----------------------------------------------------------------------------


def _terminate(pid: int, timeout_s: float) -> bool:
    """SIGTERM, then SIGKILL past half the timeout; False when `pid` was not our server."""
    if not _is_our_server(pid):
        _children.pop(pid, None)
        return False
    _signal(pid, signal.SIGTERM)
    if not _poll(lambda: not _is_alive(pid), timeout_s / 2):
        _signal(pid, signal.SIGKILL)
        if not _poll(lambda: not _is_alive(pid), timeout_s / 2):
            raise SandboxError(
                f"the sandbox server (pid {pid}) did not stop",
                f"kill it by hand: kill -9 {pid}",
            )
    _children.pop(pid, None)
    return True


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


def _kill_orphaned_instances(home: Path) -> int:
    """Kill the script of every simulated instance still recorded as running whose pid still
    runs in that instance's root (its working directory); returns how many were killed."""
    killed = 0
    for status_file in sorted((home / "sandbox" / "instances").glob("*/status.json")):
        try:
            document = json.loads(status_file.read_text(encoding="utf-8"))
            pid, root = int(document.get("pid") or 0), Path(document["root"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if document.get("state") != "running" or pid <= 0 or not _is_alive(pid):
            continue
        if _working_directory(pid) != root.resolve():
            continue  # not its script any more: the pid was reused
        process_tree.signal_tree(pid, signal.SIGKILL)  # and what left its session
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)  # it leads its own session: bash and its children
            killed += 1
    return killed


def _working_directory(pid: int) -> Path | None:
    try:
        return Path(os.readlink(f"/proc/{pid}/cwd")).resolve()
    except OSError:
        return None  # no /proc (macOS) or gone: never signal what cannot be identified
