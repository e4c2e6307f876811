"""Reversals and "why" from the ledger, by keyboard: select a line, Ctrl+R with a reason (or
the ledger's context menu), the pair linked in the ledger, Ctrl+I explains any line."""

from __future__ import annotations

from decimal import Decimal

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtWidgets import QApplication, QLabel, QMenu
from pytestqt.qtbot import QtBot

from bank_desktop.gui.main_window import MainWindow
from bank_desktop.gui.models.ledger import AMOUNT, DESCRIPTION, TYPE
from bank_desktop.gui.why_dialog import WhyDialog
from tests.gui.conftest import (
    CTRL,
    active_dialog,
    balance,
    focused,
    gone,
    money,
    open_account,
    press,
    type_text,
)


def cell(window: MainWindow, row: int, column: int) -> str:
    return str(window.ledger_model.index(row, column).data() or "")


def to_ledger_line(qtbot: QtBot, window: MainWindow, row: int) -> None:
    """From the accounts table, Tab into the ledger and walk to ``row`` with the arrows."""
    window.accounts_table.setFocus()
    focused(qtbot, "accountsTable")
    press(qtbot, Qt.Key.Key_Tab)
    focused(qtbot, "transactionsTable")
    press(qtbot, Qt.Key.Key_Home, CTRL)  # the first line
    for _ in range(row):
        press(qtbot, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: window.teller.selected_line() is not None)
    line = window.teller.selected_line()
    assert line is not None
    assert line.stream_position == row + 1


@pytest.mark.x11
def test_a_deposit_keyed_by_mistake_is_reversed_and_both_lines_are_linked(
    qtbot: QtBot, window: MainWindow
) -> None:
    account = open_account(qtbot, window, "cust-1", "100")
    money(qtbot, Qt.Key.Key_F2, "500", "Paycheck")
    qtbot.waitUntil(lambda: window.ledger_model.rowCount() == 2)

    to_ledger_line(qtbot, window, 1)
    press(qtbot, Qt.Key.Key_R, CTRL)
    form = active_dialog(qtbot)
    assert form.objectName() == "reversalForm"
    texts = " ".join(label.text() for label in form.findChildren(QLabel))
    assert "deposit of $500.00" in texts
    assert "Paycheck" in texts
    focused(qtbot, "reasonEdit")
    press(qtbot, Qt.Key.Key_Return)  # no reason: refused, nothing written
    error = form.findChild(QLabel, "formError")
    assert error is not None
    qtbot.waitUntil(lambda: "Reason" in error.text(), timeout=10_000)
    focused(qtbot, "reasonEdit")
    type_text(qtbot, "Keyed 500 instead of 50")
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: gone(form), timeout=10_000)

    qtbot.waitUntil(lambda: balance(window, account) == Decimal("100.00"))
    qtbot.waitUntil(lambda: window.ledger_model.rowCount() == 3)
    assert "Reversal of the deposit of $500.00" in window.statusBar().currentMessage()
    reversal_time = window.ledger_model.entry(2).occurred_at.astimezone()
    reversed_line = cell(window, 1, DESCRIPTION)  # (at 10:02, or on another day's date)
    assert reversed_line.startswith("Reversed by the reversal ")
    assert reversed_line.endswith(f"{reversal_time:%H:%M} · Paycheck")
    assert cell(window, 2, TYPE) == "Reversal"
    assert cell(window, 2, AMOUNT) == "-$500.00"
    deposit_time = window.ledger_model.entry(1).occurred_at.astimezone()
    reversal = cell(window, 2, DESCRIPTION)
    assert reversal.startswith("Reverses the deposit of $500.00 ")
    assert reversal.endswith(f"{deposit_time:%H:%M} · Keyed 500 instead of 50")
    struck = window.ledger_model.index(1, AMOUNT).data(Qt.ItemDataRole.FontRole)
    assert struck is not None
    assert struck.strikeOut()

    to_ledger_line(qtbot, window, 1)  # once only
    press(qtbot, Qt.Key.Key_R, CTRL)
    again = active_dialog(qtbot)
    focused(qtbot, "reasonEdit")
    type_text(qtbot, "Twice")
    press(qtbot, Qt.Key.Key_Return)
    error = again.findChild(QLabel, "formError")
    assert error is not None
    qtbot.waitUntil(lambda: "already reversed" in error.text(), timeout=10_000)
    press(qtbot, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: gone(again))


