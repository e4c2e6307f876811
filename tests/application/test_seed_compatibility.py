"""A service built from the seed tutorial, knowing only its four events, computes the same
balances from a store that holds customers, reversals, holds and transfers.

``seed_balances`` is the tutorial's ``AccountBalancesProjection`` written out in Python: it
folds ``account.opened``, ``money.deposited``, ``money.withdrawn`` and ``account.closed`` by
stream id, skips an event at or below a row's ``_revision``, and ignores every other type.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from bank_desktop.application import BankService
from bank_desktop.application.projections import ReadModel, catch_up
from bank_desktop.domain import DomainError
from bank_desktop.eventstore.port import EventStore, RecordedEvent

SEED_TYPES = ("account.opened", "money.deposited", "money.withdrawn", "account.closed")
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@dataclass
class SeedRow:
    accountId: str
    customerId: str
    balance: Any
    isOpen: bool
    _revision: int


def seed_balances(events: list[RecordedEvent]) -> dict[str, SeedRow]:
    """The tutorial's projection: only its four event types, idempotent by stream revision."""
    rows: dict[str, SeedRow] = {}
    for event in events:
        if event.type not in SEED_TYPES:
            continue
        existing = rows.get(event.stream_id)
        if existing and existing._revision >= event.stream_position:
            continue
        data = event.data
        if event.type == "account.opened":
            rows[event.stream_id] = SeedRow(
                data["accountId"], data["customerId"], data["initialBalance"], True,
                event.stream_position,
            )  # fmt: skip
        elif existing is None:
            continue  # "Account not found for deposit": the seed logs and goes on
        elif event.type == "money.deposited":
            existing.balance = existing.balance + data["amount"]
            existing._revision = event.stream_position
        elif event.type == "money.withdrawn":
            existing.balance = existing.balance - data["amount"]
            existing._revision = event.stream_position
        else:
            existing.isOpen = False
            existing._revision = event.stream_position
    return rows


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def _fill(bank: BankService, store: EventStore, clock: Clock) -> list[str]:
    """A teller's day with every new kind of event; returns the accounts."""
    ada = bank.register_customer("Ada Lovelace", "AB123456", phone="+44 20 7946 0000")
    grace = bank.register_customer("Grace Hopper", "CD654321")
    bank.change_customer_details(ada, full_name="Ada King", national_id="EF000111")
    first = bank.open_account(ada, "100")
    second = bank.open_account(grace, "0")
    raw = bank.open_account("cust-unregistered", "20")
    bank.deposit(first, "500", description="Keyed 500 instead of 50")
    bank.reverse(first, store.read_stream(first)[-1].event_id, reason="Keyed 500 instead of 50")
    bank.deposit(first, "50")
    bank.deposit(second, "75.25")
    bank.withdraw(second, "5.25")
    bank.reverse(second, store.read_stream(second)[-1].event_id, reason="Wrong account")
    hold = bank.place_hold(first, "25", reason="Cheque clearing")
    bank.place_hold(second, "10", reason="Card", expires_at=clock.now + timedelta(minutes=5))
    with pytest.raises(DomainError):
        bank.withdraw(first, "130")  # available 125: refused, nothing written
    bank.transfer(first, second, "40")
    bank.release_hold(first, hold)
    bank.transfer(second, raw, "30.50")
    with pytest.raises(DomainError):
        bank.transfer(raw, second, "1000")  # rejected: nothing moves
    bank.withdraw(raw, "50.50")
    bank.close_account(raw)
    with pytest.raises(DomainError):
        bank.transfer(first, raw, "1")  # the target is closed: the transfer is refused
    clock.now += timedelta(hours=1)  # the card hold expires
    bank.withdraw(second, "84.75")  # all of it: the expired hold no longer counts
    return [first, second, raw]


def test_the_seed_fold_computes_our_balances(store: EventStore) -> None:
    clock = Clock()
    bank = BankService(store, clerk_id="clerk-7", clock=clock)
    accounts = _fill(bank, store, clock)
    events = store.read_all()

    seed = seed_balances(events)
    model = ReadModel()
    catch_up(model, store)

    assert {e.type for e in events} >= {
        "customer.registered",
        "customer.details_changed",
        "national_id.claimed",
        "national_id.released",
        "hold.placed",
        "hold.released",
        "transfer.requested",
        "transfer.completed",
    }
    assert any("reversesEventId" in e.data for e in events)
    for account in accounts:
        ours = bank.get_account(account)
        row = model.balances.get(account)
        assert row is not None
        assert seed[account].balance == ours.balance == row.balance, account
        assert seed[account].isOpen == ours.is_open == row.is_open
        assert row.unrecognized is None
    assert set(seed) == set(accounts)  # customers, claims and transfers make no seed rows
    assert [seed[a].balance for a in accounts] == [
        Decimal("110.00"),
        Decimal("0.00"),
        Decimal("0.00"),
    ]
    assert model.skipped_events == 0
