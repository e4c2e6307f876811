"""Reversals and holds through BankService, on every store: the events written (seed types,
one event, appended last), the available balance, idempotent command ids, refusals that write
nothing, and expiry decided by the service's clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bank_desktop.application import BankService
from bank_desktop.domain import CommandIdReusedError, IllegalStateError, ValidationError
from bank_desktop.domain.errors import HoldNotFoundError, TransactionNotFoundError
from bank_desktop.eventstore.port import EventStore

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves; each reading is one millisecond on, so events stay ordered."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def bank(store: EventStore, clock: Clock) -> BankService:
    return BankService(store, clerk_id="clerk-7", clock=clock)


def _last_event_id(store: EventStore, account: str) -> str:
    return store.read_stream(account)[-1].event_id


def _count(store: EventStore) -> int:
    return len(store.read_all())


# ── reversals ─────────────────────────────────────────────────────────────────────────────


def test_a_deposit_is_reversed_by_one_withdrawal_naming_it(
    bank: BankService, store: EventStore
) -> None:
    account = bank.open_account("cust-1", "50")
    bank.deposit(account, "500", description="Paycheck")
    deposit_id = _last_event_id(store, account)

    assert bank.reverse(account, deposit_id, reason="Keyed 500 instead of 50") == Decimal("50.00")

    *_, reversal = store.read_stream(account)
    assert reversal.type == "money.withdrawn"
    assert reversal.data["reversesEventId"] == deposit_id
    assert reversal.data["amount"] == Decimal("500.00")
    assert reversal.data["description"] == "Keyed 500 instead of 50"
    assert reversal.metadata["clerkId"] == "clerk-7"
    assert len(store.read_stream(account)) == 3


def test_a_withdrawal_is_reversed_by_a_deposit(bank: BankService, store: EventStore) -> None:
    account = bank.open_account("cust-1", "100")
    bank.withdraw(account, "30")

    assert bank.reverse(account, _last_event_id(store, account), "Wrong account") == Decimal(
        "100.00"
    )
    assert store.read_stream(account)[-1].type == "money.deposited"


def test_every_refusal_writes_nothing(bank: BankService, store: EventStore) -> None:
    account = bank.open_account("cust-1", "0")
    other = bank.open_account("cust-2", "10")
    bank.deposit(account, "100")
    deposit_id = _last_event_id(store, account)
    bank.withdraw(account, "90")
    bank.transfer(other, account, "5")
    leg_id = _last_event_id(store, account)
    opened_id = store.read_stream(account)[0].event_id
    before = _count(store)

    with pytest.raises(ValidationError, match=r"^Reason is required\.$"):
        bank.reverse(account, deposit_id)
    with pytest.raises(TransactionNotFoundError):
        bank.reverse(account, "no-such-event", "typo")
    with pytest.raises(TransactionNotFoundError):
        bank.reverse(other, deposit_id, "wrong account")
    with pytest.raises(IllegalStateError, match="part of transfer"):
        bank.reverse(account, leg_id, "typo")
    with pytest.raises(IllegalStateError, match="only a deposit or a withdrawal"):
        bank.reverse(account, opened_id, "typo")
    with pytest.raises(ValidationError, match=r"Insufficient funds\. Balance: \$15\.00"):
        bank.reverse(account, deposit_id, "typo")
    assert _count(store) == before


def test_reversing_twice_and_reversing_a_reversal_are_refused(
    bank: BankService, store: EventStore
) -> None:
    account = bank.open_account("cust-1", "0")
    bank.deposit(account, "40")
    deposit_id = _last_event_id(store, account)
    bank.reverse(account, deposit_id, "typo")
    reversal_id = _last_event_id(store, account)

    with pytest.raises(IllegalStateError, match="already reversed"):
        bank.reverse(account, deposit_id, "again")
    with pytest.raises(IllegalStateError, match="itself the reversal"):
        bank.reverse(account, reversal_id, "undo the undo")


def test_a_reversal_on_a_closed_account_is_refused(bank: BankService, store: EventStore) -> None:
    account = bank.open_account("cust-1", "0")
    bank.deposit(account, "40")
    deposit_id = _last_event_id(store, account)
    bank.withdraw(account, "40")
    bank.close_account(account)

    with pytest.raises(IllegalStateError, match="is closed"):
        bank.reverse(account, deposit_id, "typo")


def test_a_repeated_reversal_request_reverses_once(bank: BankService, store: EventStore) -> None:
    account = bank.open_account("cust-1", "0")
    bank.deposit(account, "40")
    deposit_id = _last_event_id(store, account)

    assert bank.reverse(account, deposit_id, "typo", command_id="rev-1") == Decimal("0.00")
    assert bank.reverse(account, deposit_id, "typo", command_id="rev-1") == Decimal("0.00")
    assert len(store.read_stream(account)) == 3
    with pytest.raises(CommandIdReusedError):
        bank.reverse(account, deposit_id, "another reason", command_id="rev-1")


def test_two_services_reversing_one_line_reverse_it_once(
    bank: BankService, store: EventStore, clock: Clock
) -> None:
    account = bank.open_account("cust-1", "0")
    bank.deposit(account, "40")
    deposit_id = _last_event_id(store, account)
    other_desk = BankService(store, clerk_id="clerk-8", clock=clock)
    other_desk.get_account(account)  # its cache holds the account before the reversal

    bank.reverse(account, deposit_id, "typo")
    with pytest.raises(IllegalStateError, match="already reversed"):
        other_desk.reverse(account, deposit_id, "typo too")


# ── holds ─────────────────────────────────────────────────────────────────────────────────


def test_a_hold_lowers_the_available_balance(bank: BankService, store: EventStore) -> None:
    account = bank.open_account("cust-1", "100")

    hold = bank.place_hold(account, "25.00", reason="Cheque clearing")

    state = bank.get_account(account)
    assert (state.balance, state.available_balance) == (Decimal("100.00"), Decimal("75.00"))
    assert [(h.hold_id, h.amount, h.reason) for h in state.holds] == [
        (hold, Decimal("25.00"), "Cheque clearing")
    ]
    placed = store.read_stream(account)[-1]
    assert placed.type == "hold.placed"
    assert placed.data == {
        "accountId": account,
        "holdId": hold,
        "amount": Decimal("25.00"),
        "reason": "Cheque clearing",
        "placedAt": "2026-11-02T09:00:00.002Z",
    }
    with pytest.raises(ValidationError) as refused:
        bank.withdraw(account, "80")
    assert refused.value.message == "Insufficient funds. Available: $75.00, Requested: $80.00"


def test_a_transfer_out_checks_the_available_balance(bank: BankService) -> None:
    account = bank.open_account("cust-1", "100")
    other = bank.open_account("cust-2", "0")
    bank.place_hold(account, "25", reason="Card authorisation")
    before = bank.get_account(other).balance

    with pytest.raises(ValidationError, match=r"Available: \$75\.00, Requested: \$80\.00"):
        bank.transfer(account, other, "80")
    assert bank.get_account(other).balance == before


def test_release_returns_the_available_balance_and_only_once(bank: BankService) -> None:
    account = bank.open_account("cust-1", "100")
    hold = bank.place_hold(account, "25", reason="Cheque clearing")

    assert bank.release_hold(account, hold) == Decimal("100.00")
    with pytest.raises(IllegalStateError, match="already released"):
        bank.release_hold(account, hold)
    with pytest.raises(HoldNotFoundError):
        bank.release_hold(account, "hold-unknown")
    assert bank.get_account(account).holds == ()


def test_holds_keep_an_account_open_and_cap_new_holds(bank: BankService) -> None:
    account = bank.open_account("cust-1", "30")
    bank.place_hold(account, "30", reason="Cheque")

    with pytest.raises(ValidationError, match=r"Available: \$0\.00, Requested: \$0\.01"):
        bank.place_hold(account, "0.01", reason="More")
    with pytest.raises(IllegalStateError, match="Release it first"):
        bank.close_account(account)


def test_an_expired_hold_no_longer_counts(bank: BankService, clock: Clock) -> None:
    account = bank.open_account("cust-1", "100")
    bank.place_hold(account, "25", reason="Cheque", expires_at=START + timedelta(hours=1))
    assert bank.get_account(account).available_balance == Decimal("75.00")

    clock.now = START + timedelta(hours=2)

    state = bank.get_account(account)
    assert (state.available_balance, state.holds) == (Decimal("100.00"), ())
    assert bank.withdraw(account, "100") == Decimal("0.00")


def test_an_expiry_needs_its_time_zone(bank: BankService) -> None:
    account = bank.open_account("cust-1", "100")
    with pytest.raises(ValidationError, match="time zone"):
        bank.place_hold(account, "1", reason="x", expires_at=datetime(2030, 1, 1))


def test_a_repeated_hold_request_places_one_hold(bank: BankService, store: EventStore) -> None:
    account = bank.open_account("cust-1", "100")

    first = bank.place_hold(account, "25", reason="Cheque", command_id="hold-req")
    again = bank.place_hold(account, "25", reason="Cheque", command_id="hold-req")

    assert first == again
    assert bank.get_account(account).available_balance == Decimal("75.00")
    with pytest.raises(CommandIdReusedError):
        bank.place_hold(account, "26", reason="Cheque", command_id="hold-req")
    bank.release_hold(account, first, command_id="release-req")
    assert bank.release_hold(account, first, command_id="release-req") == Decimal("100.00")
    assert [e.type for e in store.read_stream(account)].count("hold.released") == 1


def test_a_deposit_reversal_checks_the_available_balance(
    bank: BankService, store: EventStore
) -> None:
    account = bank.open_account("cust-1", "0")
    bank.deposit(account, "100")
    deposit_id = _last_event_id(store, account)
    bank.place_hold(account, "1", reason="Cheque")

    with pytest.raises(ValidationError) as refused:
        bank.reverse(account, deposit_id, "typo")
    assert refused.value.message == "Insufficient funds. Available: $99.00, Requested: $100.00"
