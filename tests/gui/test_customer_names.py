"""Customers by name in the window: the accounts table shows names (unregistered ids stay
ids), Ctrl+F finds accounts by name or national id whatever the case and accents, and the
Available column stands beside the balance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from bank_desktop.gui.main_window import MainWindow
from bank_desktop.gui.models.accounts import AVAILABLE, BALANCE, CUSTOMER
from tests.gui.conftest import CTRL, focused, press, replace_text, type_text


def cell(window: MainWindow, account_id: str, column: int) -> str:
    row = window.accounts_proxy.row_of(account_id)
    assert row is not None, account_id
    return str(window.accounts_proxy.index(row, column).data())


def listed(qtbot: QtBot, window: MainWindow, account_id: str) -> str:
    qtbot.waitUntil(lambda: window.accounts_proxy.row_of(account_id) is not None)
    return account_id


def shown(window: MainWindow) -> set[str]:
    proxy = window.accounts_proxy
    return {proxy.account_id_at(row) or "" for row in range(proxy.rowCount())}


def test_registered_customers_show_by_name_and_unregistered_ids_stay(
    qtbot: QtBot, window: MainWindow
) -> None:
    bank = window._context.bank
    ada = bank.register_customer("Ada Lovelace", "AB123456")
    named = listed(qtbot, window, bank.open_account(ada, "10"))
    raw = listed(qtbot, window, bank.open_account("cust-777", "5"))

    qtbot.waitUntil(lambda: cell(window, named, CUSTOMER) == "Ada Lovelace")
    assert cell(window, raw, CUSTOMER) == "cust-777"
    row = window.accounts_proxy.row_of(named)
    assert row is not None
    tip = window.accounts_proxy.index(row, CUSTOMER).data(Qt.ItemDataRole.ToolTipRole)
    assert ada in tip

    window.select_account(named)
    qtbot.waitUntil(lambda: "Ada Lovelace" in window.ledger_title.text())

    bank.change_customer_details(ada, full_name="Ada King")  # another desk renames her
    qtbot.waitUntil(lambda: cell(window, named, CUSTOMER) == "Ada King")
    qtbot.waitUntil(lambda: "Ada King" in window.ledger_title.text())


def test_ctrl_f_finds_by_name_or_national_id_ignoring_case_and_accents(
    qtbot: QtBot, window: MainWindow
) -> None:
    bank = window._context.bank
    zoe = bank.register_customer("Zoë Ångström", "ZA-998 877")
    ada = bank.register_customer("Ada Lovelace", "AB123456")
    zoe_account = listed(qtbot, window, bank.open_account(zoe, "1"))
    ada_account = listed(qtbot, window, bank.open_account(ada, "1"))
    raw = listed(qtbot, window, bank.open_account("cust-zoe-1", "1"))

    press(qtbot, Qt.Key.Key_F, CTRL)
    focused(qtbot, "accountFilter")
    type_text(qtbot, "ZOE")  # the name without its accents, and the raw id that holds it
    qtbot.waitUntil(lambda: shown(window) == {zoe_account, raw})
    replace_text(qtbot, "angstrom zo")  # words in any order
    qtbot.waitUntil(lambda: shown(window) == {zoe_account})
    assert window.selected_account() == zoe_account  # a single match is selected
    replace_text(qtbot, "za998877")  # the national id written another way
    qtbot.waitUntil(lambda: shown(window) == {zoe_account})
    replace_text(qtbot, "lovel")
    qtbot.waitUntil(lambda: shown(window) == {ada_account})
    replace_text(qtbot, ada_account)  # an account id still finds its account
    qtbot.waitUntil(lambda: shown(window) == {ada_account})
    replace_text(qtbot, "cust-zoe")
    qtbot.waitUntil(lambda: shown(window) == {raw})


def test_an_account_opened_while_filtering_for_its_customer_appears(
    qtbot: QtBot, window: MainWindow
) -> None:
    bank = window._context.bank
    press(qtbot, Qt.Key.Key_F, CTRL)
    focused(qtbot, "accountFilter")
    type_text(qtbot, "grace")
    grace = bank.register_customer("Grace Hopper", "GH000001")
    account = bank.open_account(grace, "3")
    bank.open_account("cust-else", "3")
    qtbot.waitUntil(lambda: shown(window) == {account})


def test_available_stands_beside_the_balance(qtbot: QtBot, window: MainWindow) -> None:
    bank = window._context.bank
    account = listed(qtbot, window, bank.open_account("cust-1", "100"))
    assert cell(window, account, AVAILABLE) == "$100.00"

    hold = bank.place_hold(account, "25.00", "Cheque clearing")
    qtbot.waitUntil(lambda: cell(window, account, AVAILABLE) == "$75.00")
    assert cell(window, account, BALANCE) == "$100.00"
    row = window.accounts_proxy.row_of(account)
    assert row is not None
    tip = window.accounts_proxy.index(row, AVAILABLE).data(Qt.ItemDataRole.ToolTipRole)
    assert "$25.00 held: Cheque clearing" in tip
    window.select_account(account)
    qtbot.waitUntil(lambda: "available $75.00" in window.ledger_title.text())

    bank.release_hold(account, hold)
    qtbot.waitUntil(lambda: cell(window, account, AVAILABLE) == "$100.00")

    soon = datetime.now(UTC) + timedelta(days=1)
    bank.place_hold(account, "10.00", "Card authorisation", expires_at=soon)
    qtbot.waitUntil(lambda: cell(window, account, AVAILABLE) == "$90.00")
