"""In-process event store for tests and demos.

Payloads are stored as encoded JSON and decoded on read, exactly like the durable adapters,
so code that passes against ``memory://`` does not rely on sharing mutable dicts or on values
JSON cannot carry.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bank_desktop.eventstore.backwards import (
    check_backwards_args,
    metadata_matches,
    metadata_needle,
)
from bank_desktop.eventstore.batches import Row as BatchRow
from bank_desktop.eventstore.batches import Write
from bank_desktop.eventstore.canonical import fast_digest
from bank_desktop.eventstore.errors import ConcurrencyError, EventStoreError
from bank_desktop.eventstore.exact_json import decode_metadata, decode_payload, utc_now
from bank_desktop.eventstore.fold_reading import fold_payloads
from bank_desktop.eventstore.port import (
    AppendRequest,
    AppendResult,
    DecideTail,
    ExpectedPosition,
    FoldFields,
    FoldPage,
    NewEvent,
    RecordedEvent,
)
from bank_desktop.eventstore.validation import check_read_args, check_stream_id


@dataclass(frozen=True, slots=True)
class _Row:
    event_id: str
    type: str
    data: str
    metadata: str
    stream_id: str
    stream_position: int
    global_position: int
    created_at: datetime

    def stored(self) -> tuple[int, str, int, str, str, str, str]:
        return (
            self.global_position,
            self.stream_id,
            self.stream_position,
            self.event_id,
            self.type,
            self.data,
            self.metadata,
        )

    def recorded_without_metadata(self) -> RecordedEvent:
        return RecordedEvent(
            self.event_id,
            self.type,
            decode_payload(self.data, self.stream_id, self.stream_position),
            self.stream_id,
            self.stream_position,
            self.global_position,
            self.created_at,
            None,
        )

    def recorded(self) -> RecordedEvent:
        return RecordedEvent(
            self.event_id,
            self.type,
            decode_payload(self.data, self.stream_id, self.stream_position),
            self.stream_id,
            self.stream_position,
            self.global_position,
            self.created_at,
            decode_metadata(self.metadata, self.stream_id, self.stream_position),
        )


class MemoryEventStore:
    """A thread-safe event store that lives and dies with the process."""

    #: The chain digest through msgspec (capability ``ChainDigestSource``).
    chain_digest = staticmethod(fast_digest)

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._rows: list[_Row] = []
        self._streams: dict[str, list[_Row]] = {}
        self._closed = False
        self._written = threading.local()  #: per thread: the last position it appended

    @property
    def url(self) -> str:
        return "memory://"

    def append(
        self, stream_id: str, events: Sequence[NewEvent], expected: ExpectedPosition
    ) -> AppendResult:
        return self._commit([Write((AppendRequest(stream_id, events, expected),))])[0].result()[0]

    def append_many(self, requests: Sequence[AppendRequest]) -> list[AppendResult]:
        return self._commit([Write(requests)])[0].result()

    def append_decided(
        self,
        stream_id: str,
        after: int,
        decide: DecideTail,
        *,
        also: Sequence[AppendRequest] = (),
    ) -> AppendResult:
        check_stream_id(stream_id)
        check_read_args(after, None)
        write = Write(also, decide=decide, stream_id=stream_id, after=after)
        return self._commit([write])[0].result()[-1]

    def append_batch(
        self, batch: Sequence[Sequence[AppendRequest]]
    ) -> list[list[AppendResult] | ConcurrencyError]:
        writes = self._commit([Write(requests) for requests in batch])
        return [
            write.outcome if isinstance(write.outcome, ConcurrencyError) else write.result()
            for write in writes
        ]

    def written_position(self) -> int:
        """The global position of the last event this thread appended here (0: none yet)."""
        return int(getattr(self._written, "position", 0))

    def _commit(self, writes: list[Write]) -> list[Write]:
        """Plan and keep each write in turn under the lock (a refused one is skipped)."""
        with self._changed:
            self._check_open()
            now = utc_now()
            for write in writes:
                try:
                    rows = write.plan(len(self._rows), self._position, self._tail)
                except Exception as exc:  # a conflict, a refusal decided under the lock
                    write.refused(exc)
                    continue
                self._store(rows, now)
                write.committed(now)
                if rows:
                    self._written.position = rows[-1][0]
        return writes

    def _position(self, stream_id: str) -> int:
        return len(self._streams.get(stream_id, ()))

    def _tail(self, stream_id: str, after: int) -> list[RecordedEvent]:
        return [row.recorded() for row in self._streams.get(stream_id, [])[after:]]

    def _store(self, rows: Sequence[BatchRow], now: datetime) -> None:
        """Keep numbered rows and wake the waiters (under the lock)."""
        for position, stream_id, stream_position, event_id, type_, data, meta in rows:
            row = _Row(event_id, type_, data, meta, stream_id, stream_position, position, now)
            self._rows.append(row)
            self._streams.setdefault(stream_id, []).append(row)
        if rows:
            self._changed.notify_all()

    def read_stream(
        self, stream_id: str, *, after: int = 0, limit: int | None = None
    ) -> list[RecordedEvent]:
        check_stream_id(stream_id)
        check_read_args(after, limit)
        with self._changed:
            self._check_open()
            stream = self._streams.get(stream_id, [])
            end = len(stream) if limit is None else min(len(stream), after + limit)
            rows = stream[after:end]
        return [r.recorded() for r in rows]

    def stream_position(self, stream_id: str) -> int:
        check_stream_id(stream_id)
        with self._changed:
            self._check_open()
            return len(self._streams.get(stream_id, ()))

    def read_all(
        self,
        *,
        after: int = 0,
        limit: int = 1000,
        types: Collection[str] | None = None,
        with_metadata: bool = True,
    ) -> list[RecordedEvent]:
        check_read_args(after, limit, limit_required=True)
        with self._changed:
            self._check_open()
            if types is None:
                rows = self._rows[after : after + limit]
            else:
                wanted = frozenset(types)
                rows = []
                for row in self._rows[after:]:
                    if row.type in wanted:
                        rows.append(row)
                        if len(rows) >= limit:
                            break
        return [r.recorded() for r in rows]

    def read_for_fold(self, *, after: int, limit: int, fields: FoldFields) -> FoldPage:
        """Events for a fold (``FoldReader``), decoded from their stored text like SQLite's."""
        check_read_args(after, limit, limit_required=True)
        with self._changed:
            self._check_open()
            rows = self._rows[after : after + limit]
        if not rows:
            return FoldPage([], [], None)
        raw = [(r.global_position, r.stream_id, r.stream_position, r.type, r.data) for r in rows]

        def careful(positions: Iterable[int]) -> dict[int, RecordedEvent]:
            return {p: rows[p - after - 1].recorded_without_metadata() for p in positions}

        return FoldPage(raw, fold_payloads(raw, fields, careful), rows[-1].event_id)

    def read_stored(self, *, after: int = 0, limit: int = 1000) -> list[Any]:
        """Events as stored, JSON undecoded (``StoredRowReader``)."""
        check_read_args(after, limit, limit_required=True)
        with self._changed:
            self._check_open()
            rows = self._rows[after : after + limit]
        return [
            (
                r.global_position,
                r.stream_id,
                r.stream_position,
                r.event_id,
                r.type,
                r.data,
                r.metadata,
                r.created_at,
            )
            for r in rows
        ]

    def read_backwards(
        self,
        *,
        before: int | None = None,
        limit: int = 100,
        event_type: str | None = None,
        stream_id: str | None = None,
        metadata_equals: tuple[str, str] | None = None,
    ) -> list[RecordedEvent]:
        """Newest first (``BackwardReader``): a stream's own rows when one is named."""
        below = check_backwards_args(before, limit, stream_id, metadata_equals)
        needle = None if metadata_equals is None else metadata_needle(metadata_equals[1])
        out: list[RecordedEvent] = []
        with self._changed:
            self._check_open()
            rows = self._rows if stream_id is None else self._streams.get(stream_id, [])
            for row in reversed(rows):
                if row.global_position >= below:
                    continue
                if event_type is not None and row.type != event_type:
                    continue
                if needle is not None and needle not in row.metadata:
                    continue
                event = row.recorded()
                if metadata_matches(event, metadata_equals):
                    out.append(event)
                    if len(out) >= limit:
                        break
        return out

    def head_position(self) -> int:
        with self._changed:
            self._check_open()
            return len(self._rows)

    def wait_for_events(self, after: int, timeout: float) -> bool:
        with self._changed:
            self._check_open()
            return (
                self._changed.wait_for(
                    lambda: self._closed or len(self._rows) > after, timeout=timeout
                )
                and not self._closed
            )

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def _check_open(self) -> None:
        if self._closed:
            raise EventStoreError("The event store is closed.")