def test_why_explains_who_when_which_request_and_the_link(qtbot: QtBot, window: MainWindow) -> None:
    account = open_account(qtbot, window, "cust-1", "100")
    bank = window._context.bank
    deposit_balance = bank.deposit(account, "500", "Paycheck", command_id="till-7-0042")
    assert deposit_balance == Decimal("600.00")
    qtbot.waitUntil(lambda: window.ledger_model.rowCount() == 2)
    deposit = window.ledger_model.entry(1)
    bank.reverse(account, deposit.event_id, "Keyed twice", command_id="till-7-0043")
    qtbot.waitUntil(lambda: window.ledger_model.rowCount() == 3)

    to_ledger_line(qtbot, window, 2)
    press(qtbot, Qt.Key.Key_I, CTRL)
    dialog = active_dialog(qtbot)
    assert isinstance(dialog, WhyDialog)
    text = dialog.text()
    assert "Who: clerk-7" in text
    assert "Request: till-7-0043" in text
    assert "Reverses: deposit of $500.00" in text
    assert deposit.event_id in text
    press(qtbot, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: gone(dialog))

    to_ledger_line(qtbot, window, 1)
    press(qtbot, Qt.Key.Key_I, CTRL)
    dialog = active_dialog(qtbot)
    assert isinstance(dialog, WhyDialog)
    assert "Request: till-7-0042" in dialog.text()
    assert "Reversed by: reversal of $500.00" in dialog.text()
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: gone(dialog))


def test_the_ledgers_context_menu_offers_reverse_and_why(qtbot: QtBot, window: MainWindow) -> None:
    account = open_account(qtbot, window, "cust-1", "100")
    other = open_account(qtbot, window, "cust-2", "0")
    window._context.bank.transfer(account, other, "30", "Rent")
    assert window.select_account(account)
    qtbot.waitUntil(lambda: window.ledger_model.rowCount() == 2)
    to_ledger_line(qtbot, window, 1)

    chosen: list[str] = []

    def pick_reverse() -> None:
        menu = QApplication.activePopupWidget()
        assert isinstance(menu, QMenu)
        chosen.extend(action.text() for action in menu.actions())
        qtbot.keyClick(menu, Qt.Key.Key_Down)
        qtbot.keyClick(menu, Qt.Key.Key_Return)

    QTimer.singleShot(200, pick_reverse)
    # What the Menu key becomes (the X11 platform turns it into a keyboard context menu event
    # for the focused widget); the menu runs a nested loop until an item is chosen.
    table = window.ledger_table
    where = table.visualRect(table.currentIndex()).center()
    QApplication.sendEvent(
        table,
        QContextMenuEvent(
            QContextMenuEvent.Reason.Keyboard, where, table.viewport().mapToGlobal(where)
        ),
    )
    qtbot.waitUntil(lambda: bool(chosen))
    assert chosen == ["&Reverse line…", "&Why this line?"]
    form = active_dialog(qtbot)
    assert form.objectName() == "reversalForm"
    focused(qtbot, "reasonEdit")
    type_text(qtbot, "Wrong account")
    press(qtbot, Qt.Key.Key_Return)
    error = form.findChild(QLabel, "formError")
    assert error is not None
    qtbot.waitUntil(lambda: "part of transfer" in error.text(), timeout=10_000)
    assert balance(window, account) == Decimal("70.00")
