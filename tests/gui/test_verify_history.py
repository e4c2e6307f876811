"""Help, Verify history, by keyboard: progress, then the report; the status bar warns while
the last verification found problems, also after a restart."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from bank_desktop.application import BankService
from bank_desktop.eventstore import open_store
from bank_desktop.gui.main_window import MainWindow
from bank_desktop.gui.verification import VerifyHistoryDialog
from tests.gui.conftest import CTRL, SHIFT, active_dialog, gone, open_account, press


def verify_by_keyboard(qtbot: QtBot) -> VerifyHistoryDialog:
    press(qtbot, Qt.Key.Key_V, CTRL | SHIFT)
    dialog = active_dialog(qtbot)
    assert isinstance(dialog, VerifyHistoryDialog)
    qtbot.waitUntil(lambda: dialog.done_report is not None, timeout=20_000)
    return dialog


def test_a_clean_history_by_keyboard(qtbot: QtBot, window: MainWindow) -> None:
    open_account(qtbot, window, "cust-1", "10")
    dialog = verify_by_keyboard(qtbot)
    assert dialog.status.text() == "No problems found."
    report = dialog.report.toPlainText()
    assert report.startswith("Verified 2 events up to position 2")
    assert "No problems found." in report
    assert dialog.progress.value() == dialog.progress.maximum()
    assert not window.verification_label.isVisible()
    press(qtbot, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: gone(dialog))


def test_the_action_is_in_the_help_menu_and_the_shortcut_help(window: MainWindow) -> None:
    help_menu = next(m.menu() for m in window.menuBar().actions() if m.text() == "&Help")
    assert window.verify_action in help_menu.actions()
    assert window.verify_action in window.shortcut_actions()
    assert window.verify_action.shortcut().toString() == "Ctrl+Shift+V"


def test_progress_arrives_from_the_worker(qtbot: QtBot, window: MainWindow) -> None:
    open_account(qtbot, window, "cust-1", "10")
    with qtbot.waitSignal(window.verification._relay.changed, timeout=20_000) as seen:
        dialog = window.verify_history()
    assert seen.args == [2, 2]
    qtbot.waitUntil(lambda: dialog.done_report is not None, timeout=20_000)
    press(qtbot, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: gone(dialog))


def test_problems_are_reported_and_the_status_bar_keeps_warning(
    qtbot: QtBot, make_window: Callable[..., MainWindow], store_url: str, tmp_path: Path
) -> None:
    store = open_store(store_url)
    try:
        bank = BankService(store, clerk_id="clerk-1")
        account = bank.open_account("cust-1", "100")
        bank.deposit(account, "50")
    finally:
        store.close()
    raw = sqlite3.connect(tmp_path / "bank.db")
    raw.execute("DROP TRIGGER events_refuse_update")
    raw.execute(
        "UPDATE events SET data = replace(data, '\"amount\":50.00', '\"amount\":500.00') "
        "WHERE type = 'money.deposited'"
    )
    raw.commit()
    raw.close()
    window = make_window()
    assert not window.verification_label.isVisible()
    dialog = verify_by_keyboard(qtbot)
    assert "problem(s) found" in dialog.status.text()
    report = dialog.report.toPlainText()
    assert f"problem: [chain] {account} @ 2" in report
    qtbot.waitUntil(window.verification_label.isVisible)
    assert "found 1 problem(s)" in window.verification_label.text()
    press(qtbot, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: gone(dialog))
    window.close()
    again = make_window()
    assert again.verification_label.isVisible()  # remembered across restarts
    assert "found 1 problem(s)" in again.verification_label.text()
