"""Every process a simulated instance started, whatever session it put itself in.

Terminating an EC2 instance ends everything running on it. A signal to the script's process
group does not: a process that leads its own session (the agent's benchmark and framework
workers do, so that a hung one can be killed with its children) escapes it, and a terminated
candidate's measurement then ran on for its whole duration, a core's worth of this machine's CPU.
So the sandbox finds the script's descendants through their parents, stops them all first (a
tree that is still forking gives no stable list), and only then delivers the signal.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path

_PROC = Path("/proc")
_FREEZE_ROUNDS = 20  # a tree forking faster than this many rounds can stop it is not a script's


def _parents() -> dict[int, int]:
    """pid → parent pid of every process this user can see (Linux /proc, else `ps`)."""
    if (_PROC / "self" / "stat").exists():
        parents = {}
        for entry in _PROC.iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = (entry / "stat").read_text()
                # "pid (comm) state ppid ...": comm may hold spaces and parentheses
                parents[int(entry.name)] = int(stat[stat.rindex(")") + 2 :].split()[1])
        return parents
    listing = subprocess.run(
        ["ps", "-A", "-o", "pid=", "-o", "ppid="], capture_output=True, text=True, check=False
    ).stdout
    pairs = (line.split() for line in listing.splitlines())
    return {int(pair[0]): int(pair[1]) for pair in pairs if len(pair) == 2}


def descendants(root: int) -> list[int]:
    """The processes below `root`, parents before their children."""
    children: dict[int, list[int]] = {}
    for pid, parent in _parents().items():
        children.setdefault(parent, []).append(pid)
    found, queue = [], [root]
    while queue:
        for child in sorted(children.get(queue.pop(0), [])):
            found.append(child)
            queue.append(child)
    return found


def _send(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signum)


def signal_tree(root: int, signum: int) -> list[int]:
    """Deliver `signum` to `root` and every descendant; returns them, root first.

    Each is stopped (SIGSTOP) before the signal, round after round until no new one appears, so
    nothing forks past the list; a SIGTERM is then followed by SIGCONT, for it to be acted on."""
    stopped: list[int] = []
    for _ in range(_FREEZE_ROUNDS):
        new = [pid for pid in [root, *descendants(root)] if pid not in stopped]
        if not new:
            break
        for pid in new:
            _send(pid, signal.SIGSTOP)
        stopped += new
    for pid in stopped:
        _send(pid, signum)
    if signum != signal.SIGKILL:
        for pid in stopped:
            _send(pid, signal.SIGCONT)
    return stopped


def kill_survivors(pids: list[int]) -> None:
    """SIGKILL what a SIGTERM left alive: a child that outlived its parent's exit is no longer
    found through it, so the list taken before the SIGTERM is used."""
    for pid in pids:
        _send(pid, signal.SIGKILL)
