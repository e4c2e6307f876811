"""Projections equal a fold of the events, apply idempotently, persist, and survive bad data."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bank_desktop.application import BankService
from bank_desktop.application.projections import (
    LedgerBook,
    ReadModel,
    build_ledger,
    catch_up,
    load_ledger,
    statement,
)
from bank_desktop.domain import DomainError
from bank_desktop.eventstore import NO_STREAM, NewEvent, open_store
from bank_desktop.eventstore.port import EventStore
from bank_desktop.eventstore.snapshots import MemorySnapshotStore
from tests.application.conftest import StepClock

cents = st.integers(min_value=-500, max_value=20_000).map(lambda c: Decimal(c) / 100)
operation = st.one_of(
    st.tuples(st.just("open"), cents),
    st.tuples(st.just("deposit"), st.integers(0, 5), cents),
    st.tuples(st.just("withdraw"), st.integers(0, 5), cents),
    st.tuples(st.just("transfer"), st.integers(0, 5), st.integers(0, 5), cents),
    st.tuples(st.just("close"), st.integers(0, 5)),
)


def _run(bank: BankService, operations: list[tuple[object, ...]]) -> list[str]:
    accounts: list[str] = []
    for op in operations:
        try:
            match op:
                case ("open", amount):
                    accounts.append(bank.open_account("cust", amount))  # type: ignore[arg-type]
                case ("deposit", i, amount) if accounts:
                    bank.deposit(accounts[i % len(accounts)], amount)  # type: ignore[arg-type, operator]
                case ("withdraw", i, amount) if accounts:
                    bank.withdraw(accounts[i % len(accounts)], amount)  # type: ignore[arg-type, operator]
                case ("transfer", i, j, amount) if accounts:
                    bank.transfer(
                        accounts[i % len(accounts)],  # type: ignore[operator]
                        accounts[j % len(accounts)],  # type: ignore[operator]
                        amount,  # type: ignore[arg-type]
                    )
                case ("close", i) if accounts:
                    account = accounts[i % len(accounts)]  # type: ignore[operator]
                    balance = bank.get_account(account).balance
                    if balance > 0 and bank.get_account(account).is_open:
                        bank.withdraw(account, balance)
                    bank.close_account(account)
        except DomainError:
            pass
    return accounts


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(operation, max_size=40))
def test_projections_equal_the_fold_of_the_events(operations: list[tuple[object, ...]]) -> None:
    store = open_store("memory://")
    bank = BankService(store, clock=StepClock())
    opening = Decimal("0.00")
    accounts = _run(bank, operations)

    model = ReadModel()
    catch_up(model, store, batch_size=7)  # small pages: page borders must not matter
    assert model.checkpoint == store.head_position()
    assert len(model.balances) == len(accounts)
    for account in accounts:
        state = bank.get_account(account)
        row = model.balances.get(account)
        assert row is not None
        assert (row.balance, row.is_open, row.customer_id) == (
            state.balance,
            state.is_open,
            state.customer_id,
        )
        assert row.balance >= 0
        ledger = load_ledger(store, account)
        assert ledger.balance == state.balance
        running = Decimal("0.00")
        for entry in ledger.entries:
            running = running + entry.amount if entry.kind != "opened" else entry.amount
            assert entry.balance == running >= 0
        opening += ledger.entries[0].amount
    # transfers conserve money: the total is what was opened plus deposits minus withdrawals
    external = Decimal("0.00")
    for account in accounts:
        for entry in load_ledger(store, account).entries:
            if entry.kind in ("deposit", "withdrawal"):
                external += entry.amount
    assert model.balances.total() == opening + external
    assert model.transfers.unfinished() == []

    again = ReadModel()
    everything = store.read_all(limit=10_000)
    again.apply(everything)
    again.apply(everything)  # idempotent: a second delivery changes nothing
    assert again.snapshot().state == model.snapshot().state


def test_rows_skip_events_at_or_below_their_revision(store: EventStore) -> None:
    bank = BankService(store, clock=StepClock())
    account = bank.open_account("cust-1", "10")
    other = bank.open_account("cust-2", "0")
    bank.transfer(account, other, "4")
    bank.deposit(account, "5")
    events = store.read_all()
    model = ReadModel()
    model.apply(events)
    before = model.snapshot().state
    # A redelivery that the global checkpoint cannot filter (e.g. a webhook batch from a
    # source without positions): each row's own stream revision still refuses it.
    model.checkpoint = 0
    changes = model.apply(events)
    assert model.snapshot().state == before
    assert not changes.changed_accounts
    assert not changes.opened_accounts
    assert not changes.changed_transfers


def test_changes_name_what_moved(store: EventStore) -> None:
    bank = BankService(store, clock=StepClock())
    model = ReadModel()
    first = bank.open_account("cust-1", "10")
    changes = model.apply(store.read_all())
    assert changes.opened_accounts == [first]
    second = bank.open_account("cust-2", "0")
    transfer = bank.transfer(first, second, "4")
    changes = model.apply(store.read_all(after=model.checkpoint))
    assert changes.opened_accounts == [second]
    assert changes.changed_accounts == {first, second}
    assert changes.changed_transfers == {transfer}
    assert model.transfers.get(transfer).status == "completed"  # type: ignore[union-attr]


def test_bad_events_in_the_store_are_skipped_with_a_warning(
    store: EventStore, caplog: pytest.LogCaptureFixture
) -> None:
    bank = BankService(store, clock=StepClock())
    account = bank.open_account("cust-1", "10")
    store.append(account, [NewEvent("money.deposited", {"amount": "lots"})], 1)
    store.append(account, [NewEvent("money.deposited", {"amount": 5})], 2)
    store.append("other", [NewEvent("account.frozen", {"why": "?"})], NO_STREAM)
    store.append("other", [NewEvent("account.frozen", {"why": "?"})], 1)
    healthy = bank.open_account("cust-2", "1")
    bank.deposit(healthy, "5")
    model = ReadModel()
    with caplog.at_level(logging.WARNING):
        catch_up(model, store)
    assert model.balances.get(account).balance == Decimal("10.00")  # type: ignore[union-attr]
    assert model.balances.get(healthy).balance == Decimal("6.00")  # type: ignore[union-attr]
    assert model.skipped_events == 4
    assert model.checkpoint == store.head_position()
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "field 'amount' must be a finite number" in messages
    assert "field 'depositedAt' must be an ISO-8601 timestamp" in messages
    assert messages.count("account.frozen") == 1  # unknown types are reported once


def test_snapshot_restore_then_catch_up_equals_a_full_rebuild(store: EventStore) -> None:
    bank = BankService(store, clock=StepClock())
    a = bank.open_account("cust-1", "100")
    b = bank.open_account("cust-2", "0")
    bank.transfer(a, b, "30")
    snapshots = MemorySnapshotStore()
    model = ReadModel()
    catch_up(model, store)
    model.save(snapshots)

    bank.withdraw(a, "10")
    bank.deposit(b, "1")
    restored = ReadModel.restore(snapshots, store)
    assert restored is not None
    assert restored.checkpoint == model.checkpoint
    catch_up(restored, store)
    full = ReadModel()
    catch_up(full, store)
    assert restored.snapshot() == full.snapshot()


def test_a_snapshot_of_another_store_is_not_trusted(store: EventStore) -> None:
    bank = BankService(store, clock=StepClock())
    bank.open_account("cust-1", "100")
    snapshots = MemorySnapshotStore()
    model = ReadModel()
    catch_up(model, store)
    model.save(snapshots)
    other = open_store("memory://")
    BankService(other).open_account("cust-9", "1")
    assert ReadModel.restore(snapshots, other) is None
    assert ReadModel.restore(snapshots, open_store("memory://")) is None  # empty store


def test_ledger_shows_transfers_refunds_and_clerks(store: EventStore) -> None:
    bank = BankService(store, clerk_id="clerk-9", clock=StepClock())
    a = bank.open_account("cust-1", "100")
    b = bank.open_account("cust-2", "0")
    bank.deposit(a, "20", description="Paycheck")
    bank.transfer(a, b, "30", description="Rent")
    bank.withdraw(a, "5")
    ledger = load_ledger(store, a)
    assert [(e.kind, e.amount, e.balance) for e in ledger.entries] == [
        ("opened", Decimal("100.00"), Decimal("100.00")),
        ("deposit", Decimal("20.00"), Decimal("120.00")),
        ("transfer_out", Decimal("-30.00"), Decimal("90.00")),
        ("withdrawal", Decimal("-5.00"), Decimal("85.00")),
    ]
    out = ledger.entries[2]
    assert (out.counterparty_account_id, out.description, out.clerk_id) == (b, "Rent", "clerk-9")
    assert load_ledger(store, b).entries[-1].kind == "transfer_in"


def test_statement_balances_equal_the_fold() -> None:
    store = open_store("memory://")
    clock = StepClock(datetime(2026, 1, 1, tzinfo=UTC))
    bank = BankService(store, clock=clock)
    account = bank.open_account("cust-1", "10")
    clock.now = datetime(2026, 2, 1, tzinfo=UTC)
    bank.deposit(account, "5")
    clock.now = datetime(2026, 3, 1, tzinfo=UTC)
    bank.withdraw(account, "3")
    clock.now = datetime(2026, 4, 1, tzinfo=UTC)
    bank.deposit(account, "100")
    ledger = load_ledger(store, account)
    march = statement(ledger, datetime(2026, 2, 15, tzinfo=UTC), datetime(2026, 3, 15, tzinfo=UTC))
    assert (march.opening_balance, march.closing_balance) == (Decimal("15.00"), Decimal("12.00"))
    assert march.closing_balance == march.opening_balance + march.total_in - march.total_out
    empty = statement(ledger, datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 2, 1, tzinfo=UTC))
    assert (empty.opening_balance, empty.closing_balance, empty.entries) == (
        Decimal("0.00"),
        Decimal("0.00"),
        (),
    )
    with pytest.raises(ValueError, match="ends before"):
        statement(ledger, datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))


def test_statement_adds_up_when_clerk_clocks_step_backwards() -> None:
    store = open_store("memory://")
    clock = StepClock(datetime(2026, 3, 10, tzinfo=UTC))
    bank = BankService(store, clock=clock)
    account = bank.open_account("cust-1", "10")
    bank.deposit(account, "5")  # 2026-03-10
    clock.now = datetime(2026, 2, 27, tzinfo=UTC)  # a clerk whose clock is two weeks behind
    bank.deposit(account, "7")
    clock.now = datetime(2026, 3, 20, tzinfo=UTC)
    bank.withdraw(account, "2")
    ledger = load_ledger(store, account)
    march = statement(ledger, datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
    assert march.closing_balance == march.opening_balance + sum(e.amount for e in march.entries)
    assert march.closing_balance == Decimal("20.00")
    early = statement(ledger, datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC))
    assert (early.opening_balance, early.closing_balance, early.entries) == (
        Decimal("0.00"),
        Decimal("0.00"),
        (),
    )


def test_ledger_book_keeps_loaded_ledgers_live_and_reloads_after_a_gap(store: EventStore) -> None:
    bank = BankService(store, clock=StepClock())
    account = bank.open_account("cust-1", "10")
    book = LedgerBook(store, capacity=2)
    assert book.get(account).balance == Decimal("10.00")
    bank.deposit(account, "5")
    assert book.apply(store.read_all(after=1)) == {account}
    assert book.cached(account).balance == Decimal("15.00")  # type: ignore[union-attr]
    bank.deposit(account, "1")
    bank.deposit(account, "1")
    assert book.apply(store.read_all(after=3)) == {account}  # skipped position 3: a gap
    assert book.cached(account) is None
    assert book.get(account).balance == Decimal("17.00")
    assert build_ledger(account, store.read_stream(account)).balance == Decimal("17.00")
