"""Stored settings read without Qt: whatever the window's QSettings wrote reads back the same;
the default clerk: the database login on PostgreSQL, the operating-system user elsewhere."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from bank_desktop.config import (
    APP_NAME,
    ENV_CLERK_ID,
    ORGANIZATION,
    StoredSettings,
    default_clerk_id,
    load_stored_settings,
    resolve_settings,
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


@pytest.mark.parametrize(
    ("url", "env", "expected"),
    [
        ("postgresql://alice@db.branch.local/bank", {}, "alice"),
        ("postgresql://alice:s%40cret@db.branch.local/bank", {}, "alice"),
        ("postgres://db.branch.local/bank?user=bob&sslmode=require", {}, "bob"),
        ("postgresql://alice@db/bank?user=carol", {}, "carol"),  # as libpq: the query wins
        ("postgresql://Al%C3%ADce@db/bank", {}, "Alíce"),
        ("postgresql://db.branch.local/bank", {"PGUSER": "dora"}, "dora"),
    ],
)
def test_on_postgresql_the_default_clerk_is_the_login(
    url: str, env: dict[str, str], expected: str
) -> None:
    assert resolve_settings(store_url=url, env=env).clerk_id == expected


def test_a_configured_clerk_beats_the_login_and_elsewhere_the_os_user_is_the_default() -> None:
    url = "postgresql://alice@db/bank"
    assert resolve_settings(store_url=url, clerk_id="teller-9", env={}).clerk_id == "teller-9"
    assert resolve_settings(store_url=url, env={ENV_CLERK_ID: "t-2"}).clerk_id == "t-2"
    assert resolve_settings(store_url=url, stored={"clerk_id": "t-3"}, env={}).clerk_id == "t-3"
    no_login = resolve_settings(store_url="postgresql://db/bank", env={}).clerk_id
    assert no_login == default_clerk_id()  # libpq's own fallback: the operating-system user
    assert resolve_settings(store_url="sqlite:///tmp/x.db", env={}).clerk_id == default_clerk_id()
    assert resolve_settings(store_url="memory://", env={"PGUSER": "x"}).clerk_id == (
        default_clerk_id()
    )
