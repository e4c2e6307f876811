"""The accounts model and its proxy under live changes: order, filter and Qt's model rules."""

from __future__ import annotations

from decimal import Decimal

import pytest
from PySide6.QtCore import Qt

from bank_desktop.application import BankService
from bank_desktop.application.projections import ReadModel, catch_up
from bank_desktop.eventstore import open_store
from bank_desktop.eventstore.port import EventStore
from bank_desktop.gui.models.accounts import BALANCE, AccountsModel
from bank_desktop.gui.models.accounts_proxy import AccountsProxy

Setup = tuple[EventStore, BankService, ReadModel, AccountsModel, AccountsProxy, list[str]]


@pytest.fixture
def setup(qapp: object) -> Setup:
    store = open_store("memory://")
    bank = BankService(store)
    accounts = [bank.open_account(f"cust-{i % 7}", str(10 * i)) for i in range(40)]
    model = ReadModel()
    catch_up(model, store)
    source = AccountsModel()
    source.set_projection(model.balances)
    proxy = AccountsProxy()
    proxy.setSourceModel(source)
    return store, bank, model, source, proxy, accounts


def shown(proxy: AccountsProxy) -> list[str]:
    return [proxy.account_id_at(r) or "" for r in range(proxy.rowCount())]


def live(store: EventStore, model: ReadModel, source: AccountsModel) -> None:
    changes = model.apply(store.read_all(after=model.checkpoint, limit=10_000))
    source.sync(changes.changed_accounts)
    source.flush()


def test_sorted_rows_move_in_place_as_balances_change(
    qtmodeltester,
    setup,  # type: ignore[no-untyped-def]
) -> None:
    store, bank, model, source, proxy, accounts = setup
    qtmodeltester.check(proxy)
    proxy.sort(BALANCE, Qt.SortOrder.DescendingOrder)
    before = shown(proxy)
    assert before[0] == accounts[-1]  # the richest first
    bank.deposit(accounts[0], "10000")
    bank.withdraw(accounts[-1], "390")
    bank.transfer(accounts[5], accounts[6], "7")
    live(store, model, source)
    after = shown(proxy)
    assert after[0] == accounts[0]
    expected = sorted(
        accounts,
        key=lambda a: (model.balances.get(a).balance, source.row_of(a)),
        reverse=True,  # type: ignore[union-attr]
    )
    assert after == expected


def test_typing_more_narrows_and_backspace_widens(setup) -> None:  # type: ignore[no-untyped-def]
    _store, _bank, _model, _source, proxy, _accounts = setup
    proxy.set_filter_text("CUST")
    assert proxy.rowCount() == 40
    proxy.set_filter_text("cust-3")
    narrowed = shown(proxy)
    assert len(narrowed) == len([i for i in range(40) if i % 7 == 3])
    proxy.set_filter_text("cust-")
    assert proxy.rowCount() == 40
    proxy.set_filter_text("")
    assert proxy.rowCount() == 40


def test_new_accounts_land_where_they_belong(
    qtmodeltester,
    setup,  # type: ignore[no-untyped-def]
) -> None:
    store, bank, model, source, proxy, _accounts = setup
    qtmodeltester.check(proxy)
    proxy.sort(BALANCE, Qt.SortOrder.AscendingOrder)
    proxy.set_filter_text("cust-2")
    middle = bank.open_account("cust-2", "155")
    outside = bank.open_account("cust-9", "1")
    live(store, model, source)
    rows = shown(proxy)
    assert middle in rows
    assert outside not in rows
    balances = [model.balances.get(a).balance for a in rows]  # type: ignore[union-attr]
    assert balances == sorted(balances)
    assert balances[rows.index(middle)] == Decimal("155.00")


def test_the_selection_survives_a_resort(qtbot, setup) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QTableView

    store, bank, model, source, proxy, accounts = setup
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(proxy)
    proxy.sort(BALANCE, Qt.SortOrder.DescendingOrder)
    target = accounts[10]
    view.setCurrentIndex(proxy.index(proxy.row_of(target) or 0, 0))
    bank.deposit(target, "5000")
    live(store, model, source)
    assert proxy.account_id_at(view.currentIndex().row()) == target
    assert view.currentIndex().row() == 0


