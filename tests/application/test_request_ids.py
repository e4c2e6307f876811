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
from bank_desktop.application.request_claims import claim_stream_id
from bank_desktop.domain import CommandIdReusedError, DomainError
from bank_desktop.eventstore.port import EventStore
from tests.application.conftest import CountingStore, StepClock


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


# ── one transaction (issue 16): the claim is written with the command's events ──────────────


def test_a_keyed_command_writes_its_claim_and_events_in_one_append(store: EventStore) -> None:
    counting = CountingStore(store)
    bank = BankService(counting, clock=StepClock())
    account = bank.open_account("cust-1", "100")
    counting.appends = 0
    assert bank.deposit(account, "10", command_id="k-1") == Decimal("110.00")
    assert counting.appends == 1
    claim, deposit = store.read_all(after=store.head_position() - 2)
    assert (claim.type, deposit.type) == ("request.claimed", "money.deposited")
    assert claim.stream_id == claim_stream_id("k-1")
    assert claim.data["streamId"] == deposit.stream_id == account


def test_without_multi_stream_appends_the_claim_is_an_append_of_its_own(
    store: EventStore,
) -> None:
    counting = CountingStore(store)
    counting.optimistic_only = True  # like DeltaBase
    bank = BankService(counting, clock=StepClock())
    account = bank.open_account("cust-1", "100")
    counting.appends = 0
    assert bank.deposit(account, "10", command_id="k-1") == Decimal("110.00")
    assert counting.appends == 2
    with pytest.raises(CommandIdReusedError):
        BankService(counting, clock=StepClock()).deposit(account, "11", command_id="k-1")


def test_a_twin_that_commits_first_is_replayed_not_repeated(store: EventStore) -> None:
    counting = CountingStore(store)
    mine = BankService(counting, clock=StepClock())
    twin = BankService(store, clock=StepClock())
    account = mine.open_account("cust-1", "100")
    mine.get_account(account)

    def twin_first(_: str) -> None:  # the same request, through another desk, a moment ahead
        twin.deposit(account, "10", command_id="k-1")

    counting.before_append = twin_first
    assert mine.deposit(account, "10", command_id="k-1") == Decimal("110.00")
    assert BankService(store).get_account(account).balance == Decimal("110.00")
    deposits = [e for e in store.read_stream(account) if e.type == "money.deposited"]
    assert len(deposits) == 1


def test_an_id_claimed_meanwhile_for_another_request_is_refused_and_writes_nothing(
    store: EventStore,
) -> None:
    counting = CountingStore(store)
    mine = BankService(counting, clock=StepClock())
    other = BankService(store, clock=StepClock())
    account = mine.open_account("cust-1", "100")
    second = mine.open_account("cust-2", "100")

    def other_first(_: str) -> None:
        other.deposit(second, "5", command_id="k-1")

    counting.before_append = other_first
    head = store.head_position()
    with pytest.raises(CommandIdReusedError):
        mine.deposit(account, "10", command_id="k-1")
    assert store.head_position() == head + 2  # only the other desk's claim and deposit
    assert mine.get_account(account).balance == Decimal("100.00")


def test_a_contended_keyed_command_claims_inside_the_locked_append(store: EventStore) -> None:
    counting = CountingStore(store)
    mine = BankService(counting, clock=StepClock())
    theirs = BankService(store, clock=StepClock())
    account = mine.open_account("cust-1", "100")
    mine.get_account(account)

    def sneak_in(_: str) -> None:
        theirs.deposit(account, "1")  # moves the stream: the optimistic append conflicts

    counting.before_append = sneak_in
    assert mine.deposit(account, "10", command_id="k-1") == Decimal("111.00")
    claims = store.read_stream(claim_stream_id("k-1"))
    assert len(claims) == 1
    deposit = store.read_stream(account)[-1]
    assert deposit.global_position == claims[0].global_position + 1  # one locked append
    with pytest.raises(CommandIdReusedError):
        theirs.withdraw(account, "1", command_id="k-1")
