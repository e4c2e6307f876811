"""Stored settings read without Qt: whatever the window's QSettings wrote reads back the same."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from bank_desktop.config import (
    APP_NAME,
    ORGANIZATION,
    StoredSettings,
    load_stored_settings,
    settings_file,
)


@pytest.mark.parametrize(
    "value",
    [
        "sqlite:///home/ada/bank.db",
        "postgresql://teller:p%25w,d;x=1@db.branch.local/bank?options=-csearch_path%3Dbank",
        'deltabase+https://:k"ey\\s@api.example.com/banking',
        "  padded clerk  ",
        "clérk-Ω-7",
        "@clerk",
        "tab\there",
    ],
)
def test_what_qsettings_wrote_reads_back_without_qt(value: str) -> None:
    written = QSettings(
        QSettings.Format.NativeFormat, QSettings.Scope.UserScope, ORGANIZATION, APP_NAME
    )
    written.setValue("store_url", value)
    written.setValue("clerk_id", value)
    written.setValue("window/geometry", b"\x00\x01binary")
    written.sync()

    assert Path(written.fileName()) == settings_file()
    assert load_stored_settings() == StoredSettings(value.strip(), value.strip())


def test_no_file_and_values_that_are_not_text_read_as_unset(tmp_path: Path) -> None:
    assert load_stored_settings(tmp_path / "none.conf") == StoredSettings()
    odd = tmp_path / "odd.conf"
    odd.write_text("[General]\nstore_url=a, b\nclerk_id=@Invalid()\n", encoding="utf-8")

    assert load_stored_settings(odd) == StoredSettings()


@pytest.mark.parametrize(
    "argv", [["--version"], ["--store", "memory://", "open", "--customer", "c-1"]]
)
def test_headless_commands_never_load_qt(argv: list[str]) -> None:
    probe = (
        "import sys\n"
        "from bank_desktop.cli import main\n"
        f"code = main({argv!r})\n"
        "assert 'PySide6' not in sys.modules, sorted(m for m in sys.modules if 'PySide' in m)\n"
        "raise SystemExit(code)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