def test_an_account_whose_history_is_not_understood_shows_no_number(setup) -> None:  # type: ignore[no-untyped-def]
    from bank_desktop.eventstore import NewEvent

    store, _bank, model, source, _proxy, accounts = setup
    account = accounts[3]
    data = {"accountId": account, "amount": Decimal(1), "withdrawnAt": "2026-11-02T09:00Z"}
    store.append(account, [NewEvent("money.withdrawn.v2", data)], 1)
    live(store, model, source)
    row = source.index(model.balances.index_of(account), BALANCE)
    assert source.data(row) == "unknown"
    tooltip = source.data(row, Qt.ItemDataRole.ToolTipRole)
    assert "money.withdrawn.v2" in tooltip


# ── filter and sort against a brute-force answer ──────────────────────────────────────


def expected_rows(
    model: ReadModel, source: AccountsModel, text: str, column: int | None, descending: bool
) -> list[str]:
    """What the proxy must show: every account whose id or customer id contains the text, or
    whose registered customer matches it, in the sort's order (ties by opening order)."""
    from bank_desktop.application.search_text import fold
    from bank_desktop.gui.models.accounts import sort_key

    found = set(model.customers.matching(text)) if text.strip() else set()
    rows = [
        row
        for row in model.balances
        if not fold(text)
        or fold(text) in fold(f"{row.account_id} {row.customer_id}")
        or row.customer_id in found
    ]
    if column is None:
        return [row.account_id for row in rows]
    ordered = sorted(rows, key=lambda row: (sort_key(row, column), source.row_of(row.account_id)))
    if descending:
        ordered.reverse()
    return [row.account_id for row in ordered]


@pytest.mark.parametrize("column", [None, 1, 2, 3])
def test_filter_and_sort_agree_with_a_brute_force_answer_through_live_changes(
    setup,  # type: ignore[no-untyped-def]
    column: int | None,
) -> None:
    import random

    store, bank, model, source, proxy, accounts = setup
    source.set_projection(model.balances, None, model.customers)
    rng = random.Random(column or 0)
    names = ["Zoë Ångström", "Ada Lovelace", "Zoe Smith", "Grace Hopper", "Émile Zola"]
    customers = [bank.register_customer(name, f"ID{n:06d}") for n, name in enumerate(names)]
    descending = False
    if column is not None:
        proxy.sort(column, Qt.SortOrder.AscendingOrder)
    for step in range(60):
        match rng.randrange(6):
            case 0:
                accounts.append(bank.open_account(rng.choice(customers), str(rng.randrange(99))))
            case 1:
                bank.deposit(rng.choice(accounts), str(rng.randrange(1, 500)))
            case 2:
                bank.change_customer_details(
                    rng.choice(customers), full_name=rng.choice(names) + f" {step}"
                )
            case 3:
                proxy.set_filter_text(
                    rng.choice(["zoe", "zo", "", "cust-1", "ada l", "id00000", "a"])
                )
            case 4:
                proxy.set_filter_text(proxy.filter_text + rng.choice("aoe "))
            case 5:
                if column is not None:
                    descending = not descending
                    order = (
                        Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder
                    )
                    proxy.sort(column, order)
        live(store, model, source)
        expected = expected_rows(model, source, proxy.filter_text, column, descending)
        assert sorted(shown(proxy)) == sorted(expected), (step, proxy.filter_text)
        if column in (None, 2):  # balances and opening order: no ties between equal names
            assert shown(proxy) == expected, (step, proxy.filter_text)


def test_a_filter_that_shows_every_row_still_leaves_out_what_it_does_not_find(
    setup,  # type: ignore[no-untyped-def]
) -> None:
    store, bank, model, source, proxy, accounts = setup
    source.set_projection(model.balances, None, model.customers)
    proxy.sort(BALANCE, Qt.SortOrder.DescendingOrder)
    proxy.set_filter_text("cust-")  # every account so far, one list shared with the sort
    assert proxy.rowCount() == len(accounts)
    ada = bank.register_customer("Ada Lovelace", "AB123456")
    hers = bank.open_account(ada, "5000")
    bank.deposit(accounts[0], "1")
    live(store, model, source)
    assert hers not in shown(proxy)
    assert proxy.rowCount() == len(accounts)
    proxy.set_filter_text("")
    assert shown(proxy)[0] == hers  # the richest, listed once the filter goes
    proxy.set_filter_text("lovelace")
    assert shown(proxy) == [hers]
