"""One dependency-graph executor for launch and teardown.

Launch runs the plan's resources in dependency order; teardown runs the same graph reversed.
Both get the same bound on steps in flight, the same progress hooks, and the same handling of a
failure or an interrupt: nothing new starts, what runs finishes, and the first error is raised.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Steps in flight at once: 20 seats launch in two waves. Far inside EC2's request buckets
# (RunInstances: 1000 instance tokens, refilled 2 per second); botocore's adaptive retry mode
# slows the whole client down when AWS answers RequestLimitExceeded all the same.
MAX_PARALLEL_STEPS = 10


class CycleError(ValueError):
    """The graph has a cycle: a registry bug, never the user's input."""


@dataclass(frozen=True)
class Node(Generic[T]):
    """One step: `key` names it, `after` names the steps that must finish first (names not in
    the graph are ignored: a reused or absent resource is not waited for)."""

    key: str
    item: T
    after: tuple[str, ...] = ()


def order(nodes: Iterable[Node[T]]) -> list[Node[T]]:
    """The nodes in an order that respects `after` (stable otherwise); raises on a cycle."""
    pending = {node.key: node for node in nodes}
    keys = set(pending)
    done: set[str] = set()
    ordered: list[Node[T]] = []
    while pending:
        ready = [n for n in pending.values() if all(d in done or d not in keys for d in n.after)]
        if not ready:
            raise CycleError("dependency cycle among " + ", ".join(sorted(pending)))
        for node in ready:
            del pending[node.key]
            done.add(node.key)
            ordered.append(node)
    return ordered


def run_graph(
    nodes: Iterable[Node[T]],
    step: Callable[[Node[T]], R],
    *,
    started: Callable[[Node[T]], None] = lambda node: None,
    finished: Callable[[Node[T], R], None] = lambda node, result: None,
    instant: Callable[[Node[T]], R | None] = lambda node: None,
    max_parallel: int = MAX_PARALLEL_STEPS,
) -> dict[str, R]:
    """Run every node once its `after` nodes finished, at most `max_parallel` at a time.

    `instant(node)` may answer without a thread (a reused resource); `started` and `finished`
    report progress. On a failure nothing new starts, the steps in flight finish (and are
    reported), then the first error is raised; on an interrupt nothing new starts and the
    interrupt propagates once the steps in flight end. Returns each node's result by key.
    """
    pending = {node.key: node for node in order(nodes)}
    keys = set(pending)
    done: dict[str, R] = {}
    failure: BaseException | None = None
    with ThreadPoolExecutor(max_workers=max_parallel, thread_name_prefix="step") as pool:
        running: dict[Future[R], Node[T]] = {}
        try:
            while running or (pending and failure is None):
                for node in _ready(pending, done, keys) if failure is None else []:
                    del pending[node.key]
                    answer = instant(node)
                    if answer is not None:
                        done[node.key] = answer
                        finished(node, answer)
                        continue
                    started(node)
                    running[pool.submit(step, node)] = node
                if not running:
                    continue  # an instant answer made more steps ready
                completed, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in completed:
                    node = running.pop(future)
                    error = future.exception()
                    if error is not None:
                        failure = failure or error  # the first; the others finish first
                        continue
                    done[node.key] = future.result()
                    finished(node, done[node.key])
        except BaseException:  # an interrupt: nothing new starts; the pool lets running end
            for future in running:
                future.cancel()
            raise
    if failure is not None:
        raise failure
    return done


def _ready(pending: dict[str, Node[T]], done: dict[str, R], keys: set[str]) -> list[Node[T]]:
    return [n for n in pending.values() if all(d in done or d not in keys for d in n.after)]
