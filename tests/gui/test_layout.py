"""Money is never elided, every ledger column fits a wide screen, the splitter is remembered."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QStyle, QTableView
from pytestqt.qtbot import QtBot

from bank_desktop.gui import assets
from bank_desktop.gui.main_window import MainWindow
from bank_desktop.gui.models.accounts import ACCOUNT, CUSTOMER
from bank_desktop.gui.models.accounts import BALANCE as ACCOUNT_BALANCE
from bank_desktop.gui.models.ledger import AMOUNT, BALANCE, HEADERS


def item_padding() -> int:
    """Left plus right padding the style sheet gives every table cell."""
    sheet = assets.style_sheet()
    found = re.search(r"QTableView::item[^{]*\{\s*padding:\s*\d+(?:px)?\s+(\d+)px", sheet)
    assert found is not None
    return 2 * int(found.group(1))


def text_fits(view: QTableView, index: QModelIndex) -> bool:
    """Whether the cell's text fits its column without being elided: Qt keeps a focus-frame
    margin on both sides, the style sheet pads the cell, the grid line takes a pixel."""
    text = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
    margin = view.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, view) + 1
    needed = view.fontMetrics().horizontalAdvance(text) + 2 * margin + item_padding() + 1
    return needed <= view.columnWidth(index.column())


def on_screen(view: QTableView, column: int) -> bool:
    """Whether the whole column lies inside the visible part of the table."""
    x = view.columnViewportPosition(column)
    return x >= 0 and x + view.columnWidth(column) <= view.viewport().width()


def busy_accounts(qtbot: QtBot, window: MainWindow) -> tuple[str, str]:
    bank = window._context.bank
    rich = bank.open_account("customer-with-a-long-id-0042", "1000000")
    other = bank.open_account("cust-2", "0")
    bank.deposit(rich, "452345.67", description="Sale of the family farm")
    bank.transfer(rich, other, "1234.56", description="Rent")
    qtbot.waitUntil(lambda: window.accounts_proxy.row_of(other) is not None)
    assert window.select_account(rich)
    qtbot.waitUntil(lambda: window.ledger_model.rowCount() == 3)
    return rich, other


@pytest.mark.parametrize("width", [1280, 1600])
def test_money_is_never_elided(
    qtbot: QtBot, make_window: Callable[..., MainWindow], width: int
) -> None:
    window = make_window()
    window.resize(width, 820)
    busy_accounts(qtbot, window)
    ledger = window.ledger_table
    for row in range(window.ledger_model.rowCount()):
        for column in (AMOUNT, BALANCE):
            index = window.ledger_model.index(row, column)
            assert text_fits(ledger, index), (index.data(), ledger.columnWidth(column))
    for column in (AMOUNT, BALANCE):
        assert on_screen(ledger, column), HEADERS[column]
    accounts = window.accounts_table
    for row in range(window.accounts_proxy.rowCount()):
        for column in (ACCOUNT, ACCOUNT_BALANCE, CUSTOMER):
            index = window.accounts_proxy.index(row, column)
            assert text_fits(accounts, index), (index.data(), accounts.columnWidth(column))
    assert on_screen(accounts, ACCOUNT_BALANCE)


def test_every_ledger_column_is_on_screen_at_1600(
    qtbot: QtBot, make_window: Callable[..., MainWindow]
) -> None:
    window = make_window()
    window.resize(1600, 900)
    busy_accounts(qtbot, window)
    for column, title in enumerate(HEADERS):
        assert on_screen(window.ledger_table, column), title


def test_a_wider_balance_widens_its_column(
    qtbot: QtBot, make_window: Callable[..., MainWindow]
) -> None:
    window = make_window()
    rich, _ = busy_accounts(qtbot, window)
    window._context.bank.deposit(rich, "98765432109.99")
    qtbot.waitUntil(lambda: window.ledger_model.rowCount() == 4)
    last = window.ledger_model.rowCount() - 1
    qtbot.waitUntil(
        lambda: text_fits(window.ledger_table, window.ledger_model.index(last, BALANCE))
    )
    row = window.accounts_proxy.row_of(rich)
    assert row is not None
    qtbot.waitUntil(
        lambda: text_fits(window.accounts_table, window.accounts_proxy.index(row, ACCOUNT_BALANCE))
    )


def test_the_splitter_position_is_remembered(
    qtbot: QtBot, make_window: Callable[..., MainWindow]
) -> None:
    window = make_window()
    splitter = window.accounts_page
    splitter.setSizes([500, 780])
    chosen = splitter.sizes()
    window.close()
    again = make_window()
    assert again.accounts_page.sizes() == chosen
