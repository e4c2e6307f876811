"""Shared fixtures: every test gets its own data directory, so nothing touches the real one."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_data_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    home = tmp_path_factory.mktemp("xdg")
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.delenv("BANK_DESKTOP_STORE_URL", raising=False)
    monkeypatch.delenv("BANK_DESKTOP_CLERK_ID", raising=False)
    # Qt reads XDG_CONFIG_HOME only for the first QSettings of the process: point every
    # QSettings of this test (the window's and the CLI's) at this test's folder explicitly.
    from PySide6.QtCore import QSettings

    QSettings.setPath(
        QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(home / "config")
    )
    return home
