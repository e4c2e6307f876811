"""Every append of the application leaves linked into its stream's hash chain, on every path:
commands (optimistic and decided under the store's lock, on stores with and without that),
transfers, request claims, demo data, and streams begun before the chain existed."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest

from bank_desktop.application import BankService
from bank_desktop.application.appending import ChainedAppender, default_digest
from bank_desktop.application.chain import (
    GENESIS,
    event_digest,
    head_after,
    implied_hash,
    stored_link,
)
from bank_desktop.application.demo_data import fill_demo_data
from bank_desktop.eventstore import ANY, STREAM_EXISTS, ConcurrencyError, NewEvent
from bank_desktop.eventstore.port import EventStore, RecordedEvent
from tests.application.conftest import CountingStore, StepClock


def all_events(store: EventStore) -> list[RecordedEvent]:
    out: list[RecordedEvent] = []
    while page := store.read_all(after=out[-1].global_position if out else 0, limit=1000):
        out.extend(page)
    return out


def assert_fully_chained(store: EventStore) -> int:
    """Every event carries a link, each link names its predecessor, each hash its content."""
    streams: dict[str, list[RecordedEvent]] = defaultdict(list)
    for event in all_events(store):
        streams[event.stream_id].append(event)
    for events in streams.values():
        head = GENESIS
        for event in events:
            link = stored_link(event)
            assert link is not None, f"{event} is not chained"
            assert link[0] == head, f"{event} does not follow its predecessor"
            assert link[1] == implied_hash(head, event), f"{event}'s hash is not its content's"
            head = link[1]
    return sum(len(events) for events in streams.values())


def test_every_command_and_transfer_is_chained(store: EventStore) -> None:
    bank = BankService(store, clerk_id="clerk-7", clock=StepClock())
    a = bank.open_account("cust-1", "100", command_id="req-open-a")
    b = bank.open_account("cust-2", "0")
    bank.deposit(a, "50", command_id="req-deposit")
    bank.withdraw(a, "20.50")
    bank.transfer(a, b, "10", command_id="req-transfer")
    bank.transfer(b, a, "10")
    bank.withdraw(a, "129.50")
    bank.close_account(a, reason="moving away")
    claims = [e for e in all_events(store) if e.type == "request.claimed"]
    assert len(claims) == 3
    assert assert_fully_chained(store) == 19


def test_conflicts_decided_under_the_lock_stay_chained(store: EventStore) -> None:
    first = BankService(store, clerk_id="clerk-1", clock=StepClock())
    account = first.open_account("cust-1", "100")
    first.deposit(account, "1")
    second = BankService(store, clerk_id="clerk-2", clock=StepClock())
    second.deposit(account, "2")
    second.deposit(account, "3")
    first.deposit(account, "4")  # stale cache: conflicts, then decided on the missed tail
    assert first.get_account(account).balance == 110
    assert assert_fully_chained(store) == 5


def test_conflicts_on_a_store_without_a_lock_stay_chained(store: EventStore) -> None:
    """DeltaBase cannot decide under a lock: the handler re-reads and retries."""
    counting = CountingStore(store)
    counting.optimistic_only = True
    first = BankService(counting, clerk_id="clerk-1", clock=StepClock())  # type: ignore[arg-type]
    account = first.open_account("cust-1", "100")
    BankService(store, clerk_id="clerk-2", clock=StepClock()).deposit(account, "2")
    first.deposit(account, "4")
    assert assert_fully_chained(store) == 3


def test_a_stream_begun_before_the_chain_continues_from_its_implied_head(
    store: EventStore,
) -> None:
    """Events an earlier version wrote carry no links: the first chained event follows
    their implied hashes, which seals them too."""
    bank = BankService(store, clerk_id="clerk-7", clock=StepClock())
    account = bank.open_account("cust-1", "100")
    bank.deposit(account, "1")
    # what an earlier version wrote: the same events without links
    old = store.read_stream(account)
    store.append(
        "legacy",
        [NewEvent(e.type, {**e.data, "accountId": "legacy"}, {"clerkId": "old"}) for e in old],
        0,
    )
    fresh = BankService(store, clerk_id="clerk-7", clock=StepClock())
    fresh.deposit("legacy", "5")
    events = store.read_stream("legacy")
    assert [stored_link(e) is None for e in events] == [True, True, False]
    link = stored_link(events[2])
    assert link is not None
    assert link[0] == head_after(GENESIS, events[:2])


def test_an_append_at_an_unknown_position_reads_just_the_event_before_it(
    store: EventStore,
) -> None:
    writer = ChainedAppender(store)
    writer.append("s", [NewEvent("t", {"n": n}) for n in range(3)], 0)
    counting = CountingStore(store)
    late = ChainedAppender(counting)  # type: ignore[arg-type]
    late.append("s", [NewEvent("t", {"n": 3})], 3)
    assert counting.reads == 1
    late.append("s", [NewEvent("t", {"n": 4})], 4)  # its own append taught it the head
    assert counting.reads == 1
    with pytest.raises(ConcurrencyError):
        late.append("s", [NewEvent("t", {})], 2)
    assert assert_fully_chained(store) == 5


def test_any_and_stream_exists_are_resolved_to_the_position(store: EventStore) -> None:
    writer = ChainedAppender(store)
    with pytest.raises(ConcurrencyError):
        writer.append("s", [NewEvent("t", {})], STREAM_EXISTS)
    writer.append("s", [NewEvent("t", {})], ANY)
    writer.append("s", [NewEvent("t", {})], STREAM_EXISTS)
    assert assert_fully_chained(store) == 2


def test_demo_data_is_chained(store: EventStore) -> None:
    summary = fill_demo_data(store, events=600, chunk=97)
    assert assert_fully_chained(store) == summary.events


def test_stores_lend_their_fast_digest_and_its_links_verify_by_the_reference(
    store: EventStore,
) -> None:
    appender = ChainedAppender(store)
    assert default_digest(store) is not event_digest  # msgspec's, from eventstore.canonical
    awkward = [
        NewEvent("t", {"amount": Decimal("50.00"), "big": Decimal("1E+3")}, {"clerkId": "é"}),
        NewEvent("t", {"nested": {"z": [1, Decimal("-0.0"), None, True]}, "a": '\u2028"'}, {}),
        NewEvent("t", {"text": "\U0001f4b6 naïve"}, {"commandId": "c-1", "appVersion": "1"}),
    ]
    appender.append("acc-1", awkward, ANY)
    appender.append("acc-1", awkward[:1], 3)
    assert assert_fully_chained(store) == 4


def test_a_store_without_a_fast_digest_appends_with_the_reference(store: EventStore) -> None:
    counting = CountingStore(store)
    counting.no_fast_digest = True
    assert default_digest(counting) is event_digest
    ChainedAppender(counting).append("acc-1", [NewEvent("t", {"n": Decimal("1.10")}, {})], ANY)
    assert assert_fully_chained(store) == 1
