"""Command handling: cached state, conflicts re-decided, and a cost that does not grow."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bank_desktop.application import ACCOUNTS, BankService, CommandHandler
from bank_desktop.application.command_handling import handle_command
from bank_desktop.application.fingerprints import command_fingerprint
from bank_desktop.backoff import Backoff
from bank_desktop.domain import ValidationError, accounts
from bank_desktop.eventstore import ConcurrencyError, open_store
from bank_desktop.eventstore.port import EventStore
from tests.application.conftest import CountingStore, StepClock


def test_a_warm_command_costs_one_append_and_no_read(store: EventStore) -> None:
    counting = CountingStore(store)
    bank = BankService(counting, clock=StepClock())
    account = bank.open_account("cust-1", "100")
    bank.deposit(account, "1")
    counting.reads = counting.appends = 0
    for _ in range(20):
        bank.deposit(account, "1")
    assert (counting.reads, counting.appends) == (0, 20)


@pytest.mark.parametrize("optimistic_only", [False, True])
def test_a_stale_cache_conflicts_and_the_command_is_decided_again(
    store: EventStore, optimistic_only: bool
) -> None:
    counting = CountingStore(store)
    counting.optimistic_only = optimistic_only
    mine = BankService(counting, clock=StepClock())
    theirs = BankService(store, clock=StepClock())
    account = mine.open_account("cust-1", "100")
    theirs.withdraw(account, "60")  # unseen by mine's cache
    counting.reads = 0
    assert mine.withdraw(account, "30") == Decimal("10.00")
    # Decided again under the store's lock (which reads the missed events itself), or, on a
    # store without that, after one catch-up read: nothing more either way, beyond the one
    # read of the approval limit every withdrawal makes (another desk may have changed it).
    assert counting.reads == 1 + (1 if optimistic_only else 0)


def test_a_rule_violation_on_stale_state_is_checked_on_fresh_state(store: EventStore) -> None:
    mine = BankService(store, clock=StepClock())
    theirs = BankService(store, clock=StepClock())
    account = mine.open_account("cust-1", "10")
    theirs.deposit(account, "100")
    # Stale cache says 10.00: the refusal is confirmed against the store, which says 110.00.
    assert mine.withdraw(account, "50") == Decimal("60.00")


def test_conflicts_beyond_the_retry_budget_surface_as_concurrency_error() -> None:
    # A store that cannot decide under its lock (DeltaBase) retries optimistically, bounded.
    store = open_store("memory://")
    counting = CountingStore(store)
    counting.optimistic_only = True
    sleeps: list[float] = []
    handler = CommandHandler(
        counting, retry=Backoff(base=0.001, cap=0.1, max_attempts=3), sleep=sleeps.append
    )
    bank = BankService(store)
    account = bank.open_account("cust-1", "100")

    def sneak_in(_: str) -> None:
        bank.deposit(account, "1")
        counting.before_append = sneak_in  # and again on every retry

    counting.before_append = sneak_in
    command = accounts.DepositMoney(account, Decimal("5.00"), None, StepClock()())
    with pytest.raises(ConcurrencyError):
        handler.execute(account, command, ACCOUNTS, command_id="c1", metadata={})
    assert len(sleeps) == 2  # backed off between the three attempts
    assert all(0 <= pause <= 0.05 for pause in sleeps)


def test_a_contended_command_is_decided_under_the_lock_and_never_conflicts(
    store: EventStore,
) -> None:
    counting = CountingStore(store)
    handler = CommandHandler(counting, sleep=lambda _: pytest.fail("no back-off needed"))
    bank = BankService(store)
    account = bank.open_account("cust-1", "100")
    handler.current(account, ACCOUNTS)

    def sneak_in(_: str) -> None:
        bank.withdraw(account, "90")  # another clerk wins the optimistic race
        counting.before_append = sneak_in

    counting.before_append = sneak_in
    command = accounts.WithdrawMoney(account, Decimal("5.00"), None, StepClock()())
    result = handler.execute(account, command, ACCOUNTS, command_id="c1", metadata={})
    assert result.state.balance == Decimal("5.00")  # decided on the balance after the race
    overdraw = accounts.WithdrawMoney(account, Decimal("6.00"), None, StepClock()())
    with pytest.raises(ValidationError, match="Insufficient funds"):  # refused under the lock
        handler.execute(account, overdraw, ACCOUNTS, command_id="c2", metadata={})
    assert BankService(store).get_account(account).balance == Decimal("5.00")


def test_handle_command_is_the_one_shot_form(store: EventStore) -> None:
    at = StepClock()()
    result = handle_command(
        store,
        "account-x",
        accounts.OpenAccount("account-x", "cust-1", Decimal("5.00"), at),
        ACCOUNTS,
        command_id="open-x",
    )
    assert result.state.balance == Decimal("5.00")
    assert result.stream_position == 1
    assert [e.type for e in result.events] == ["account.opened"]
    again = handle_command(
        store,
        "account-x",
        accounts.OpenAccount("account-x", "cust-1", Decimal("5.00"), at),
        ACCOUNTS,
        command_id="open-x",
    )
    assert again.replayed
    assert again.events == result.events or [e.event_id for e in again.events] == [
        e.event_id for e in result.events
    ]


def test_fingerprint_ignores_time_but_not_content() -> None:
    clock = StepClock()
    one = accounts.DepositMoney("a", Decimal("5.00"), "x", clock())
    later = accounts.DepositMoney("a", Decimal("5.0"), "x", clock())
    other = accounts.DepositMoney("a", Decimal("5.01"), "x", clock())
    assert command_fingerprint(one) == command_fingerprint(later)
    assert command_fingerprint(one) != command_fingerprint(other)


def test_the_cache_is_bounded(store: EventStore) -> None:
    counting = CountingStore(store)
    bank = BankService(counting, cache_size=2, clock=StepClock())
    ids = [bank.open_account(f"cust-{i}", "1") for i in range(3)]
    counting.reads = 0
    bank.deposit(ids[0], "1")  # evicted: read once to reload
    assert counting.reads == 1


def test_commands_refuse_a_stream_they_cannot_read(store: EventStore) -> None:
    from bank_desktop.application import MalformedEventError
    from bank_desktop.eventstore import EventStoreError, NewEvent

    bank = BankService(store, clock=StepClock())
    account = bank.open_account("cust-1", "10")
    store.append(account, [NewEvent("money.deposited", {"amount": "lots"})], 1)
    fresh = BankService(store)
    with pytest.raises(MalformedEventError, match=r"position 2.*'accountId'") as refused:
        fresh.deposit(account, "5")
    assert isinstance(refused.value, EventStoreError)
    assert "ask IT" in str(refused.value)
    assert store.head_position() == 2
