"""The sandbox runs only on the moto release line it is tested with (it patches moto's
internals): any other refuses to start with exit 2, naming the versions and the install line."""

from __future__ import annotations

import pytest

from amazonei_sandbox import moto_version


def test_the_installed_moto_is_the_tested_line():
    assert moto_version.mismatch(moto_version.installed_moto()) is None


@pytest.mark.parametrize(
    ("version", "why"),
    [
        ("5.3.0", "moto 5.3.0 is installed; the sandbox is tested with moto 5.2.x only"),
        ("4.2.14", "moto 4.2.14 is installed; the sandbox is tested with moto 5.2.x only"),
        (None, "moto is not installed"),
    ],
)
def test_another_moto_is_refused_with_what_to_install(version, why):
    assert moto_version.mismatch(version) == why


def test_sandbox_start_with_another_moto_exits_2_and_starts_nothing(run_cli, monkeypatch):
    monkeypatch.setattr(moto_version, "installed_moto", lambda: "5.3.1")
    result = run_cli("sandbox", "start")
    assert result.code == 2
    assert "moto 5.3.1 is installed; the sandbox is tested with moto 5.2.x only" in result.err
    assert "pip install 'moto[server]>=5.2,<5.3'" in result.err
    assert "Traceback" not in result.err
    status = run_cli("--output", "json", "sandbox", "status")
    assert status.code == 0 and '"running": false' in status.out
