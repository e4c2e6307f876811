"""StreamOrderedFeed: deliveries in any order, duplicated, mixed with the global feed, give
exactly the state of applying every event once in order."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bank_desktop.application.errors import MalformedEventError
from bank_desktop.application.projections import ReadModel
from bank_desktop.application.projections.stream_order import (
    DeliveryConflictError,
    StreamOrderedFeed,
)
from bank_desktop.eventstore import RecordedEvent
from tests.http.events import History


def state(model: ReadModel) -> list[tuple[Any, ...]]:
    return sorted(
        (r.account_id, r.balance, r.is_open, r.opened_at, r.closed_at, r.last_activity_at)
        for r in model.balances
    )


def in_order(history: History) -> ReadModel:
    model = ReadModel()
    model.apply(history.events)
    return model


def sample_history() -> History:
    h = History()
    h.open("a", 100)
    h.open("b", "5.50")
    h.deposit("a", "50")
    h.refuse("b", "10")
    h.withdraw("a", "30.25")
    h.deposit("b", "4.50")
    h.withdraw("b", "10")
    h.close("b")
    h.deposit("a", "0.01")
    return h


def test_out_of_order_batches_wait_for_their_predecessors() -> None:
    h = sample_history()
    model = ReadModel()
    feed = StreamOrderedFeed(model)
    late = [e for e in h.events if e.stream_position >= 3]
    early = [e for e in h.events if e.stream_position < 3]
    report = feed.deliver(late)
    assert report.applied == 0
    assert {(w.stream_id, w.stream_position) for w in report.waiting} == {
        (e.stream_id, e.stream_position) for e in late
    }
    assert feed.gaps() == [("a", 0, 3), ("b", 0, 3)]
    report = feed.deliver(early)
    assert report.applied == len(early)
    assert report.released == len(late)
    assert not report.waiting
    assert feed.held == 0
    assert state(model) == state(in_order(h))
    assert model.checkpoint == 0  # the global checkpoint is never touched


def test_redelivery_changes_nothing() -> None:
    h = sample_history()
    model = ReadModel()
    feed = StreamOrderedFeed(model)
    feed.deliver(h.events)
    before = state(model)
    report = feed.deliver(h.events)
    assert report.duplicates == len(h.events)
    assert report.applied == 0
    assert state(model) == before == state(in_order(h))


def test_duplicates_within_one_delivery_count_once() -> None:
    h = sample_history()
    model = ReadModel()
    report = StreamOrderedFeed(model).deliver(h.events + h.events[::-1])
    assert report.applied == len(h.events)
    assert report.duplicates == len(h.events)
    assert state(model) == state(in_order(h))


def test_a_refusal_the_global_feed_applied_unblocks_the_stream() -> None:
    h = sample_history()
    model = ReadModel()
    feed = StreamOrderedFeed(model)
    refusal = next(e for e in h.events if e.type == "money.withdrawal_refused")
    prefix = h.events[: h.events.index(refusal) + 1]
    model.apply(prefix)
    feed.note_applied(prefix)
    assert feed.position("b") == refusal.stream_position  # the row alone does not say so
    rest = h.events[len(prefix) :]
    report = feed.deliver(rest)
    assert not report.waiting
    assert state(model) == state(in_order(h))


def test_two_events_at_one_position_are_refused_before_anything_changes() -> None:
    h = sample_history()
    model = ReadModel()
    feed = StreamOrderedFeed(model)
    forged = RecordedEvent(
        "evt-forged",
        "money.deposited",
        dict(h.events[2].data),
        "a",
        2,
        99,
        h.events[2].created_at,
        {},
    )
    with pytest.raises(DeliveryConflictError):
        feed.deliver([h.events[2], forged])
    assert len(model.balances) == 0


def test_a_malformed_event_is_refused_before_anything_changes() -> None:
    h = sample_history()
    bad = RecordedEvent(
        "evt-bad",
        "money.deposited",
        {"accountId": "a", "amount": "ten", "depositedAt": "2026-11-02T10:00:00Z"},
        "a",
        2,
        3,
        h.events[2].created_at,
        {},
    )
    model = ReadModel()
    with pytest.raises(MalformedEventError, match="amount"):
        StreamOrderedFeed(model).deliver([h.events[0], bad])
    assert len(model.balances) == 0


def test_the_buffer_is_bounded() -> None:
    h = History()
    h.open("a", 1)
    for _ in range(20):
        h.deposit("a", "1")
    model = ReadModel()
    feed = StreamOrderedFeed(model, max_held=5)
    report = feed.deliver(h.events[1:])
    assert feed.held == 5
    assert len(report.waiting) == 20
    feed.deliver(h.events[:1])  # applies what was held; the rest must be redelivered
    assert model.balances.get("a").balance == Decimal(6)  # type: ignore[union-attr]
    feed.deliver(h.events)
    assert state(model) == state(in_order(h))


@st.composite
def histories(draw: st.DrawFn) -> History:
    h = History()
    streams = [f"s{i}" for i in range(draw(st.integers(1, 4)))]
    balances: dict[str, Decimal] = {}
    open_: set[str] = set()
    for _ in range(draw(st.integers(1, 30))):
        stream = draw(st.sampled_from(streams))
        cents = Decimal(draw(st.integers(1, 50_000))) / 100
        if stream not in balances:
            h.open(stream, str(cents))
            balances[stream] = cents
            open_.add(stream)
        elif stream not in open_:
            continue
        elif draw(st.booleans()):
            h.deposit(stream, str(cents))
            balances[stream] += cents
        elif cents <= balances[stream]:
            h.withdraw(stream, str(cents))
            balances[stream] -= cents
        elif draw(st.booleans()):
            h.refuse(stream, str(cents))
        elif balances[stream] == 0:
            h.close(stream)
            open_.discard(stream)
    return h


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), history=histories())
def test_any_delivery_order_with_redeliveries_gives_the_in_order_state(
    data: st.DataObject, history: History
) -> None:
    events = history.events
    # Deliveries: random batches (each event at least once, some twice), in random order,
    # interleaved with the global feed advancing over a prefix of the history.
    extra = data.draw(st.lists(st.sampled_from(events), max_size=len(events)))
    pool = data.draw(st.permutations(events + extra))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(pool)), max_size=6)))
    batches = [pool[a:b] for a, b in zip([0, *cuts], [*cuts, len(pool)], strict=True)]
    global_prefix = data.draw(st.integers(0, len(events)))
    global_at = data.draw(st.integers(0, len(batches)))
    model = ReadModel()
    feed = StreamOrderedFeed(model)
    for index, batch in enumerate(batches):
        if index == global_at:
            model.apply(events[:global_prefix])
            feed.note_applied(events[:global_prefix])
        feed.deliver(batch)
    if global_at >= len(batches):
        model.apply(events[:global_prefix])
        feed.note_applied(events[:global_prefix])
    assert feed.held == 0
    assert state(model) == state(in_order(history))
    # and the global feed finishing afterwards changes nothing
    model.apply(events)
    feed.note_applied(events)
    assert state(model) == state(in_order(history))
