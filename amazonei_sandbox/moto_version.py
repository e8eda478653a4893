"""The one moto release line the sandbox is tested with. The sandbox patches moto's internals
(its models and backends) to answer as AWS does, so another minor version may break it quietly:
it refuses to start instead, and says what to install."""

from __future__ import annotations

from importlib import metadata

from amazonei_setup.errors import InputError

TESTED = (5, 2)  # pyproject.toml pins moto[server]>=5.2,<5.3 to match


def installed_moto() -> str | None:
    try:
        return metadata.version("moto")
    except metadata.PackageNotFoundError:
        return None


def mismatch(version: str | None) -> str | None:
    """Why `version` of moto cannot serve the sandbox, or None when it can."""
    tested = ".".join(map(str, TESTED))
    if version is None:
        return "moto is not installed"
    parts = tuple(int(p) if p.isdigit() else -1 for p in version.split(".")[:2])
    if parts != TESTED:
        return f"moto {version} is installed; the sandbox is tested with moto {tested}.x only"
    return None


def require_tested_moto(version: str | None = None) -> None:
    problem = mismatch(installed_moto() if version is None else version)
    if problem:
        tested = ".".join(map(str, TESTED))
        raise InputError(
            problem,
            f"pip install 'moto[server]>={tested},<{TESTED[0]}.{TESTED[1] + 1}' "
            "(or reinstall: pip install 'amazonei-setup[sandbox]')",
        )
