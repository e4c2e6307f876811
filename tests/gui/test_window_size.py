"""The window's first size fits the screen, and the ledger's description never collapses.

Qt's Stretch mode gave the Description column whatever the other ledger columns left: with
the clerk and counterpart columns fitted to long ids, nothing, so a wider window showed a
20-pixel sliver where the transaction's description belongs."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PySide6.QtCore import QSize
from PySide6.QtWidgets import QTableView
from pytestqt.qtbot import QtBot

from bank_desktop.application.bank_service import BankService
from bank_desktop.gui.accounts_page import DESCRIPTION_MIN
from bank_desktop.gui.main_window import COMPACT_SIZE, ROOMY_SIZE, MainWindow, first_size
from bank_desktop.gui.models import ledger as led


@pytest.mark.parametrize(
    ("screen", "size"),
    [
        ((1920, 1040), ROOMY_SIZE),
        ((1600, 860), COMPACT_SIZE),  # too short for the roomy size
        ((1366, 728), COMPACT_SIZE),  # the window manager fits it to a smaller screen
        ((800, 600), COMPACT_SIZE),  # the offscreen platform's screen: as before
    ],
)
def test_the_first_size_fits_the_screen(screen: tuple[int, int], size: tuple[int, int]) -> None:
    assert first_size(QSize(*screen)).toTuple() == size
    assert first_size(None).toTuple() == COMPACT_SIZE


def description_width(table: QTableView) -> int:
    return table.columnWidth(led.DESCRIPTION)


@pytest.mark.parametrize("size", [COMPACT_SIZE, ROOMY_SIZE, (1900, 1000)])
def test_the_ledger_description_keeps_its_room(
    qtbot: QtBot, make_window: Callable[..., MainWindow], size: tuple[int, int]
) -> None:
    window = make_window()
    window.resize(*size)
    window.show()
    desk = BankService(window._context.store, clerk_id="clerk-with-a-rather-long-id-00042")
    account = desk.open_account("cust-1", "100.00")
    other = desk.open_account("cust-2", "100.00")
    desk.deposit(account, "12.50", description="Cheque deposit from the branch")
    desk.transfer(account, other, "10", description="Transfer to a savings account")
    qtbot.waitUntil(lambda: window.accounts_model.rowCount() == 2)
    assert window.select_account(account)
    table = window.accounts_page.ledger_table
    qtbot.waitUntil(lambda: table.model().rowCount() == 3)
    qtbot.waitUntil(lambda: description_width(table) >= DESCRIPTION_MIN)
    others = sum(
        table.columnWidth(column)
        for column in range(table.model().columnCount())
        if column != led.DESCRIPTION
    )
    room = table.viewport().width() - others
    if room > DESCRIPTION_MIN:  # room to spare goes to the description
        qtbot.waitUntil(lambda: description_width(table) >= room - 1)
