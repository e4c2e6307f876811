"""The one way the application appends: every event leaves here linked into its stream's chain.

Command handling (both its optimistic and its under-the-lock path), request claims and the
demo data all append through a :class:`ChainedAppender`, which adds ``prevHash`` and
``hash`` (:mod:`~bank_desktop.application.chain`) to each event's metadata before the store
sees it. A link needs the hash of the event before it, so the appender keeps each stream's
head (position and hash) as it appends and as command handling reads streams; an append at a
position it does not know reads that one event (or, for a stream written before the chain,
the stream up to there, once) to learn it. A head is never wrong for long: events do not
change, so a known hash at a position stays true, and an append at a stale position fails
with ``ConcurrencyError`` in the store as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from bank_desktop.application.chain import (
    CHAIN_TAG,
    COVERED_METADATA,
    GENESIS,
    HASH_KEY,
    PREV_KEY,
    ChainDigest,
    chained,
    event_digest,
    head_after,
    stored_link,
)
from bank_desktop.application.lru import LockedLru
from bank_desktop.eventstore.errors import ConcurrencyError
from bank_desktop.eventstore.port import (
    ANY,
    NO_STREAM,
    STREAM_EXISTS,
    AppendRequest,
    AppendResult,
    ChainDigestSource,
    DecideTail,
    DecidingAppender,
    EventStore,
    ExpectedPosition,
    MultiStreamAppender,
    NewEvent,
    RecordedEvent,
)

#: How often an append that expects "any" position retries when another writer moves the
#: stream between reading its position and appending.
_ANY_ATTEMPTS: Final = 20
_PAGE: Final = 5000


def default_digest(store: EventStore) -> ChainDigest:
    """The chain digest to append with: the store's byte-identical fast one when it offers
    one (``ChainDigestSource``: SHA-256 over msgspec's encoding, a few times faster than the
    reference's string building), else the reference :func:`event_digest`."""
    if isinstance(store, ChainDigestSource):
        return store.chain_digest(CHAIN_TAG, COVERED_METADATA, (PREV_KEY, HASH_KEY), event_digest)
    return event_digest


class ChainedAppender:
    """Appends to one store with each event linked into its stream's hash chain.

    Safe to share between threads: the head cache holds only facts (the hash at a position).
    """

    def __init__(
        self,
        store: EventStore,
        *,
        digest: ChainDigest | None = None,
        cache_size: int = 10_000,
    ) -> None:
        self._store = store
        self._digest = digest or default_digest(store)
        self._heads: LockedLru[str, tuple[int, str]] = LockedLru(cache_size)

    @property
    def store(self) -> EventStore:
        return self._store

    # ── heads ─────────────────────────────────────────────────────────────────────────────

    def observe(self, events: Sequence[RecordedEvent]) -> None:
        """Remember the head a read showed (the last event of each stream, when chained)."""
        last: dict[str, RecordedEvent] = {}
        for event in events:
            last[event.stream_id] = event
        for stream_id, event in last.items():
            link = stored_link(event) if event.has_metadata else None
            if link is not None:
                self._remember(stream_id, event.stream_position, link[1])

    def head(self, stream_id: str, position: int) -> str:
        """The hash at ``position`` of the stream (GENESIS at 0): cached, else read."""
        if position <= 0:
            return GENESIS
        known = self._heads.get(stream_id)
        if known is not None and known[0] == position:
            return known[1]
        at = self._store.read_stream(stream_id, after=position - 1, limit=1)
        link = stored_link(at[0]) if at else None
        if link is not None:
            head = link[1]
        elif not at:
            # The stream is shorter than the writer believes: the append conflicts in the
            # store; the link is never written.
            return GENESIS
        else:  # written before the chain: the implied hashes of everything up to here
            head = self._implied_head(stream_id, position)
        self._remember(stream_id, position, head)
        return head

    def _implied_head(self, stream_id: str, position: int) -> str:
        head, after = GENESIS, 0
        while after < position:
            page = self._store.read_stream(
                stream_id, after=after, limit=min(_PAGE, position - after)
            )
            if not page:
                break
            head = head_after(head, page, self._digest)
            after = page[-1].stream_position
        return head

    def _remember(self, stream_id: str, position: int, head: str) -> None:
        self._heads.put(stream_id, (position, head), keep=lambda current: current[0] > position)

    # ── appends ───────────────────────────────────────────────────────────────────────────

    def append(
        self, stream_id: str, events: Sequence[NewEvent], expected: ExpectedPosition
    ) -> AppendResult:
        """Like ``EventStore.append``; ``expected`` "any" or "stream exists" is resolved to the
        stream's current position first (a link names its position)."""
        if expected is ANY or expected is STREAM_EXISTS:
            return self._append_unpositioned(stream_id, events, expected)
        position = 0 if expected is NO_STREAM else expected
        assert isinstance(position, int)
        linked, head = chained(
            stream_id, position + 1, self.head(stream_id, position), events, self._digest
        )
        result = self._store.append(stream_id, linked, position or NO_STREAM)
        if linked:
            self._remember(stream_id, result.stream_position, head)
        return result

    def _append_unpositioned(
        self, stream_id: str, events: Sequence[NewEvent], expected: ExpectedPosition
    ) -> AppendResult:
        for _ in range(_ANY_ATTEMPTS):
            position = self._store.stream_position(stream_id)
            if expected is STREAM_EXISTS and position == 0:
                raise ConcurrencyError(stream_id, expected, 0)
            try:
                return self.append(stream_id, events, position)
            except ConcurrencyError:
                continue
        raise ConcurrencyError(stream_id, expected, self._store.stream_position(stream_id))

    def append_decided(
        self,
        store: DecidingAppender,
        stream_id: str,
        after: int,
        decide: DecideTail,
        *,
        also: Sequence[AppendRequest] = (),
    ) -> AppendResult:
        """``store.append_decided`` with the decided events linked after the tail; ``also``
        (a request id's claim: exact expected positions) linked into its streams too."""
        prev = self.head(stream_id, after)
        heads: list[tuple[int, str]] = []
        digest = self._digest
        others, pending = self._linked(also)

        def linked(tail: list[RecordedEvent]) -> Sequence[NewEvent]:
            decided = decide(tail)
            base = head_after(prev, tail, digest)
            events, head = chained(stream_id, after + len(tail) + 1, base, decided, digest)
            heads.append((after + len(tail) + len(events), head))
            return events

        result = store.append_decided(stream_id, after, linked, also=others)
        if heads and result.events:
            self._remember(stream_id, *heads[-1])
            for other, (position, head) in pending.items():
                self._remember(other, position, head)
        return result

    def _linked(
        self, requests: Sequence[AppendRequest]
    ) -> tuple[list[AppendRequest], dict[str, tuple[int, str]]]:
        """The requests with their events linked, and each stream's head after them."""
        pending: dict[str, tuple[int, str]] = {}
        linked_requests: list[AppendRequest] = []
        for request in requests:
            expected = request.expected
            if expected is ANY or expected is STREAM_EXISTS:
                raise ValueError("append_many needs exact expected positions to link events")
            position = 0 if expected is NO_STREAM else expected
            assert isinstance(position, int)
            known = pending.get(request.stream_id)
            prev = (
                known[1]
                if known is not None and known[0] == position
                else self.head(request.stream_id, position)
            )
            events, head = chained(
                request.stream_id, position + 1, prev, request.events, self._digest
            )
            pending[request.stream_id] = (position + len(events), head)
            linked_requests.append(AppendRequest(request.stream_id, events, request.expected))
        return linked_requests, pending

    def append_many(self, requests: Sequence[AppendRequest]) -> list[AppendResult]:
        """Several streams in one transaction where the store offers it (else one append per
        request, in order); every request needs an exact expected position."""
        linked_requests, pending = self._linked(requests)
        if isinstance(self._store, MultiStreamAppender):
            results = self._store.append_many(linked_requests)
        else:
            results = [
                self._store.append(r.stream_id, r.events, r.expected) for r in linked_requests
            ]
        for stream_id, (position, head) in pending.items():
            self._remember(stream_id, position, head)
        return results
