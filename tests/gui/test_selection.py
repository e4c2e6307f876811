"""Actions only ever target an account the clerk can see selected, whatever the filter does."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from bank_desktop.application import BankService
from bank_desktop.gui.main_window import MainWindow
from tests.gui.conftest import CTRL, active_dialog, focused, gone, press, type_text


def listed(qtbot: QtBot, window: MainWindow, bank: BankService, customer: str) -> str:
    account = bank.open_account(customer, "10")
    qtbot.waitUntil(lambda: window.accounts_proxy.row_of(account) is not None)
    return account


def visibly_selected(window: MainWindow) -> list[str]:
    rows = window.accounts_table.selectionModel().selectedRows()
    return [window.accounts_proxy.account_id_at(index.row()) or "" for index in rows]


def test_a_filter_that_hides_the_selection_clears_it(qtbot: QtBot, window: MainWindow) -> None:
    bank = window._context.bank
    hidden = listed(qtbot, window, bank, "zed-1")
    listed(qtbot, window, bank, "ann-1")
    listed(qtbot, window, bank, "ann-2")
    assert window.select_account(hidden)
    qtbot.waitUntil(lambda: window.ledger_model.account_id == hidden)
    assert visibly_selected(window) == [hidden]

    press(qtbot, Qt.Key.Key_F, CTRL)
    focused(qtbot, "accountFilter")
    type_text(qtbot, "ann")  # two matches, neither of them the selected account
    qtbot.waitUntil(lambda: window.accounts_proxy.rowCount() == 2)

    assert visibly_selected(window) == []
    assert window.selected_account() is None
    for action in (
        window.deposit_action,
        window.withdraw_action,
        window.transfer_action,
        window.close_account_action,
    ):
        assert not action.isEnabled(), action.text()
    assert hidden not in window.ledger_title.text()
    assert "filter" in window.ledger_title.text()
    assert window.ledger_model.rowCount() == 0

    press(qtbot, Qt.Key.Key_F2)  # nothing may open on the hidden account
    assert window.deposit_form() is None


def test_tab_from_the_filter_selects_the_row_it_lands_on(qtbot: QtBot, window: MainWindow) -> None:
    bank = window._context.bank
    listed(qtbot, window, bank, "zed-1")
    first = listed(qtbot, window, bank, "ann-1")
    listed(qtbot, window, bank, "ann-2")

    press(qtbot, Qt.Key.Key_F, CTRL)
    focused(qtbot, "accountFilter")
    type_text(qtbot, "ann")
    qtbot.waitUntil(lambda: window.accounts_proxy.rowCount() == 2)
    press(qtbot, Qt.Key.Key_Tab)
    focused(qtbot, "accountsTable")

    qtbot.waitUntil(lambda: visibly_selected(window) == [first])
    assert window.selected_account() == first
    press(qtbot, Qt.Key.Key_F2)
    dialog = active_dialog(qtbot)
    assert dialog.windowTitle() == f"Deposit – {first}"
    press(qtbot, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: gone(dialog))


def test_the_focused_row_is_always_the_selected_one(qtbot: QtBot, window: MainWindow) -> None:
    """Moving the current row (keys, or Qt on focus) moves the selection with it."""
    bank = window._context.bank
    one = listed(qtbot, window, bank, "ann-1")
    two = listed(qtbot, window, bank, "ann-2")
    assert window.select_account(one)
    window.accounts_table.setFocus()
    focused(qtbot, "accountsTable")
    window.accounts_table.selectionModel().clearSelection()  # what a view does on its own
    assert visibly_selected(window) == []
    assert window.selected_account() is None
    press(qtbot, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: visibly_selected(window) == [two])
    assert window.selected_account() == two
