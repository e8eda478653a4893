"""Reading a YAML profile file: the document, and the line each key sits on (for error
locations). Input meant to hurt is refused within a second, naming what is wrong: a file that is
not a regular file (a FIFO, /dev/zero), one too large for a profile, an alias bomb, nesting too
deep, or a key given twice (YAML would silently keep the last)."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from amazonei_setup.errors import ProfileError, ProfileIssue

MAX_BYTES = 64 * 1024  # the largest template is under 1 KB
MAX_NODES = 10_000  # after aliases are expanded: far beyond any real profile
MAX_DEPTH = 32


@dataclass
class ProfileSource:
    """A profile document plus where each of its keys came from (for error locations)."""

    document: dict[str, Any]
    label: str = "profile"
    lines: dict[tuple[str, ...], int] = field(default_factory=dict)


class _Refused(Exception):
    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


def _walk(node: yaml.Node, prefix: tuple[str, ...], out: dict[tuple[str, ...], int]) -> int:
    """Record each key's line, refuse duplicate keys, and count nodes with aliases expanded
    (a shared node counts every time it is used, as loading would build it)."""
    budget = [MAX_NODES]

    def visit(node: yaml.Node, prefix: tuple[str, ...], depth: int) -> None:
        budget[0] -= 1
        if budget[0] < 0:
            raise _Refused(f"expands to more than {MAX_NODES} values (an alias bomb?)")
        if depth > MAX_DEPTH:
            raise _Refused(f"nests deeper than {MAX_DEPTH} levels", node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key_node, value_node in node.value:
                name = str(key_node.value)
                line = key_node.start_mark.line + 1
                if name in seen and depth >= 0:
                    where = ".".join((*prefix, name))
                    raise _Refused(
                        f"key '{where}' is given twice (lines {seen[name]} and {line}); keep one",
                        line,
                    )
                seen[name] = line
                out.setdefault((*prefix, name), line)
                visit(value_node, (*prefix, name), depth + 1)
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                visit(item, prefix, depth + 1)

    visit(node, prefix, 0)
    return MAX_NODES - budget[0]


def _load_walked(text: str, lines: dict[tuple[str, ...], int]) -> Any:
    """The document, parsed once: its nodes are walked (each key's line noted, nesting and
    aliases bounded) before they are made into Python values, which an alias bomb exhausts."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _walk(node, (), lines)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _read_bounded(path: Path) -> bytes:
    """The file's bytes, when it is a regular file no larger than a profile can be."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _Refused("is not a regular file (a device, FIFO or socket); give a YAML file")
        if info.st_size > MAX_BYTES:
            raise _Refused(f"is {info.st_size} bytes; a profile is at most {MAX_BYTES} bytes")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read(MAX_BYTES + 1)
    finally:
        os.close(fd)


def read_profile_file(path: str | Path) -> ProfileSource:
    """Parse a YAML profile; syntax, encoding, shape and abuse become ProfileErrors."""
    path = Path(path)
    label = str(path)

    def fail(message: str, line: int | None = None) -> ProfileError:
        return ProfileError([ProfileIssue(field="", message=message, source=label, line=line)])

    try:
        raw = _read_bounded(path)
    except FileNotFoundError:
        raise fail("file not found; check the path given to --profile-file") from None
    except IsADirectoryError:
        raise fail("is a directory, not a YAML profile") from None
    except _Refused as refused:
        raise fail(str(refused)) from None
    except OSError as exc:
        raise fail(f"cannot be read ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise fail(f"is not UTF-8 text (byte {exc.start}); a profile is a YAML file") from None
    if not text.strip():
        raise fail("is empty; a profile needs at least name, region and instance_type")
    lines: dict[tuple[str, ...], int] = {}
    try:
        document = _load_walked(text, lines)
    except _Refused as refused:
        raise fail(str(refused), refused.line) from None
    except RecursionError:
        raise fail(f"nests deeper than {MAX_DEPTH} levels") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise fail(f"is not valid YAML: {problem}", mark.line + 1 if mark else None) from None
    if not isinstance(document, dict):
        kind = type(document).__name__ if document is not None else "nothing"
        raise fail(f"must be a mapping of keys (name: ..., region: ...), not a {kind}", 1)
    return ProfileSource(document=document, label=label, lines=lines)
