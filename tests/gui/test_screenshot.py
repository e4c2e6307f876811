"""A screenshot of the window with demo data, for review and for the README.

Always written to the test's temp folder; with ``BANK_DESKTOP_SCREENSHOT=path`` also there
(that is how docs/main-window.png is refreshed: look at it before committing). The store
sits where a clerk's embedded store does, under a stand-in home folder, so the status bar
shows what a clerk would see (``~/.local/share/…``), never a test's temporary path.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from bank_desktop.gui.main_window import ROOMY_SIZE, MainWindow

EMBEDDED = ".local/share/bank-desktop/bank.db"


@pytest.fixture
def store_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    home = tmp_path / "home"
    (home / EMBEDDED).parent.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    return f"sqlite://{home / EMBEDDED}"


def test_screenshot_with_demo_data(
    qtbot: QtBot, make_window: Callable[..., MainWindow], tmp_path: Path
) -> None:
    window = make_window(demo_events=3_000)
    window.resize(*ROOMY_SIZE)  # the first size on a full-HD desk
    qtbot.waitUntil(lambda: len(window.accounts_model.projection) == 300, timeout=20_000)
    assert window.store_label.text() == f"Store: sqlite://~/{EMBEDDED}"
    busiest = max(window.accounts_model.projection, key=lambda row: row.revision)
    assert window.select_account(busiest.account_id)
    qtbot.waitUntil(lambda: window.ledger_model.account_id == busiest.account_id)
    qtbot.waitUntil(lambda: window.ledger_model.rowCount() == busiest.revision)
    image = window.grab()
    path = tmp_path / "main-window.png"
    assert image.save(str(path))
    assert path.stat().st_size > 20_000  # a real picture, not an empty frame
    target = os.environ.get("BANK_DESKTOP_SCREENSHOT")
    if target:
        image.save(target)
