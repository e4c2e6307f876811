"""A store that cannot be opened never locks the clerk out; Settings says who is clerking."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit
from pytestqt.qtbot import QtBot

from bank_desktop.eventstore import open_store
from bank_desktop.gui.app import create_main_window
from bank_desktop.gui.main_window import MainWindow
from bank_desktop.gui.workers import running_count
from tests.gui.conftest import (
    CTRL,
    active_dialog,
    balance,
    focused,
    gone,
    money,
    open_account,
    press,
    replace_text,
)


def show(qtbot: QtBot, window: MainWindow) -> None:
    qtbot.addWidget(window)
    with qtbot.waitActive(window):
        window.show()
        window.activateWindow()


def close(qtbot: QtBot, window: MainWindow) -> None:
    window.close()
    qtbot.waitUntil(lambda: running_count() == 0, timeout=10_000)


def test_an_unusable_store_opens_the_window_offline_with_settings(
    qtbot: QtBot, tmp_path: Path
) -> None:
    window = create_main_window(
        "ftp://bank.example/events", clerk_id="clerk-7", data_dir=tmp_path, offline_ok=True
    )
    show(qtbot, window)
    status = window.connection_label
    qtbot.waitUntil(lambda: status.text().startswith("offline"), timeout=5_000)
    assert "Unsupported store URL" in status.text()
    assert "Settings" in window.statusBar().currentMessage()
    assert not window.deposit_action.isEnabled()

    press(qtbot, Qt.Key.Key_Comma, CTRL)  # File, Settings…
    dialog = active_dialog(qtbot)
    assert dialog.objectName() == "settingsDialog"
    press(qtbot, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: gone(dialog))
    close(qtbot, window)


def test_the_store_is_tried_again_until_it_opens(qtbot: QtBot, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the store's folder should be")
    url = f"sqlite://{blocker / 'bank.db'}"
    window = create_main_window(url, clerk_id="clerk-7", data_dir=tmp_path / "d", offline_ok=True)
    show(qtbot, window)
    qtbot.waitUntil(lambda: window.connection_label.text().startswith("offline"), timeout=5_000)

    blocker.unlink()  # IT fixes the folder: the window opens the store by itself
    blocker.mkdir()
    qtbot.waitUntil(lambda: window.connection_label.text() == "● live", timeout=15_000)
    account = open_account(qtbot, window, "cust-1", "10")
    assert balance(window, account) == Decimal("10.00")
    close(qtbot, window)


def test_settings_show_the_clerk_in_effect_and_a_change_applies_at_once(
    qtbot: QtBot, window: MainWindow, store_url: str
) -> None:
    account = open_account(qtbot, window, "cust-1", "10")
    press(qtbot, Qt.Key.Key_Comma, CTRL)
    dialog = active_dialog(qtbot)
    clerk = dialog.findChild(QLineEdit, "clerkIdEdit")
    assert clerk is not None
    assert clerk.text() == "clerk-7"  # nothing saved: the clerk the window records
    clerk.setFocus()
    focused(qtbot, "clerkIdEdit")
    replace_text(qtbot, "clerk-8")
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: gone(dialog))

    assert window.clerk_label.text() == "Clerk: clerk-8"
    assert "clerk-8" in window.windowTitle()
    money(qtbot, Qt.Key.Key_F2, "5")
    qtbot.waitUntil(lambda: balance(window, account) == Decimal("15.00"))
    store = open_store(store_url)
    try:
        last = store.read_stream(account)[-1]
    finally:
        store.close()
    assert last.metadata["clerkId"] == "clerk-8"
