"""Bounded polling: every wait in the tool (instances, endpoints, reports) is this one loop,
with backoff, a deadline, and injectable sleep and clock (so tests never wait for real)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def poll(
    check: Callable[[], T | None],
    *,
    timeout_s: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    first_delay_s: float = 0.5,
    max_delay_s: float = 10,
    on_timeout: Callable[[], Exception] | None = None,
) -> T | None:
    """Call `check` until it returns something other than None, backing off between calls.

    At the deadline: raise `on_timeout()`, or return None when no exception was given.
    """
    deadline = clock() + timeout_s
    delay = first_delay_s
    while True:
        result = check()
        if result is not None:
            return result
        left = deadline - clock()
        if left <= 0:
            if on_timeout is not None:
                raise on_timeout()
            return None
        sleep(min(delay, left))
        delay = min(delay * 1.6, max_delay_s)
