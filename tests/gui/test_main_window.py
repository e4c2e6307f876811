"""A clerk's day by keyboard only: open, deposit, overdraft refused, withdraw, transfer, close."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QLineEdit
from pytestqt.qtbot import QtBot

from bank_desktop.application import BankService
from bank_desktop.eventstore import open_store
from bank_desktop.gui.main_window import MainWindow
from tests.gui.conftest import (
    CTRL,
    SHIFT,
    active_dialog,
    balance,
    focused,
    gone,
    money,
    open_account,
    press,
    replace_text,
    type_text,
)


@pytest.mark.x11
def test_a_clerks_day_by_keyboard(qtbot: QtBot, window: MainWindow) -> None:
    account = open_account(qtbot, window, "cust-123", "100")
    assert balance(window, account) == Decimal("100.00")

    money(qtbot, Qt.Key.Key_F2, "50", "Paycheck")  # waits for the form's answer
    qtbot.waitUntil(lambda: balance(window, account) == Decimal("150.00"))
    qtbot.waitUntil(lambda: window.ledger_model.rowCount() == 2)  # the new line, at once

    # An overdraft: refused inline, the dialog stays open with the input kept.
    money(qtbot, Qt.Key.Key_F3, "200")
    dialog = active_dialog(qtbot)
    error = dialog.findChild(QLabel, "formError")
    assert error is not None
    qtbot.waitUntil(lambda: "Insufficient funds" in error.text())
    assert error.text() == "Insufficient funds. Balance: $150.00, Requested: $200.00"
    amount_field = dialog.findChild(QLineEdit, "amountEdit")
    assert amount_field is not None
    assert amount_field.text() == "200"
    focused(qtbot, "amountEdit")
    replace_text(qtbot, "30")
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: balance(window, account) == Decimal("120.00"))
    qtbot.waitUntil(lambda: gone(dialog))

    other = open_account(qtbot, window, "cust-9", "0")
    assert window.select_account(account)
    qtbot.waitUntil(lambda: window.selected_account() == account)
    press(qtbot, Qt.Key.Key_F4)
    active_dialog(qtbot)
    focused(qtbot, "targetAccountEdit")
    type_text(qtbot, other)
    press(qtbot, Qt.Key.Key_Tab)
    focused(qtbot, "amountEdit")
    type_text(qtbot, "20")
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: balance(window, other) == Decimal("20.00"))
    assert balance(window, account) == Decimal("100.00")

    # Close the other account: empty it, then confirm the close.
    assert window.select_account(other)
    qtbot.waitUntil(lambda: window.ledger_model.account_id == other)
    money(qtbot, Qt.Key.Key_F3, "20")
    qtbot.waitUntil(lambda: balance(window, other) == Decimal("0.00"))
    press(qtbot, Qt.Key.Key_X, CTRL | SHIFT)
    confirm = active_dialog(qtbot)
    assert "Close" in confirm.windowTitle()
    focused(qtbot, "reasonEdit")
    type_text(qtbot, "Moved away")
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not window.accounts_model.projection.get(other).is_open)  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: not window.deposit_action.isEnabled())


def test_escape_cancels_and_writes_nothing(qtbot: QtBot, window: MainWindow) -> None:
    account = open_account(qtbot, window, "cust-1", "10")
    head = window._context.store.head_position()
    money_dialog_key = Qt.Key.Key_F2
    press(qtbot, money_dialog_key)
    dialog = active_dialog(qtbot)
    focused(qtbot, "amountEdit")
    type_text(qtbot, "5")
    press(qtbot, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: gone(dialog))
    assert window._context.store.head_position() == head
    assert balance(window, account) == Decimal("10.00")


def test_amounts_are_checked_as_typed(qtbot: QtBot, window: MainWindow) -> None:
    open_account(qtbot, window, "cust-1", "10")
    press(qtbot, Qt.Key.Key_F2)
    dialog = active_dialog(qtbot)
    field = focused(qtbot, "amountEdit")
    type_text(qtbot, "0.001")
    assert field.property("invalid") is True
    assert "2 decimal places" in field.toolTip()
    replace_text(qtbot, "1,234.56")
    assert field.property("invalid") is False
    press(qtbot, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: gone(dialog))


def test_a_double_enter_posts_once(qtbot: QtBot, window: MainWindow) -> None:
    account = open_account(qtbot, window, "cust-1", "10")
    press(qtbot, Qt.Key.Key_F2)
    dialog = active_dialog(qtbot)
    amount = focused(qtbot, "amountEdit")
    type_text(qtbot, "5")
    qtbot.keyClick(amount, Qt.Key.Key_Return)
    qtbot.keyClick(amount, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: gone(dialog))
    qtbot.waitUntil(lambda: balance(window, account) == Decimal("15.00"))
    deposits = [
        e for e in window._context.store.read_stream(account) if e.type == "money.deposited"
    ]
    assert len(deposits) == 1


def test_another_clerks_change_appears_live_and_is_highlighted(
    qtbot: QtBot, window: MainWindow, store_url: str
) -> None:
    account = open_account(qtbot, window, "cust-1", "10")
    other_store = open_store(store_url)
    try:
        BankService(other_store, clerk_id="clerk-9").deposit(account, "90")
    finally:
        other_store.close()
    qtbot.waitUntil(lambda: balance(window, account) == Decimal("100.00"), timeout=3_000)
    assert window.accounts_model.is_highlighted(account)
    qtbot.waitUntil(lambda: window.ledger_model.rowCount() == 2)
    assert window.ledger_model.entry(1).clerk_id == "clerk-9"


@pytest.mark.x11
def test_filter_by_keyboard(qtbot: QtBot, window: MainWindow) -> None:
    first = open_account(qtbot, window, "alice-1", "1")
    open_account(qtbot, window, "bob-2", "1")
    press(qtbot, Qt.Key.Key_F, CTRL)
    focused(qtbot, "accountFilter")
    type_text(qtbot, "ALICE")
    qtbot.waitUntil(lambda: window.accounts_proxy.rowCount() == 1)
    assert window.accounts_proxy.account_id_at(0) == first
    press(qtbot, Qt.Key.Key_A, CTRL)
    press(qtbot, Qt.Key.Key_Backspace)
    qtbot.waitUntil(lambda: window.accounts_proxy.rowCount() == 2)


@pytest.mark.x11
def test_f1_lists_every_shortcut(qtbot: QtBot, window: MainWindow) -> None:
    press(qtbot, Qt.Key.Key_F1)
    dialog = active_dialog(qtbot)
    assert dialog.objectName() == "shortcutHelp"
    texts = " ".join(label.text() for label in dialog.findChildren(QLabel))
    from PySide6.QtWidgets import QTableWidget

    table = dialog.findChild(QTableWidget)
    if table is not None:
        texts += " ".join(
            table.item(r, c).text()
            for r in range(table.rowCount())
            for c in range(table.columnCount())
            if table.item(r, c)
        )
    for shortcut in ("Ctrl+N", "F2", "F3", "F4", "Ctrl+Shift+X", "Ctrl+F", "F5", "F1"):
        assert shortcut in texts, shortcut
    press(qtbot, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: gone(dialog))


def test_every_action_has_a_menu_entry_a_toolbar_or_shortcut(window: MainWindow) -> None:
    menu_actions = {a for menu in window.menuBar().actions() for a in menu.menu().actions()}
    for action in window.shortcut_actions():
        assert action in menu_actions, action.text()
        assert not action.shortcut().isEmpty(), action.text()
        assert action.shortcut().toString() in action.toolTip()


def test_models_pass_the_model_tester(qtbot: QtBot, qtmodeltester, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    account = open_account(qtbot, window, "cust-1", "10")
    open_account(qtbot, window, "cust-2", "5")
    assert window.select_account(account)
    qtbot.waitUntil(lambda: window.ledger_model.account_id == account)
    qtmodeltester.check(window.accounts_model)
    qtmodeltester.check(window.accounts_proxy)
    qtmodeltester.check(window.ledger_model)
    window.accounts_proxy.sort(2, Qt.SortOrder.DescendingOrder)
    qtmodeltester.check(window.accounts_proxy)


def test_the_status_bar_shows_store_state_position_and_clerk(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    open_account(qtbot, window, "cust-1", "10")
    assert str(tmp_path / "bank.db") in window.store_label.text()
    assert window.connection_label.objectName() == "connectionStatus"
    assert window.connection_label.text() == "● live"
    # the form's request id is claimed first (request.claimed), then the account is opened
    qtbot.waitUntil(lambda: window.position_label.text() == "Events: 2")
    assert window.clerk_label.text() == "Clerk: clerk-7"


@pytest.mark.parametrize("events", [600])
def test_demo_data_fills_an_empty_store(
    qtbot: QtBot, make_window: Callable[..., MainWindow], events: int
) -> None:
    window = make_window(demo_events=events)
    qtbot.waitUntil(lambda: len(window.accounts_model.projection) == events // 10)
    assert window.accounts_proxy.rowCount() == events // 10


def test_transfer_target_completes_by_customer(qtbot: QtBot, window: MainWindow) -> None:
    source = open_account(qtbot, window, "alice", "50")
    target = open_account(qtbot, window, "bob-the-builder", "0")
    assert window.select_account(source)
    qtbot.waitUntil(lambda: window.selected_account() == source)
    press(qtbot, Qt.Key.Key_F4)
    active_dialog(qtbot)
    field = focused(qtbot, "targetAccountEdit")
    type_text(qtbot, "builder")
    completer = field.completer()  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: completer.popup().isVisible())
    qtbot.keyClick(completer.popup(), Qt.Key.Key_Down)
    qtbot.keyClick(completer.popup(), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: field.text().startswith(target))  # type: ignore[attr-defined]
    press(qtbot, Qt.Key.Key_Tab)
    focused(qtbot, "amountEdit")
    type_text(qtbot, "12.50")
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: balance(window, target) == Decimal("12.50"))


@pytest.mark.x11
def test_statement_export_by_keyboard(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    account = open_account(qtbot, window, "cust-1", "100")
    money(qtbot, Qt.Key.Key_F2, "23.45", "Interest")
    qtbot.waitUntil(lambda: balance(window, account) == Decimal("123.45"))
    press(qtbot, Qt.Key.Key_E, CTRL)
    dialog = active_dialog(qtbot)
    path_field = dialog.findChild(QLineEdit, "statementPathEdit")
    assert path_field is not None
    from PySide6.QtWidgets import QComboBox

    combo = dialog.findChild(QComboBox, "statementFormatCombo")
    assert combo is not None
    combo.setFocus()
    qtbot.waitUntil(combo.hasFocus)
    qtbot.keyClicks(combo, "CSV")
    target = tmp_path / "statement.csv"
    path_field.setFocus()
    qtbot.waitUntil(path_field.hasFocus)
    replace_text(qtbot, str(target))
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(target.exists, timeout=10_000)
    text = target.read_text(encoding="utf-8-sig")
    assert account in text
    assert "123.45" in text
    qtbot.waitUntil(lambda: gone(dialog))
