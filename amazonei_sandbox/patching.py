"""moto patches are process-wide: each is installed once, whichever thread (a server request,
a test's in-process mock) asks first, and later asks are free."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any


def once(install: Callable[..., None]) -> Callable[..., None]:
    """Run `install` the first time only; concurrent first callers wait for it to finish."""
    lock = threading.Lock()
    done: list[bool] = []

    @functools.wraps(install)
    def install_once(*args: Any, **kwargs: Any) -> None:
        with lock:
            if done:
                return
            install(*args, **kwargs)
            done.append(True)

    return install_once
