"""Simulated instances: the sandbox runs the real user data of what is launched through it.

When RunInstances succeeds, the server hands each new instance to `SimulatedInstances.launched`.
A worker (a small pool, never the request thread) then reads the instance's user data from moto's
EC2 backend, and runs it only when it carries a valid signature made with the state home's key
(`amazonei_setup.seats.userdata.sandbox_signing_key`); anything else is recorded as not run and
never executed (docs/DESIGN.md, "Sandbox safety").

A script that is ours runs as `bash <script>` in `<home>/sandbox/instances/<id>/root/`, with an
environment built from scratch (no credentials, `AWS_ENDPOINT_URL` = the sandbox), a loopback IMDS
emulator for that instance (imds.py) and simulated hardware (fake_tools.py). As on EC2, an instance
launched with an instance profile gets its role's own temporary credentials from that IMDS
(identities.py keeps them, so the server knows which instance signed a request); the agent inside
publishes its report to the sandbox's SSM with them, as it would on AWS.

Each instance's record is `<home>/sandbox/instances/<id>/status.json` (see `STATUS_FIELDS`); once
the instance is gone its folder is deleted, the record and logs kept in `<home>/sandbox/logs/`.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from amazonei_sandbox import fake_tools, process_tree
from amazonei_sandbox.identities import (
    REGISTRY,
    IdentityRegistry,
    InstanceIdentity,
    RoleLookup,
    deployment_tag,
    profile_role,
)
from amazonei_sandbox.imds import ImdsEmulator, iam_metadata, instance_metadata
from amazonei_sandbox.instance_logs import archive, archive_all, logs_dir
from amazonei_sandbox.launch_facts import INSTANCE_ID, LaunchFacts
from amazonei_sandbox.launch_facts import form_list as form_list  # re-exported
from amazonei_sandbox.launch_facts import instance_ids_in as instance_ids_in  # re-exported
from amazonei_sandbox.signed_script import NotOurs, our_script
from amazonei_setup.seats.userdata import sandbox_signing_key
from amazonei_setup.state.paths import private_dir, write_private, write_private_json

_log = logging.getLogger("amazonei_sandbox.instances")

STATUS_SCHEMA = 1
STATUS_FILE = "status.json"
# Every key of status.json. `state` is one of STATES; `ran` says whether the script was started.
STATUS_FIELDS = (
    "schema", "instance_id", "account_id", "region", "instance_type",
    "elastic_inference_accelerators", "state", "ran", "reason", "exit_code", "pid",
    "imds_endpoint", "tools", "queued_at", "started_at", "finished_at", "duration_s",
    "root", "script", "log", "output_log", "console",
)  # fmt: skip
STATES = ("queued", "running", "exited", "timed_out", "killed", "not_run")
FINAL_STATES = ("exited", "timed_out", "killed", "not_run")
DEFAULT_WORKERS = 4
DEFAULT_TIMEOUT_S = 1800.0  # a benchmark job runs for minutes; the server stops kill all
KILL_GRACE_S = 1.5  # SIGTERM, then SIGKILL to everything the script started
_WAIT_SLICE_S = 0.25  # how often a running script's worker looks for a stop request


# --- one simulated instance --------------------------------------------------------------


@dataclass
class _Instance:
    instance_id: str
    account_id: str
    region: str
    facts: LaunchFacts
    folder: Path
    status: dict[str, Any] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    stop_reason: str | None = None  # set when it must die: terminated, reset, sandbox stopping
    stop_requested: threading.Event = field(default_factory=threading.Event)
    future: concurrent.futures.Future[None] | None = None
    retire_when_done: bool = False  # terminated or reset while its worker still ran
    gone: bool = False  # its folder was archived: nothing is written there any more
    write_lock: threading.Lock = field(default_factory=threading.Lock)
    signalled: list[int] = field(default_factory=list)  # its processes, as each stop found them

    @property
    def root(self) -> Path:
        return self.folder / "root"

    def record(self, **changes: Any) -> None:
        with self.write_lock:
            self.status.update(changes)
            if not self.gone:  # an archived instance's folder must not come back
                write_private_json(self.folder / STATUS_FILE, self.status)

    def retire(self, logs: Path) -> None:
        """Its status and logs to `logs`, its folder deleted (instance_logs.py)."""
        with self.write_lock:
            self.gone = True
            archive(self.folder, logs)


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _signal_everything(process: subprocess.Popen[bytes], signum: int) -> list[int]:
    """Signal everything the script started, as terminating an instance ends it all: each of its
    descendants, in whatever session (process_tree.py), and its process group. Returns the
    descendants signalled."""
    tree = process_tree.signal_tree(process.pid, signum) if process.poll() is None else []
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)
    return tree


class SimulatedInstances:
    """Runs the signed user data of instances launched through the sandbox; see the module doc."""

    def __init__(
        self,
        home: Path,
        endpoint: str,
        *,
        workers: int = DEFAULT_WORKERS,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        signing_key: bytes | None = None,
        backend: Any = None,
        identities: IdentityRegistry | None = None,
        roles: RoleLookup | None = None,
    ):
        self.home = home
        self.endpoint = endpoint
        self.timeout_s = timeout_s
        self.folder = private_dir(home / "sandbox" / "instances")
        self.logs = logs_dir(home)
        self._key = signing_key if signing_key is not None else sandbox_signing_key(home)
        self._backend = backend  # (account, region, instance id) -> moto Instance; tests inject
        self.identities = identities if identities is not None else REGISTRY
        self._roles = roles or profile_role
        self._bash = shutil.which("bash") or "/bin/bash"
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="sandbox-instance"
        )
        self._lock = threading.Lock()
        self._instances: dict[str, _Instance] = {}
        self._futures: set[concurrent.futures.Future[None]] = set()
        self._closing = False

    # --- events from the middleware -------------------------------------------------------

    def launched(
        self, account_id: str, region: str, instance_ids: Iterable[str], facts: LaunchFacts
    ) -> None:
        """Queue each new instance; returns at once (the RunInstances answer must not wait)."""
        for instance_id in instance_ids:
            if not INSTANCE_ID.match(instance_id):
                continue
            folder = private_dir(self.folder / instance_id)
            instance = _Instance(instance_id, account_id, region, facts, folder)
            instance.record(**self._initial_status(instance))
            with self._lock:
                if self._closing:
                    instance.record(state="not_run", reason="the sandbox is stopping")
                    continue
                self._instances[instance_id] = instance
                instance.future = self._pool.submit(self._run_guarded, instance)
                self._futures.add(instance.future)
                instance.future.add_done_callback(self._futures.discard)

    def terminated(self, instance_ids: Iterable[str]) -> None:
        """TerminateInstances: a script still running on one of these is killed."""
        instance_ids = list(instance_ids)
        self.identities.forget(instance_ids)  # its role credentials stop working
        for instance_id in instance_ids:
            self._retire(instance_id, "the instance was terminated")

    def _retire(self, instance_id: str, reason: str) -> None:
        """Stop its script; its folder goes now, or once its worker is done with it."""
        if not INSTANCE_ID.match(instance_id):
            return
        with self._lock:
            instance = self._instances.get(instance_id)
            if instance is not None:
                instance.retire_when_done = True
        if instance is not None:
            self._stop(instance, reason)
        else:
            archive(self.folder / instance_id, self.logs)

    def reset(self) -> None:
        """moto was reset: its instances are gone, so their scripts and credentials too."""
        self.identities.clear()
        for folder in sorted(self.folder.iterdir()):
            self._retire(folder.name, "the sandbox was reset")

    def shutdown(self, wait_s: float = 3.0) -> None:
        """Kill every running script (and its children), then give the workers a moment to
        record it. Safe to call twice."""
        with self._lock:
            self._closing = True
            instances = list(self._instances.values())
            futures = list(self._futures)
        for instance in instances:
            self._stop(instance, "the sandbox stopped", signum=signal.SIGKILL)
        self._pool.shutdown(wait=False, cancel_futures=True)
        # A cancelled future never counts as done for wait(): leave those out.
        concurrent.futures.wait([f for f in futures if not f.cancelled()], timeout=wait_s)
        for instance in instances:
            if instance.future is not None and instance.future.cancelled():  # still queued
                reason = "the sandbox stopped before its user data ran"
                instance.record(state="not_run", reason=reason, finished_at=_now())
            elif instance.process is not None:  # a worker too slow to reap its script
                _signal_everything(instance.process, signal.SIGKILL)
            instance.retire(self.logs)
        archive_all(self.folder, self.logs)  # and those whose scripts had ended

    # --- the work -------------------------------------------------------------------------

    def _initial_status(self, instance: _Instance) -> dict[str, Any]:
        root = instance.root
        return {
            "schema": STATUS_SCHEMA,
            "instance_id": instance.instance_id,
            "account_id": instance.account_id,
            "region": instance.region,
            "instance_type": None,
            "elastic_inference_accelerators": list(instance.facts.eia_types),
            "state": "queued",
            "ran": False,
            "reason": None,
            "exit_code": None,
            "pid": None,
            "imds_endpoint": None,
            "tools": [],
            "queued_at": _now(),
            "started_at": None,
            "finished_at": None,
            "duration_s": None,
            "root": str(root),
            "script": str(root / "var/lib/cloud/instance/scripts/part-001"),
            "log": str(root / "var/log/amazonei-agent.log"),
            "output_log": str(root / "var/log/cloud-init-output.log"),
            "console": str(root / "dev/console"),
        }

    def _run_guarded(self, instance: _Instance) -> None:
        try:
            self._run(instance)
        except NotOurs as why:
            instance.record(state="not_run", ran=False, reason=str(why), finished_at=_now())
            _log.info("instance %s: user data not run: %s", instance.instance_id, why)
        except Exception as error:  # a broken instance must not take the server down
            _log.exception("instance %s: the simulation failed", instance.instance_id)
            ran = bool(instance.status.get("ran"))
            reason = f"the sandbox could not simulate it: {type(error).__name__}: {error}"
            instance.record(state="exited" if ran else "not_run", reason=reason, finished_at=_now())
        finally:
            with self._lock:
                self._instances.pop(instance.instance_id, None)
            if instance.retire_when_done:  # set under the lock, before the pop
                self.identities.forget([instance.instance_id])  # issued after it was gone
                instance.retire(self.logs)

    def _run(self, instance: _Instance) -> None:
        if instance.stop_reason:
            raise NotOurs(f"{instance.stop_reason} before its user data ran")
        moto_instance = self._moto_instance(instance)
        instance.record(instance_type=moto_instance.instance_type)
        script = our_script(moto_instance, self._key)
        root = private_dir(instance.root)
        eia = bool(instance.facts.eia_types)
        hardware = fake_tools.install(root, moto_instance.instance_type, eia=eia)
        for folder in ("var/log", "var/lib/cloud/instance/scripts"):
            (root / folder).mkdir(parents=True, exist_ok=True)
        script_path = Path(instance.status["script"])
        write_private(script_path, script)
        metadata, identity = instance_metadata(
            moto_instance,
            instance.instance_id,
            instance.account_id,
            instance.region,
            instance.facts.eia_types,
        )
        metadata.update(self._role_metadata(instance, moto_instance))
        instance.record(tools=list(hardware.tools))
        with ImdsEmulator(metadata, identity) as imds:
            self._execute(instance, script_path, self._environment(root, imds.endpoint, instance))

    def _role_metadata(self, instance: _Instance, moto_instance: Any) -> dict[str, str]:
        """The instance's role credentials in IMDS (issued and remembered), or nothing when it
        was launched without an instance profile holding a role, as on AWS."""
        role = self._roles(
            instance.account_id,
            instance.region,
            instance.instance_id,
            instance.facts.instance_profile,
        )
        if role is None:
            return {}
        role_name, profile_arn = role
        try:
            deployment = deployment_tag(moto_instance.get_tags())
        except Exception:
            deployment = None
        identity = InstanceIdentity(
            instance_id=instance.instance_id,
            role_name=role_name,
            region=instance.region,
            deployment=deployment,
            account_id=instance.account_id,
            instance_profile_arn=profile_arn,
        )
        credentials = self.identities.issue(identity)
        return iam_metadata(role_name, credentials.imds_document(), profile_arn)

    def _moto_instance(self, instance: _Instance) -> Any:
        try:
            if self._backend is not None:
                return self._backend(instance.account_id, instance.region, instance.instance_id)
            from moto.ec2.models import ec2_backends

            backend = ec2_backends[instance.account_id][instance.region]
            return backend.get_instance(instance.instance_id)
        except Exception as error:
            raise NotOurs(f"the sandbox cannot find the instance in EC2: {error}") from None

    def _environment(self, root: Path, imds_endpoint: str, instance: _Instance) -> dict[str, str]:
        """Built from scratch: nothing of the server's own environment reaches the script."""
        return {
            "PATH": f"{root / 'bin'}:/usr/bin:/bin",
            "HOME": str(root),
            "LANG": "C.UTF-8",
            "AMAZONEI_SETUP_ROOT": str(root),
            "AMAZONEI_AGENT_IMDS_ENDPOINT": imds_endpoint,
            "AMAZONEI_AGENT_DEV_DIR": str(root / "dev"),
            "AMAZONEI_AGENT_ROOT": str(root),
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_DEFAULT_REGION": instance.region,
            # boto3 and the AWS CLI find the role's credentials in IMDS, as on EC2.
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds_endpoint,
            "AWS_METADATA_SERVICE_TIMEOUT": "5",
            "AWS_METADATA_SERVICE_NUM_ATTEMPTS": "3",
        }

    def _execute(self, instance: _Instance, script: Path, env: dict[str, str]) -> None:
        output_log = Path(instance.status["output_log"])
        started = time.monotonic()
        with output_log.open("ab") as output:
            with self._lock:  # a stop decided before this point must not be missed
                if instance.stop_reason or self._closing:
                    why = instance.stop_reason or "the sandbox stopped"
                    raise NotOurs(f"{why} before its user data ran")
                instance.process = subprocess.Popen(
                    [self._bash, str(script)],
                    cwd=instance.root,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    close_fds=True,
                )
            process = instance.process
            try:
                instance.record(
                    state="running",
                    ran=True,
                    pid=process.pid,
                    imds_endpoint=env["AMAZONEI_AGENT_IMDS_ENDPOINT"],
                    started_at=_now(),
                )
                _log.info(
                    "instance %s: user data running (pid %d)", instance.instance_id, process.pid
                )
                state, reason = self._wait(instance, process, started)
            finally:
                _signal_everything(process, signal.SIGKILL)  # nothing it left behind outlives it
                process.wait()
                process_tree.kill_survivors(instance.signalled)  # what outlived its parent
        instance.record(
            state=state,
            reason=reason,
            exit_code=process.returncode,
            pid=None,
            imds_endpoint=None,
            finished_at=_now(),
            duration_s=round(time.monotonic() - started, 3),
        )
        _log.info(
            "instance %s: %s (exit code %s) after %.1fs",
            instance.instance_id,
            state,
            process.returncode,
            time.monotonic() - started,
        )

    def _wait(
        self, instance: _Instance, process: subprocess.Popen[bytes], started: float
    ) -> tuple[str, str | None]:
        deadline = started + self.timeout_s
        while True:
            if instance.stop_requested.is_set():
                self._end(instance, process)
                return "killed", f"{instance.stop_reason} while its user data ran"
            left = deadline - time.monotonic()
            if left <= 0:
                self._end(instance, process)
                return "timed_out", f"the user data ran past {self.timeout_s:g}s and was killed"
            try:
                code = process.wait(timeout=min(left, _WAIT_SLICE_S))
            except subprocess.TimeoutExpired:
                continue
            if instance.stop_requested.is_set():
                return "killed", f"{instance.stop_reason} while its user data ran"
            return "exited", None if code == 0 else f"the user data exited with code {code}"

    @staticmethod
    def _end(instance: _Instance, process: subprocess.Popen[bytes]) -> None:
        instance.signalled.extend(_signal_everything(process, signal.SIGTERM))
        try:
            process.wait(timeout=KILL_GRACE_S)
        except subprocess.TimeoutExpired:
            _signal_everything(process, signal.SIGKILL)
            process.wait()

    def _stop(self, instance: _Instance, reason: str, signum: int = signal.SIGTERM) -> None:
        with self._lock:
            if instance.stop_reason is None:
                instance.stop_reason = reason
            process = instance.process
        instance.stop_requested.set()
        if process is not None and process.poll() is None:
            instance.signalled.extend(_signal_everything(process, signum))
