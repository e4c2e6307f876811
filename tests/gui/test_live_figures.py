"""Every figure on screen follows the projection: the ledger header and the open forms."""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from bank_desktop.application import BankService
from bank_desktop.eventstore import open_store
from bank_desktop.gui.main_window import MainWindow
from tests.gui.conftest import active_dialog, balance, gone, money, open_account, press


def other_desk(store_url: str) -> BankService:
    return BankService(open_store(store_url), clerk_id="clerk-9")


def test_the_ledger_header_follows_every_change(
    qtbot: QtBot, window: MainWindow, store_url: str
) -> None:
    account = open_account(qtbot, window, "cust-1", "100")
    title = window.ledger_title.text
    qtbot.waitUntil(lambda: "balance $100.00" in title())

    money(qtbot, Qt.Key.Key_F2, "50")  # the clerk's own deposit
    qtbot.waitUntil(lambda: balance(window, account) == Decimal("150.00"))
    qtbot.waitUntil(lambda: "balance $150.00" in title(), timeout=2_000)

    desk = other_desk(store_url)
    try:
        desk.deposit(account, "1100.50")  # another desk's
        qtbot.waitUntil(lambda: "balance $1,250.50" in title(), timeout=3_000)
        desk.withdraw(account, "1250.50")
        desk.close_account(account)
    finally:
        desk.store.close()
    qtbot.waitUntil(lambda: "balance $0.00" in title(), timeout=3_000)
    assert "closed" in title()
    assert "cust-1" in title()


def test_an_open_form_shows_the_balance_as_it_changes(
    qtbot: QtBot, window: MainWindow, store_url: str
) -> None:
    account = open_account(qtbot, window, "cust-1", "100")
    press(qtbot, Qt.Key.Key_F3)
    dialog = active_dialog(qtbot)
    shown = dialog.findChild(QLabel, "balanceInfo")
    assert shown is not None
    assert shown.text() == "$100.00"

    desk = other_desk(store_url)
    try:
        desk.withdraw(account, "60")
    finally:
        desk.store.close()
    qtbot.waitUntil(lambda: shown.text() == "$40.00", timeout=3_000)
    press(qtbot, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: gone(dialog))
