"""BankService: the seed's walkthrough, its rules, idempotency and bad input, on every store."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bank_desktop.application import BankService
from bank_desktop.domain import (
    AccountNotFoundError,
    CommandIdReusedError,
    DomainError,
    IllegalStateError,
    ValidationError,
)
from bank_desktop.eventstore.port import EventStore
from tests.application.conftest import StepClock


@pytest.fixture
def bank(store: EventStore) -> BankService:
    return BankService(store, clerk_id="clerk-7", clock=StepClock())


def test_the_seed_walkthrough(bank: BankService, store: EventStore) -> None:
    account = bank.open_account("cust-123", "100")
    assert bank.deposit(account, "50", description="Paycheck") == Decimal("150.00")
    with pytest.raises(ValidationError) as refused:
        bank.withdraw(account, "200")
    assert refused.value.message == "Insufficient funds. Balance: $150.00, Requested: $200.00"
    assert bank.withdraw(account, "30", description="Coffee") == Decimal("120.00")

    state = bank.get_account(account)
    assert (state.balance, state.is_open, state.customer_id) == (
        Decimal("120.00"),
        True,
        "cust-123",
    )
    types = [e.type for e in store.read_stream(account)]
    assert types == ["account.opened", "money.deposited", "money.withdrawn"]


def test_events_are_seed_compatible_on_the_wire(bank: BankService, store: EventStore) -> None:
    account = bank.open_account("cust-1", "100.5")
    bank.deposit(account, "0.10", description="Interest")
    opened, deposited = store.read_stream(account)
    assert opened.data == {
        "accountId": account,
        "customerId": "cust-1",
        "initialBalance": Decimal("100.50"),
        "openedAt": "2026-11-02T09:00:00.001Z",
    }
    assert deposited.data["amount"] == Decimal("0.10")
    assert isinstance(deposited.data["amount"], Decimal)
    assert deposited.data["depositedAt"].endswith("Z")
    assert set(deposited.data) == {"accountId", "amount", "description", "depositedAt"}


def test_every_event_names_the_clerk_and_the_command(bank: BankService, store: EventStore) -> None:
    account = bank.open_account("cust-1", "10", command_id="open-1")
    bank.deposit(account, "5", command_id="dep-1")
    for event in store.read_stream(account):
        assert event.metadata["clerkId"] == "clerk-7"
        assert event.metadata["appVersion"]
        assert event.metadata["correlationId"] == event.metadata["commandId"]
    assert [e.metadata["commandId"] for e in store.read_stream(account)] == ["open-1", "dep-1"]


def test_close_only_at_zero_and_nothing_afterwards(bank: BankService, store: EventStore) -> None:
    account = bank.open_account("cust-1", "120")
    with pytest.raises(ValidationError, match=r"non-zero balance: \$120\.00"):
        bank.close_account(account)
    bank.withdraw(account, "120")
    bank.close_account(account, reason="Moved away")
    assert not bank.get_account(account).is_open
    before = store.head_position()
    for attempt in (
        lambda: bank.deposit(account, "1"),
        lambda: bank.withdraw(account, "1"),
        lambda: bank.close_account(account),
    ):
        with pytest.raises(IllegalStateError, match="is closed"):
            attempt()
    assert store.head_position() == before


def test_unknown_accounts_are_refused_and_nothing_is_written(
    bank: BankService, store: EventStore
) -> None:
    for attempt in (
        lambda: bank.deposit("account-nope", "1"),
        lambda: bank.withdraw("account-nope", "1"),
        lambda: bank.close_account("account-nope"),
        lambda: bank.get_account("account-nope"),
    ):
        with pytest.raises(AccountNotFoundError, match="account-nope does not exist"):
            attempt()
    assert store.head_position() == 0


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("", "Amount is required"),
        ("abc", "must be a number"),
        ("NaN", "must be a number"),
        ("1e309", "must be a number"),
        ("0.001", "at most 2 decimal places"),
        ("-5", "Deposit amount must be positive"),
        ("0", "Deposit amount must be positive"),
        ("1000000000000", "too large"),
    ],
)
def test_bad_amounts_write_nothing_and_say_why(
    bank: BankService, store: EventStore, amount: str, message: str
) -> None:
    account = bank.open_account("cust-1", "10")
    before = store.head_position()
    with pytest.raises(ValidationError, match=message):
        bank.deposit(account, amount)
    assert store.head_position() == before


def test_floats_are_refused_outright(bank: BankService, store: EventStore) -> None:
    with pytest.raises(TypeError, match="float"):
        bank.open_account("cust-1", 100.0)  # type: ignore[arg-type]
    account = bank.open_account("cust-1", 100)
    with pytest.raises(TypeError, match="float"):
        bank.deposit(account, 0.1)  # type: ignore[arg-type]
    assert store.head_position() == 1


def test_bad_customer_and_initial_balance(bank: BankService, store: EventStore) -> None:
    with pytest.raises(ValidationError, match="non-negative"):
        bank.open_account("cust-1", "-1")
    with pytest.raises(ValidationError, match="Customer id is required"):
        bank.open_account("   ", "1")
    with pytest.raises(ValidationError, match="control characters"):
        bank.open_account("cust\x00", "1")
    assert store.head_position() == 0


def test_a_repeated_command_id_returns_the_first_result(
    bank: BankService, store: EventStore
) -> None:
    account = bank.open_account("cust-1", "100", command_id="open-42")
    assert bank.open_account("cust-1", "100", command_id="open-42") == account
    assert bank.deposit(account, "50", command_id="dep-1") == Decimal("150.00")
    bank.deposit(account, "1")
    # The repeat answers what the first attempt answered, not the balance now.
    assert bank.deposit(account, "50", command_id="dep-1") == Decimal("150.00")
    assert bank.withdraw(account, "20", command_id="wd-1") == Decimal("131.00")
    assert bank.withdraw(account, "20", command_id="wd-1") == Decimal("131.00")
    assert [e.type for e in store.read_stream(account)].count("money.deposited") == 2
    assert store.head_position() == 4 + 3  # and one claim per request id (open, dep, wd)


def test_a_repeat_through_another_service_instance_is_also_detected(
    store: EventStore,
) -> None:
    first = BankService(store, clerk_id="a")
    second = BankService(store, clerk_id="b")
    account = first.open_account("cust-1", "10")
    second.get_account(account)  # second caches the stream now
    first.deposit(account, "5", command_id="dup")
    # second's cache is stale: its append conflicts, it catches up and sees the command id
    assert second.deposit(account, "5", command_id="dup") == Decimal("15.00")
    assert store.head_position() == 2 + 1  # the deposit and the claim of "dup"


def test_the_same_command_id_with_a_different_request_is_refused(
    bank: BankService, store: EventStore
) -> None:
    account = bank.open_account("cust-1", "100")
    bank.deposit(account, "50", command_id="dep-1")
    with pytest.raises(CommandIdReusedError, match="dep-1 was already used"):
        bank.deposit(account, "60", command_id="dep-1")
    with pytest.raises(CommandIdReusedError):
        bank.withdraw(account, "50", command_id="dep-1")
    assert store.head_position() == 2 + 1  # the deposit and the claim of "dep-1"


def test_a_fresh_service_rebuilds_the_idempotency_index_from_the_stream(
    store: EventStore,
) -> None:
    account = BankService(store).open_account("cust-1", "10")
    BankService(store).deposit(account, "5", command_id="dep-1")
    later = BankService(store)
    assert later.deposit(account, "5", command_id="dep-1") == Decimal("15.00")
    with pytest.raises(CommandIdReusedError):
        BankService(store).deposit(account, "6", command_id="dep-1")
    assert store.head_position() == 2 + 1  # the deposit and the claim of "dep-1"


def test_rejections_carry_structured_details(bank: BankService) -> None:
    account = bank.open_account("cust-1", "100")
    with pytest.raises(DomainError) as refused:
        bank.withdraw(account, "200")
    assert refused.value.details == {"balance": "100.00", "requested": "200.00"}


def test_clerk_id_is_required() -> None:
    from bank_desktop.eventstore import open_store

    with pytest.raises(ValidationError, match="Clerk id"):
        BankService(open_store("memory://"), clerk_id=" ")
