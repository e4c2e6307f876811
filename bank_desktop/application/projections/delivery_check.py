"""Checking pushed events (a webhook delivery) against the store: a delivery is only a hint.

The read model reflects the configured store and nothing else. A push subscription such as
DeltaBase's webhook says "these events happened"; anyone who has (or guesses) the token can
say so too, and a misconfigured sender can say it about another store. So a delivery is never
applied: each delivered event is looked up in the store at its stream position, and only when
the store holds that very event (same id, same type, same data) is the delivery confirmed; the
read model then catches up *from the store*. Anything else is reported, event by event:

- *contradicted*: the store holds another event at that position, or has no such stream (an
  unknown account): the delivery is wrong, and will stay wrong;
- *not yet*: the stream exists but ends before that position: the event may not be visible
  yet (or never will be); the sender may try again later.

Reads are one indexed ``read_stream`` per run of consecutive positions of a stream.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bank_desktop.eventstore.port import EventStore, RecordedEvent


@dataclass(frozen=True, slots=True)
class Disagreement:
    """One delivered event the store does not confirm, and why."""

    event_id: str
    stream_id: str
    stream_position: int
    problem: str


@dataclass(slots=True)
class DeliveryCheck:
    """The outcome of :func:`check_delivery`."""

    confirmed: list[RecordedEvent] = field(default_factory=list)  #: the store's own events
    contradicted: list[Disagreement] = field(default_factory=list)
    not_yet: list[Disagreement] = field(default_factory=list)

    @property
    def last_position(self) -> int:
        """The highest global position (the store's) among the confirmed events; 0 if none."""
        return max((event.global_position for event in self.confirmed), default=0)


def check_delivery(store: EventStore, events: Sequence[RecordedEvent]) -> DeliveryCheck:
    """Compare each delivered event with what the store holds at its stream position."""
    check = DeliveryCheck()
    by_stream: dict[str, list[RecordedEvent]] = {}
    for event in events:
        by_stream.setdefault(event.stream_id, []).append(event)
    for stream_id in sorted(by_stream):
        delivered = by_stream[stream_id]
        held = _stored(store, stream_id, sorted({e.stream_position for e in delivered}))
        end: int | None = None
        for event in delivered:
            found = held.get(event.stream_position)
            if found is None:
                end = store.stream_position(stream_id) if end is None else end
                if end == 0:
                    check.contradicted.append(
                        _disagree(event, f"the store has no stream (account) {stream_id!r}")
                    )
                else:
                    check.not_yet.append(
                        _disagree(event, f"the store's stream ends at position {end}")
                    )
                continue
            problem = _difference(event, found)
            if problem is None:
                check.confirmed.append(found)
            else:
                check.contradicted.append(_disagree(event, problem))
    return check


def _stored(store: EventStore, stream_id: str, positions: list[int]) -> dict[int, RecordedEvent]:
    """The store's events of ``stream_id`` at ``positions``: one read per consecutive run."""
    found: dict[int, RecordedEvent] = {}
    start = 0
    while start < len(positions):
        end = start
        while end + 1 < len(positions) and positions[end + 1] == positions[end] + 1:
            end += 1
        first, count = positions[start], positions[end] - positions[start] + 1
        for event in store.read_stream(stream_id, after=first - 1, limit=count):
            found[event.stream_position] = event
        start = end + 1
    return found


def _difference(delivered: RecordedEvent, stored: RecordedEvent) -> str | None:
    if stored.event_id != delivered.event_id:
        return f"the store holds another event there ({stored.event_id})"
    if stored.type != delivered.type:
        return f"the store's event there is a {stored.type}, not a {delivered.type}"
    if stored.data != delivered.data:
        return "its data differ from the store's event there"
    return None


def _disagree(event: RecordedEvent, problem: str) -> Disagreement:
    return Disagreement(event.event_id, event.stream_id, event.stream_position, problem)
