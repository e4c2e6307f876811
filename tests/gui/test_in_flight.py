"""A command the clerk submitted always reports its outcome, even after Esc or closing."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from bank_desktop.application import BankService
from bank_desktop.eventstore import open_store
from bank_desktop.gui.main_window import MainWindow
from bank_desktop.gui.workers import running_count
from tests.gui.conftest import active_dialog, focused, gone, press, type_text
from tests.gui.test_responsiveness import WatchedStore, watched_window

SLOW_APPEND = 0.5  #: seconds per append, as in the issue's reproduction


class SlowAppends(WatchedStore):
    """Only the calls named in ``slow_calls`` take ``delay`` seconds (on a worker thread); the
    live feed's reads stay quick."""

    slow_calls: frozenset[str] = frozenset({"append"})

    def _enter(self, name: str) -> None:
        delay, self.delay = self.delay, (self.delay if name in self.slow_calls else 0.0)
        try:
            super()._enter(name)
        finally:
            self.delay = delay


@pytest.fixture
def slow(qtbot: QtBot, tmp_path: Path) -> Iterator[tuple[MainWindow, SlowAppends]]:
    window, store = watched_window(qtbot, tmp_path, store_type=SlowAppends)
    qtbot.waitUntil(lambda: window.connection_label.text() == "● live", timeout=10_000)
    yield window, store
    store.delay = 0
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)
    qtbot.waitUntil(lambda: running_count() == 0, timeout=10_000)


def selected_account(qtbot: QtBot, window: MainWindow, store: SlowAppends) -> str:
    account = BankService(store.inner, clerk_id="clerk-9").open_account("cust-1", "10")
    qtbot.waitUntil(lambda: window.select_account(account))
    qtbot.waitUntil(lambda: window.ledger_model.account_id == account)
    window.accounts_table.setFocus()
    focused(qtbot, "accountsTable")
    return account


def submit_then_escape(qtbot: QtBot, key: Qt.Key, amount: str) -> None:
    press(qtbot, key)
    dialog = active_dialog(qtbot)
    focused(qtbot, "amountEdit")
    type_text(qtbot, amount)
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not dialog.submit_button.isEnabled())  # type: ignore[attr-defined]
    press(qtbot, Qt.Key.Key_Escape)  # while the append is still on its way
    qtbot.waitUntil(lambda: gone(dialog))


def balance_of(window: MainWindow, account: str) -> Decimal | None:
    row = window.accounts_model.projection.get(account)
    return row.balance if row else None


def test_escape_while_saving_still_announces_the_deposit(
    qtbot: QtBot, slow: tuple[MainWindow, SlowAppends]
) -> None:
    window, store = slow
    account = selected_account(qtbot, window, store)
    store.delay = SLOW_APPEND

    submit_then_escape(qtbot, Qt.Key.Key_F2, "5")

    message = window.statusBar().currentMessage
    qtbot.waitUntil(lambda: "saved" in message(), timeout=5_000)
    assert "Deposit of $5.00" in message()
    assert account in message()
    assert "$15.00" in message()
    qtbot.waitUntil(lambda: balance_of(window, account) == Decimal("15.00"))


def test_escape_while_saving_shows_a_refusal_where_the_clerk_sees_it(
    qtbot: QtBot, slow: tuple[MainWindow, SlowAppends]
) -> None:
    window, store = slow
    account = selected_account(qtbot, window, store)
    # Another desk empties the account; this clerk's withdrawal is refused after a slow read.
    BankService(store.inner, clerk_id="clerk-9").withdraw(account, "10")
    store.slow_calls = frozenset({"read_stream", "stream_position", "append"})
    store.delay = SLOW_APPEND
    submit_then_escape(qtbot, Qt.Key.Key_F3, "8")

    def notice() -> QMessageBox | None:
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, QMessageBox) and widget.isVisible():
                return widget
        return None

    qtbot.waitUntil(lambda: notice() is not None, timeout=5_000)
    box = notice()
    assert box is not None
    assert "Withdrawal of $8.00" in box.text()
    assert account in box.text()
    assert "not saved" in box.text()
    assert "Insufficient funds" in box.informativeText()
    box.close()


def test_closing_while_saving_waits_for_the_store_to_confirm(
    qtbot: QtBot, slow: tuple[MainWindow, SlowAppends]
) -> None:
    window, store = slow
    account = selected_account(qtbot, window, store)
    store.delay = SLOW_APPEND

    submit_then_escape(qtbot, Qt.Key.Key_F2, "5")
    window.close()  # Ctrl+Q or the title bar's close button
    assert window.isVisible()
    assert "Closing once the store confirms" in window.statusBar().currentMessage()
    assert f"Deposit of $5.00 into {account}" in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5_000)
    reopened = open_store(store.inner.url)  # the window closed its own
    try:
        deposits = [e for e in reopened.read_stream(account) if e.type == "money.deposited"]
    finally:
        reopened.close()
    assert len(deposits) == 1
