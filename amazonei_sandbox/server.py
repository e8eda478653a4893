"""The sandbox's background process: moto on 127.0.0.1, each region seeded on first use.

Run as `python -m amazonei_sandbox.server --port 0 --ready-file PATH [--home HOME]
[--throttle BURST:RATE]`. Once it listens it writes PATH (0600, atomically) as `{"pid", "port",
"endpoint", "throttle"}`; it exits on SIGTERM or SIGINT. With `--home`, instances launched through
it run their (signed) user data as simulated instances (instances.py); those still running are
killed when the server stops. With `--throttle` (or AMAZONEI_SANDBOX_THROTTLE), API calls are
rate-limited as AWS does it (throttle.py). Only requests signed with the home's sandbox
credentials (credentials.py) or a simulated instance's role credentials reach moto, and CORS is
off (auth.py): other local users and web pages get AWS's authentication errors.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from amazonei_sandbox.control import HEALTH_PATH, SERVICE_ID, THROTTLE_PATH
from amazonei_sandbox.form import credential_scope, credential_service, read_form
from amazonei_sandbox.process_caches import (
    cache_fixed_ec2_answers,
    cache_moto_method_lists,
    share_botocore_event_work,
    share_botocore_loader,
)
from amazonei_setup.state.paths import write_private_json

if TYPE_CHECKING:
    from amazonei_sandbox.instances import SimulatedInstances
    from amazonei_sandbox.throttle import ThrottleSetting

LOOPBACK = "127.0.0.1"
# moto's state is many small long-lived objects; at Python's default (700, 10, 10) every
# older-generation collection walks all of them again. Cyclic garbage is still freed, later.
GC_THRESHOLDS = (20_000, 50, 1_000)
_log = logging.getLogger("amazonei_sandbox.server")
# moto reads these once, when it is imported: bad AMI ids, key names and instance types must
# fail as they do on AWS instead of being accepted silently.
VALIDATION_FLAGS = (
    "MOTO_ENABLE_AMI_VALIDATION",
    "MOTO_ENABLE_KEYPAIR_VALIDATION",
    "MOTO_EC2_ENABLE_INSTANCE_TYPE_VALIDATION",
)
_WATCHED_ACTIONS = ("RunInstances", "TerminateInstances")

Seeder = Callable[[str, str], None]
StartResponse = Callable[..., Any]


class SeedingMiddleware:
    """Seeds each (account, region) once, before moto sees its first request.

    Also answers HEALTH_PATH with this process's pid, so a client can tell our server from
    whatever else might hold the port, and forgets what it seeded when moto is reset.
    With `instances`, it tells them of every successful RunInstances (the new ids and what moto
    does not keep, such as the Elastic Inference accelerators asked for) and TerminateInstances.
    """

    def __init__(
        self,
        app: Callable[..., Iterable[bytes]],
        seed: Seeder | None = None,
        instances: SimulatedInstances | None = None,
    ):
        self.app = app
        self._seed = seed
        self._seeded: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self.instances = instances

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == HEALTH_PATH:
            return self._health(start_response)
        if path.startswith("/moto-api/reset"):
            return self._reset(environ, start_response)
        authorization = environ.get("HTTP_AUTHORIZATION", "")
        scope = credential_scope(authorization)
        if not scope:
            return self.app(environ, start_response)
        _instance_account(environ, access_key=scope[0])
        account_id = _account_id(environ, access_key=scope[0])
        self.ensure_seeded(account_id, scope[1])
        if credential_service(authorization) == "pricing":  # moto has no Pricing service
            return _price_list(environ, start_response)
        if self.instances is None or credential_service(authorization) != "ec2":
            return self.app(environ, start_response)
        form = read_form(environ)
        action = (form.get("Action") or [""])[0]
        if action not in _WATCHED_ACTIONS:
            return self.app(environ, start_response)
        return self._watched(environ, start_response, form, account_id, scope[1])

    def _watched(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        form: dict[str, list[str]],
        account_id: str,
        region: str,
    ) -> Iterable[bytes]:
        """Let moto answer, then tell the simulated instances (never failing the request)."""
        from amazonei_sandbox.instances import LaunchFacts, form_list, instance_ids_in

        answered: list[str] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            answered.append(status)
            if exc_info is not None:
                return start_response(status, headers, exc_info)
            return start_response(status, headers)

        result = self.app(environ, capture)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        if not answered or not answered[0].startswith("200") or self.instances is None:
            return [body]
        try:
            if form["Action"][0] == "RunInstances":
                launched = instance_ids_in(body)
                facts = LaunchFacts.from_form(form)
                self.instances.launched(account_id, region, launched, facts)
            else:
                self.instances.terminated(form_list(form, "InstanceId"))
        except Exception:
            _log.exception("could not hand %s to the simulated instances", form["Action"][0])
        return [body]

    def ensure_seeded(self, account_id: str, region: str) -> None:
        if (account_id, region) in self._seeded:
            return
        with self._lock:
            if (account_id, region) in self._seeded:
                return
            started = time.monotonic()
            try:
                self._seeder()(region, account_id)
            except Exception:
                # A region moto does not know: let moto answer the request as it would.
                _log.exception("could not seed %s of account %s", region, account_id)
                return
            self._seeded.add((account_id, region))
            elapsed = time.monotonic() - started
            _log.info("seeded %s of account %s in %.2fs", region, account_id, elapsed)

    def _seeder(self) -> Seeder:
        if self._seed is None:
            # Imported on first use: it loads moto's EC2 models (about a second).
            from amazonei_sandbox.seed import seed_region

            self._seed = seed_region
        return self._seed

    def _reset(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if self.instances is not None:
            self.instances.reset()
        with self._lock:
            result = self.app(environ, start_response)
            self._seeded.clear()
        return result

    @staticmethod
    def _health(start_response: StartResponse) -> Iterable[bytes]:
        body = json.dumps({"service": SERVICE_ID, "pid": os.getpid()}).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]


def _price_list(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    from amazonei_sandbox.price_list import answer

    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    status, document = answer(environ.get("HTTP_X_AMZ_TARGET", ""), body)
    start_response(
        f"{status} {'OK' if status == 200 else 'Bad Request'}",
        [("Content-Type", "application/x-amz-json-1.1")],
    )
    return [json.dumps(document).encode()]


def _instance_account(environ: dict[str, Any], access_key: str) -> None:
    """A simulated instance's role credentials act in the instance's own account (a stack set
    member's, say), as STS's do on AWS: moto would serve them from its default account."""
    from amazonei_sandbox.identities import identity_of

    identity = identity_of(access_key)
    if identity is not None:  # whatever account header the instance sent
        environ["HTTP_X_MOTO_ACCOUNT_ID"] = identity.account_id


def _account_id(environ: dict[str, Any], access_key: str) -> str:
    """The account moto will serve the request from (same precedence as moto's own)."""
    if os.environ.get("MOTO_ACCOUNT_ID"):
        return os.environ["MOTO_ACCOUNT_ID"]
    if environ.get("HTTP_X_MOTO_ACCOUNT_ID"):
        return str(environ["HTTP_X_MOTO_ACCOUNT_ID"])
    from moto.iam.models import get_account_id_from

    return get_account_id_from(access_key)


def moto_app() -> Callable[..., Iterable[bytes]]:
    """moto's WSGI app for every service, with validation on (moto is imported here, not above)."""
    if "moto" in sys.modules:
        raise RuntimeError("moto was imported before its validation flags could be set")
    for flag in VALIDATION_FLAGS:
        os.environ[flag] = "true"
    os.environ["MOTO_DISABLE_GLOBAL_CORS"] = "true"  # no web page may call the sandbox
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    return DomainDispatcherApplication(create_backend_app)


def _warm_up() -> None:
    """Load moto's EC2 models in the background so the first request waits less; then take
    what is loaded out of the garbage collector's walk (it lives as long as the server)."""
    import amazonei_sandbox.seed  # noqa: F401

    gc.freeze()


def serve(
    port: int,
    ready_file: Path | None,
    home: Path | None = None,
    throttle: ThrottleSetting | None = None,
) -> None:
    """Serve on 127.0.0.1 until SIGTERM/SIGINT; write `ready_file` once listening. With `home`,
    run the signed user data of launched instances (see instances.py); with `throttle`,
    refuse API calls beyond its rates (see throttle.py)."""
    from werkzeug.serving import WSGIRequestHandler, make_server

    from amazonei_sandbox.auth import AuthMiddleware
    from amazonei_sandbox.credentials import new_sandbox_credentials, sandbox_credentials
    from amazonei_sandbox.identities import REGISTRY
    from amazonei_sandbox.throttle import Throttle, ThrottleMiddleware

    class QuietHandler(WSGIRequestHandler):
        """No line per request in server.log; errors are still logged."""

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            return None

    app = SeedingMiddleware(moto_app())
    cache_moto_method_lists()
    cache_fixed_ec2_answers()
    limits = Throttle(throttle) if throttle is not None else None
    throttled = ThrottleMiddleware(app, limits, THROTTLE_PATH)  # refused calls reach nothing else
    # Without a home nobody holds the credentials: only the health and throttle paths answer.
    owner = sandbox_credentials(home) if home is not None else new_sandbox_credentials()
    outer = AuthMiddleware(throttled, owner, REGISTRY, open_paths=(HEALTH_PATH, THROTTLE_PATH))
    server = make_server(LOOPBACK, port, outer, threaded=True, request_handler=QuietHandler)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    actual_port = server.server_address[1]
    endpoint = f"http://{LOOPBACK}:{actual_port}"
    if home is not None:
        from amazonei_sandbox.instances import SimulatedInstances

        app.instances = simulated = SimulatedInstances(home, endpoint)
        from amazonei_sandbox import cfn_models
        from amazonei_sandbox.launch_facts import LaunchFacts

        cfn_models.watch(  # a stack's instances run their user data like RunInstances' do
            lambda account, region, instance_id, eias, profile: simulated.launched(
                account,
                region,
                [instance_id],
                LaunchFacts(eia_types=eias, instance_profile=profile),
            ),
            simulated.terminated,
        )
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="sandbox-http", daemon=True
    )
    thread.start()
    threading.Thread(target=_warm_up, name="sandbox-warm-up", daemon=True).start()
    document = {
        "pid": os.getpid(),
        "port": actual_port,
        "endpoint": endpoint,
        "throttle": str(throttle) if throttle is not None else None,
    }
    try:
        if ready_file is not None:
            write_private_json(ready_file, document)
        stop.wait()
    finally:
        if app.instances is not None:  # first: their scripts are our children
            app.instances.shutdown()
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
        if ready_file is not None:
            ready_file.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m amazonei_sandbox.server")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--ready-file", type=Path, help="JSON {pid, port, endpoint} once ready")
    parser.add_argument("--home", type=Path, help="state home: run launched instances' user data")
    parser.add_argument(
        "--throttle",
        metavar="BURST:RATE",
        help="rate-limit API calls like AWS (default: $AMAZONEI_SANDBOX_THROTTLE, else off)",
    )
    args = parser.parse_args(argv)
    from amazonei_sandbox.throttle import ENV_VAR, parse_setting
    from amazonei_setup.errors import InputError

    try:
        if args.throttle is not None:
            throttle = parse_setting(args.throttle)
        else:
            throttle = parse_setting(os.environ.get(ENV_VAR), source=ENV_VAR)
    except InputError as error:
        parser.error(f"{error.message}; {error.hint}")
    gc.set_threshold(*GC_THRESHOLDS)
    share_botocore_loader()
    share_botocore_event_work()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if throttle is not None:
        _log.info("throttling API calls at %s (BURST:RATE)", throttle)
    serve(args.port, args.ready_file, args.home, throttle)
    return 0


if __name__ == "__main__":
    status = main()
    # The socket is closed and the ready file gone; skip tearing down moto's large in-memory
    # state object by object, which takes longer than everything else in `sandbox stop`.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
