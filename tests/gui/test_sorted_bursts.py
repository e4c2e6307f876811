"""A burst from another clerk while the accounts are sorted: every row ends where it belongs.

The window moves only the rows whose balance changed (``AccountsProxy._moved``), remembers the
rows it was asked about since the last change, and answers a repaint's cells in one call each;
these tests drive the real window through a burst of deposits, withdrawals and transfers written
by another clerk's service on the same store, and check the order shown against a plain sort,
the selection, and Qt's model rules.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from decimal import Decimal

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from bank_desktop.application import BankService
from bank_desktop.domain import DomainError
from bank_desktop.eventstore import open_store
from bank_desktop.gui.main_window import MainWindow
from bank_desktop.gui.models.accounts import BALANCE

ACCOUNTS = 60


def _shown(window: MainWindow) -> list[str]:
    proxy = window.accounts_proxy
    return [proxy.account_id_at(row) or "" for row in range(proxy.rowCount())]


def _burst(store_url: str, accounts: list[str], seed: int, moves: int) -> None:
    """Another clerk's deposits, withdrawals and transfers, as fast as the store takes them."""
    store = open_store(store_url)
    try:
        bank = BankService(store, clerk_id="clerk-9")
        rng = random.Random(seed)
        for _ in range(moves):
            account = rng.choice(accounts)
            amount = Decimal(rng.randrange(1, 40_000)) / 100
            try:
                match rng.randrange(3):
                    case 0:
                        bank.deposit(account, amount)
                    case 1:
                        bank.withdraw(account, amount)
                    case _:
                        bank.transfer(account, rng.choice(accounts), amount)
            except DomainError:
                pass  # insufficient funds, a transfer to itself: refused, nothing written
    finally:
        store.close()


@pytest.mark.parametrize("order", [Qt.SortOrder.DescendingOrder, Qt.SortOrder.AscendingOrder])
def test_a_burst_leaves_the_rows_sorted_by_balance_and_the_selection_on_its_account(
    qtbot: QtBot,
    qtmodeltester,  # type: ignore[no-untyped-def]
    store_url: str,
    make_window: Callable[..., MainWindow],
    order: Qt.SortOrder,
) -> None:
    store = open_store(store_url)
    bank = BankService(store, clerk_id="clerk-8")
    accounts = [bank.open_account(f"cust-{n % 9}", str(n * 25)) for n in range(ACCOUNTS)]
    store.close()
    window = make_window()
    qtbot.waitUntil(lambda: window.accounts_proxy.rowCount() == ACCOUNTS)
    window.accounts_table.sortByColumn(BALANCE, order)  # what a click on the header does
    chosen = accounts[17]
    assert window.select_account(chosen)
    qtbot.waitUntil(lambda: window.selected_account() == chosen)

    _burst(store_url, accounts, seed=int(order.value), moves=400)
    head = open_store(store_url)
    try:
        last = head.head_position()
    finally:
        head.close()
    model = window.read_model
    assert model is not None
    qtbot.waitUntil(lambda: model.checkpoint == last, timeout=20_000)
    window.accounts_model.flush()  # what the flush timer does within 50 ms

    balances = {a: model.balances.get(a).balance for a in accounts}  # type: ignore[union-attr]
    expected = sorted(accounts, key=lambda a: (balances[a], accounts.index(a)))
    if order == Qt.SortOrder.DescendingOrder:
        expected.reverse()
    assert _shown(window) == expected
    assert window.selected_account() == chosen  # the selection moved with its row
    row = window.accounts_proxy.row_of(chosen)
    assert row is not None
    assert window.accounts_table.currentIndex().row() == row
    shown = window.accounts_proxy.index(row, BALANCE).data()
    assert shown == f"${balances[chosen]:,.2f}"
    qtmodeltester.check(window.accounts_proxy)


def test_a_burst_while_unsorted_keeps_opening_order(
    qtbot: QtBot, store_url: str, make_window: Callable[..., MainWindow]
) -> None:
    store = open_store(store_url)
    bank = BankService(store, clerk_id="clerk-8")
    accounts = [bank.open_account(f"cust-{n % 9}", str(n * 25)) for n in range(ACCOUNTS)]
    store.close()
    window = make_window()
    qtbot.waitUntil(lambda: window.accounts_proxy.rowCount() == ACCOUNTS)

    _burst(store_url, accounts, seed=3, moves=300)
    model = window.read_model
    assert model is not None
    head = open_store(store_url)
    try:
        last = head.head_position()
    finally:
        head.close()
    qtbot.waitUntil(lambda: model.checkpoint == last, timeout=20_000)
    window.accounts_model.flush()

    assert _shown(window) == accounts
    for account in (accounts[0], accounts[-1]):
        row = window.accounts_proxy.row_of(account)
        assert row is not None
        balance = model.balances.get(account).balance  # type: ignore[union-attr]
        assert window.accounts_proxy.index(row, BALANCE).data() == f"${balance:,.2f}"
