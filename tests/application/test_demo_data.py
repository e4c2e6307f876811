"""Demo data is real history: decided by the deciders, consistent with every invariant."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bank_desktop.application import BankService
from bank_desktop.application.demo_data import fill_demo_data
from bank_desktop.application.projections import ReadModel, catch_up, load_ledger
from bank_desktop.domain.errors import DuplicateNationalIdError
from bank_desktop.eventstore import open_store
from bank_desktop.eventstore.port import EventStore


def test_demo_history_satisfies_the_invariants(store: EventStore) -> None:
    summary = fill_demo_data(store, events=3_000, accounts=120, seed=3, chunk=500)
    assert summary.events == store.head_position()
    assert 3_000 <= summary.events <= 3_005  # a transfer's five events are never split
    assert summary.accounts == 120
    assert summary.transfers > 0
    model = ReadModel()
    catch_up(model, store)
    assert model.skipped_events == 0
    assert len(model.balances) == 120
    assert model.transfers.unfinished() == []
    bank = BankService(store)
    for row in list(model.balances)[:40]:
        ledger = load_ledger(store, row.account_id)
        assert all(entry.balance >= 0 for entry in ledger.entries)
        assert ledger.balance == row.balance == bank.get_account(row.account_id).balance
        clerks = {entry.clerk_id for entry in ledger.entries}
        assert None not in clerks
    # the history keeps working as a live store afterwards
    first = model.balances.at(0).account_id
    if bank.get_account(first).is_open:
        assert bank.deposit(first, "1") == model.balances.at(0).balance + Decimal("1.00")


def test_same_seed_same_store_state_gives_the_same_history() -> None:
    one, two = open_store("memory://"), open_store("memory://")
    end = datetime(2026, 11, 1, tzinfo=UTC)
    fill_demo_data(one, events=300, seed=5, end=end)
    fill_demo_data(two, events=300, seed=5, end=end)
    assert [(e.stream_id, e.type, e.data) for e in one.read_all(limit=1000)] == [
        (e.stream_id, e.type, e.data) for e in two.read_all(limit=1000)
    ]
    fill_demo_data(one, events=100, seed=5)  # a second fill adds new accounts, no conflicts
    assert one.head_position() >= 400


def test_demo_customers_are_registered_like_the_service_does(store: EventStore) -> None:
    summary = fill_demo_data(store, events=2_000, accounts=200, seed=4, customers=True)
    fill_demo_data(store, events=500, accounts=50, seed=4, customers=True)  # no id met twice

    model = ReadModel()
    catch_up(model, store)
    named = [row for row in model.balances if row.customer_name is not None]
    assert summary.accounts == 200
    assert len(model.customers) > 100
    assert len(named) > 0.8 * len(model.balances)
    assert any(row.customer_name is None for row in model.balances)  # raw ids still work
    assert model.skipped_events == 0
    customer = next(iter(model.customers))
    bank = BankService(store)
    assert bank.get_customer(customer.customer_id).full_name == customer.full_name
    with pytest.raises(DuplicateNationalIdError):
        bank.register_customer("Someone Else", customer.national_id)
