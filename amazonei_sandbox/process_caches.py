"""What botocore and moto recompute again and again that one sandbox process can compute once.

botocore parses its bundled JSON (the endpoint rules, each service's model: EC2's alone takes
about 0.3 s) again for every new session, and moto makes sessions as it builds its backends
(each asks boto3 for its service's regions) and while it answers. moto also lists its response
classes' methods on every request, and serializes its fixed instance-type data (a filtered
DescribeInstanceTypes answer is a few hundred entries of XML) for every caller that asks. All of
it is read-only, so the server, and each test process, keeps one copy. Measured in
docs/DESIGN.md ("Sandbox start-up").
"""

from __future__ import annotations

import functools
import inspect
import os
import threading
import types
from typing import Any

import botocore.hooks
import botocore.loaders
import botocore.session


class _SearchPaths(list[str]):
    """A loader's search paths that stay unique: boto3 appends its own on every new session."""

    def append(self, path: str) -> None:
        if path not in self:
            super().append(path)

    def extend(self, paths: Any) -> None:
        for path in paths:
            self.append(path)


_LOADERS: dict[str | None, botocore.loaders.Loader] = {}
_LOADERS_LOCK = threading.Lock()


def _shared_loader(search_path_string: str | None = None) -> botocore.loaders.Loader:
    with _LOADERS_LOCK:
        if search_path_string not in _LOADERS:
            paths = _SearchPaths()
            if search_path_string:
                paths.extend(os.path.expanduser(p) for p in search_path_string.split(os.pathsep))
            _LOADERS[search_path_string] = botocore.loaders.Loader(extra_search_paths=paths)
        return _LOADERS[search_path_string]


def share_botocore_loader() -> None:
    """Every botocore session of this process reads its data through one loader (one per
    data search path), which caches what it has parsed."""
    botocore.session.create_loader = _shared_loader


_ALIASED_NAMES: dict[str, str] = {}  # event name -> botocore's name for it, default aliases


def share_botocore_event_work() -> None:
    """What every new botocore session and client redoes for its event handlers, done once.

    Each session registers ~150 built-in handlers and each client copies them: botocore checks
    every handler's signature for **kwargs (inspect, per registration) and rewrites every event
    name through its alias table (a cache per emitter, so cold in each new one). Both answers
    depend only on the function and on the name: a session plus four clients took 11 ms, a
    third of it in these two."""
    if getattr(botocore.hooks.EventAliaser.__init__, "shares_names", False):
        return
    default_aliases = dict(botocore.hooks.EVENT_ALIASES)
    original_init = botocore.hooks.EventAliaser.__init__

    def init(self: Any, event_emitter: Any, event_aliases: Any = None) -> None:
        original_init(self, event_emitter, event_aliases)
        if self._event_aliases == default_aliases:  # the same table: the same answers
            self._alias_name_cache = _ALIASED_NAMES

    init.shares_names = True  # type: ignore[attr-defined]
    botocore.hooks.EventAliaser.__init__ = init
    botocore.hooks.accepts_kwargs = _accepts_kwargs


def _accepts_kwargs(func: Any) -> bool:
    """botocore.compat.accepts_kwargs without inspect for a plain function or bound method:
    whether it takes **kwargs is a flag of its code. Anything else is inspected as before."""
    function = func.__func__ if isinstance(func, types.MethodType) else func
    if isinstance(function, types.FunctionType) and not hasattr(function, "__signature__"):
        return bool(function.__code__.co_flags & inspect.CO_VARKEYWORDS)
    return bool(inspect.getfullargspec(func)[2])


def cache_moto_method_lists() -> None:
    """moto looks up its response class's methods on every request; classes do not change."""
    import moto.core.responses

    if not hasattr(moto.core.responses.method_names_from_class, "cache_info"):
        moto.core.responses.method_names_from_class = functools.cache(
            moto.core.responses.method_names_from_class
        )


# EC2 answers made only of moto's fixed data: the instance types (mended once, before the first
# request, by instance_type_facts.py) and the zones that offer them. Nothing changes either.
_FIXED_EC2_ANSWERS = ("describe_instance_types", "describe_instance_type_offerings")
_MAX_ANSWERS = 512  # distinct questions; the tool asks a handful per region
_ANSWERS: dict[tuple[Any, ...], tuple[int, dict[str, Any], str]] = {}


def cache_fixed_ec2_answers() -> None:
    """Serialize each distinct DescribeInstanceTypes and DescribeInstanceTypeOfferings answer
    once per region: every new state home asks again, and moto rebuilds the same XML each time.
    An error (an unknown type) is never cached: it is raised again, as AWS would answer."""
    from moto.ec2.responses.instances import InstanceResponse

    for name in _FIXED_EC2_ANSWERS:
        method = getattr(InstanceResponse, name)
        if not getattr(method, "answers_once", False):
            setattr(InstanceResponse, name, _answered_once(method))


def _answered_once(method: Any) -> Any:
    @functools.wraps(method)
    def answer(self: Any) -> tuple[int, dict[str, Any], str]:
        question = tuple(sorted((k, tuple(v)) for k, v in self.querystring.items()))
        key = (method.__name__, self.current_account, self.region, question)
        found = _ANSWERS.get(key)
        if found is None:
            status, headers, body = self.serialized(method(self))
            found = (status, dict(headers), body)
            if len(_ANSWERS) < _MAX_ANSWERS:
                _ANSWERS[key] = found
        status, headers, body = found
        return status, dict(headers), body

    answer.answers_once = True  # type: ignore[attr-defined]
    return answer
