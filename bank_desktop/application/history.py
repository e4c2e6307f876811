"""The store's whole history, newest first, one page at a time, filtered for an audit view.

The Event log pages backwards from the newest event and only as far as the clerk scrolls.
A store that offers :class:`~bank_desktop.eventstore.port.BackwardReader` answers each page
with one indexed query. Any other store (DeltaBase) is read forward in windows below the
cursor and filtered here; a page then stops after ``scan`` events even if it found fewer
than ``limit`` matches, so one request never reads the whole store, and ``next_before``
says where to go on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from bank_desktop.domain.accounts import ACCOUNT_EVENT_TYPES
from bank_desktop.domain.approvals import APPROVAL_EVENT_TYPES
from bank_desktop.domain.customers import CUSTOMER_EVENT_TYPES
from bank_desktop.domain.national_ids import NATIONAL_ID_EVENT_TYPES
from bank_desktop.domain.policy import POLICY_EVENT_TYPES
from bank_desktop.domain.staff import STAFF_EVENT_TYPES
from bank_desktop.domain.transfers import TRANSFER_EVENT_TYPES
from bank_desktop.eventstore.port import BackwardReader, EventStore, RecordedEvent

#: The metadata key events record their clerk under.
CLERK_KEY: Final = "clerkId"
#: Events a fallback page reads at most before it returns what it found.
SCAN_BUDGET: Final = 5_000
#: The event types this application writes (a store may hold others too).
KNOWN_EVENT_TYPES: Final = tuple(
    sorted(
        {
            *ACCOUNT_EVENT_TYPES,
            *TRANSFER_EVENT_TYPES,
            *APPROVAL_EVENT_TYPES,
            *STAFF_EVENT_TYPES,
            *POLICY_EVENT_TYPES,
            *CUSTOMER_EVENT_TYPES,
            *NATIONAL_ID_EVENT_TYPES,
        }
    )
)


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Which events an audit view shows; None means any."""

    event_type: str | None = None
    stream_id: str | None = None  #: an account id (or any stream id), matched exactly
    clerk_id: str | None = None

    @property
    def is_empty(self) -> bool:
        return self.event_type is None and self.stream_id is None and self.clerk_id is None

    def matches(self, event: RecordedEvent) -> bool:
        """Whether ``event`` passes (live events are checked with this, pages by the store)."""
        if self.event_type is not None and event.type != self.event_type:
            return False
        if self.stream_id is not None and event.stream_id != self.stream_id:
            return False
        if self.clerk_id is not None:
            try:
                return event.metadata.get(CLERK_KEY) == self.clerk_id
            except (LookupError, AttributeError):  # metadata not loaded, or damaged
                return False
        return True


@dataclass(frozen=True, slots=True)
class HistoryPage:
    """Matching events newest first, and where the next (older) page starts."""

    events: Sequence[RecordedEvent]
    next_before: int | None  #: pass as ``before`` for older events; None: nothing older

    @property
    def exhausted(self) -> bool:
        return self.next_before is None


def read_history(
    store: EventStore,
    query: EventFilter,
    *,
    before: int | None = None,
    limit: int = 200,
    scan: int = SCAN_BUDGET,
) -> HistoryPage:
    """One page of ``query``'s events with global position < ``before``, newest first.

    Blocks on the store: call it off the GUI thread.
    """
    if isinstance(store, BackwardReader):
        events = store.read_backwards(
            before=before,
            limit=limit,
            event_type=query.event_type,
            stream_id=query.stream_id,
            metadata_equals=None if query.clerk_id is None else (CLERK_KEY, query.clerk_id),
        )
        more = len(events) == limit and events[-1].global_position > 1
        return HistoryPage(events, events[-1].global_position if more else None)
    if query.stream_id is not None:
        return _stream_page(store, query, before, limit)
    return _scanned_page(store, query, before, limit, scan)


def _stream_page(
    store: EventStore, query: EventFilter, before: int | None, limit: int
) -> HistoryPage:
    """One stream, read whole and filtered here: a stream is an account's history."""
    assert query.stream_id is not None
    events = [
        event
        for event in reversed(store.read_stream(query.stream_id))
        if (before is None or event.global_position < before) and query.matches(event)
    ]
    page = events[:limit]
    more = len(events) > limit
    return HistoryPage(page, page[-1].global_position if more else None)


def _scanned_page(
    store: EventStore, query: EventFilter, before: int | None, limit: int, scan: int
) -> HistoryPage:
    """Forward reads in windows below ``before``, newest window first, filtered here."""
    top = store.head_position() if before is None else before - 1  # highest position to read
    found: list[RecordedEvent] = []
    scanned = 0
    window = max(limit, 500)
    types = None if query.event_type is None else [query.event_type]
    while top > 0 and len(found) < limit and scanned < scan:
        low = max(0, top - window)
        chunk = store.read_all(after=low, limit=top - low, types=types)
        scanned += top - low
        matching = [
            event
            for event in reversed(chunk)
            if event.global_position <= top and query.matches(event)  # a typed read runs on
        ]
        room = limit - len(found)
        if len(matching) > room:
            found.extend(matching[:room])
            return HistoryPage(found, found[-1].global_position)
        found.extend(matching)
        top = low
    return HistoryPage(found, top + 1 if top > 0 else None)
