"""Stored events with absurd amounts (issue 11, item 8): decoding bounds them before any sum.

A store written by another tool can hold ``"amount": 1E+999999999`` (a valid JSON number); the
projections' and the deciders' sums would overflow on it. It is a malformed event instead:
the read model skips it with a warning, commands on its stream are refused naming it, and the
ledger leaves it out, as for any other malformed payload.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from bank_desktop.application import BankService, MalformedEventError
from bank_desktop.application.projections import ReadModel, catch_up, load_ledger
from bank_desktop.eventstore.port import EventStore, NewEvent
from tests.application.conftest import StepClock

ABSURD = [
    Decimal("1E+999999999"),
    Decimal("-1E+999999999"),
    Decimal("9E+1000000"),
    Decimal("1000000000000.00"),
    10**30,
]


@pytest.mark.parametrize("amount", ABSURD, ids=str)
def test_a_stored_absurd_amount_is_a_malformed_event_not_an_overflow(
    store: EventStore, amount: Decimal | int
) -> None:
    bank = BankService(store, clock=StepClock())
    account = bank.open_account("cust-1", "100")
    data = {"accountId": account, "amount": amount, "depositedAt": "2026-11-02T09:00:00.000Z"}
    store.append(account, [NewEvent("money.deposited", data, {"commandId": "raw"})], 1)

    model = ReadModel()
    catch_up(model, store)
    assert model.skipped_events == 1
    row = model.balances.get(account)
    assert row is not None
    assert row.balance == Decimal("100.00")

    with pytest.raises(MalformedEventError, match="'amount'"):
        BankService(store, clock=StepClock()).deposit(account, "1")
    assert store.head_position() == 2

    ledger = load_ledger(store, account)
    assert ledger.balance == Decimal("100.00")


@pytest.mark.parametrize("amount", ABSURD, ids=str)
def test_a_stored_absurd_opening_balance_is_malformed(
    store: EventStore, amount: Decimal | int
) -> None:
    data = {
        "accountId": "account-raw",
        "customerId": "c",
        "initialBalance": amount,
        "openedAt": "2026-11-02T09:00:00.000Z",
    }
    store.append("account-raw", [NewEvent("account.opened", data, {"commandId": "raw"})], 0)
    model = ReadModel()
    catch_up(model, store)
    assert model.skipped_events == 1
    assert model.balances.get("account-raw") is None
    with pytest.raises(MalformedEventError, match="'initialBalance'"):
        BankService(store).deposit("account-raw", "1")
