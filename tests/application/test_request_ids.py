"""A request id names one request forever (issue 11, minor): on any stream, in any process.

The store's per-stream index caught a repeated id only on the stream it was first used on: the
same ``--request-id`` or ``Idempotency-Key`` sent for a deposit into another account, or for a
transfer, was applied a second time. Each client id is now bound to its request by a claim in
the store before the command runs, so a reuse for anything else is refused everywhere, and the
same request again still replays its first result.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from bank_desktop.application import BankService
from bank_desktop.domain import CommandIdReusedError, DomainError
from bank_desktop.eventstore.port import EventStore
from tests.application.conftest import StepClock


@pytest.fixture
def bank(store: EventStore) -> BankService:
    return BankService(store, clerk_id="clerk-7", clock=StepClock())


def test_a_request_id_reused_on_another_account_is_refused(
    bank: BankService, store: EventStore
) -> None:
    first = bank.open_account("cust-1", "100")
    second = bank.open_account("cust-2", "100")
    assert bank.deposit(first, "10", command_id="k-1") == Decimal("110.00")
    before = store.head_position()
    with pytest.raises(CommandIdReusedError, match="k-1"):
        bank.deposit(second, "10", command_id="k-1")
    with pytest.raises(CommandIdReusedError):
        bank.withdraw(second, "10", command_id="k-1")
    with pytest.raises(CommandIdReusedError):
        bank.transfer(second, first, "10", command_id="k-1")
    with pytest.raises(CommandIdReusedError):
        bank.open_account("cust-3", "1", command_id="k-1")
    empty = bank.open_account("cust-4", "0")
    before = store.head_position()
    with pytest.raises(CommandIdReusedError):
        bank.close_account(empty, command_id="k-1")
    assert store.head_position() == before
    assert [bank.get_account(a).balance for a in (first, second)] == [
        Decimal("110.00"),
        Decimal("100.00"),
    ]


def test_the_same_request_again_replays_in_any_process(
    bank: BankService, store: EventStore
) -> None:
    account = bank.open_account("cust-1", "100", command_id="open-1")
    assert bank.deposit(account, "10", command_id="k-1") == Decimal("110.00")
    other = BankService(store, clerk_id="clerk-8", clock=StepClock())
    assert other.open_account("cust-1", "100", command_id="open-1") == account
    assert other.deposit(account, "10.0", command_id="k-1") == Decimal("110.00")
    with pytest.raises(CommandIdReusedError):
        other.deposit(account, "11", command_id="k-1")
    assert other.get_account(account).balance == Decimal("110.00")


def test_a_transfer_id_cannot_be_reused_for_a_deposit(bank: BankService) -> None:
    source = bank.open_account("cust-1", "100")
    target = bank.open_account("cust-2", "0")
    bank.transfer(source, target, "10", command_id="t-1")
    with pytest.raises(CommandIdReusedError):
        bank.deposit(target, "10", command_id="t-1")
    assert bank.transfer(source, target, "10", command_id="t-1")  # the same: replayed
    assert bank.get_account(target).balance == Decimal("10.00")


def test_commands_without_an_id_claim_nothing(bank: BankService, store: EventStore) -> None:
    account = bank.open_account("cust-1", "100")
    before = store.head_position()
    bank.deposit(account, "1")
    assert store.head_position() == before + 1  # a fresh id is unique: no claim to write


def test_a_refused_request_writes_nothing_and_binds_nothing(
    bank: BankService, store: EventStore
) -> None:
    account = bank.open_account("cust-1", "100")
    before = store.head_position()
    with pytest.raises(DomainError, match="Insufficient funds"):
        bank.withdraw(account, "500", command_id="w-1")
    assert store.head_position() == before  # not even a claim
    assert bank.withdraw(account, "50", command_id="w-1") == Decimal("50.00")  # corrected
    with pytest.raises(CommandIdReusedError):
        bank.withdraw(account, "500", command_id="w-1")
