"""Events delivered per stream (a webhook), applied to a read model exactly once, in stream order.

``ReadModel.apply`` trusts global order: it skips everything at or below its checkpoint. A push
subscription such as DeltaBase's webhook promises only at-least-once delivery, in order within
each stream; after a retry, batches can overtake each other, and feeding them through the
global checkpoint would drop the overtaken events. This feed applies each stream's events
strictly in stream order, whatever order they arrive in:

- an event at or below the position already applied for its stream is a duplicate: nothing;
- the next one is applied at once, followed by any held successors it unblocks;
- one further ahead is held until its predecessors arrive: by another delivery, by the global
  feed (:meth:`StreamOrderedFeed.note_applied`), or read from the store by the caller
  (:meth:`StreamOrderedFeed.gaps` then :meth:`StreamOrderedFeed.fill`).

It never moves the model's global checkpoint, so a subscription feeding the same model in
global order keeps working beside it: both dedupe per stream, because each projection row keeps
the stream position it reflects. A gap therefore must be a real event: the sender has to
deliver every event of the streams it delivers (a DeltaBase subscription filtered by type
leaves holes that only :meth:`fill` from a store holding those streams can close).

Not thread-safe: callers serialise access (the read model's lock).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

from bank_desktop.application.errors import MalformedEventError
from bank_desktop.application.event_codec import decode_account_event, decode_transfer_event
from bank_desktop.application.projections.balances import UNCHANGED
from bank_desktop.application.projections.read_model import ReadModel
from bank_desktop.domain import accounts as acc
from bank_desktop.domain import transfers as tr
from bank_desktop.eventstore.port import RecordedEvent

_log = logging.getLogger(__name__)

#: Held events across all streams; beyond it further early events are not kept (they are still
#: reported as waiting, so the sender redelivers them).
MAX_HELD: Final = 10_000

_ACCOUNT_TYPES: Final = frozenset(acc.ACCOUNT_EVENT_TYPES)
_TRANSFER_TYPES: Final = frozenset(
    (
        tr.TransferRequested.type,
        tr.TransferDebited.type,
        tr.TransferCompleted.type,
        tr.TransferRejected.type,
        tr.TransferReversed.type,
    )
)


class DeliveryConflictError(ValueError):
    """Two different events claim the same position of one stream; nothing was applied."""

    def __init__(self, stream_id: str, position: int, first: str, second: str) -> None:
        super().__init__(
            f"Stream {stream_id} position {position} was delivered as two different events "
            f"({first} and {second})."
        )
        self.stream_id = stream_id
        self.position = position


@dataclass(frozen=True, slots=True)
class Waiting:
    """An event held until its stream's earlier events have been applied."""

    stream_id: str
    stream_position: int
    applied_to: int  #: the stream position applied so far; ``applied_to + 1`` is missing

    @property
    def missing(self) -> tuple[int, int]:
        """The first and last missing stream positions before this event."""
        return self.applied_to + 1, self.stream_position - 1


@dataclass(slots=True)
class DeliveryReport:
    """What happened to each event of one delivery (and to held events it released)."""

    received: int = 0
    applied: int = 0  #: consumed now, in stream order (including types no projection knows)
    duplicates: int = 0  #: already applied before (or twice in this delivery)
    ignored: int = 0  #: of those applied, types no projection here knows
    released: int = 0  #: events held by earlier deliveries that could now be applied
    waiting: list[Waiting] = field(default_factory=list)  #: of this delivery, still held
    changed_accounts: set[str] = field(default_factory=set)
    changed_transfers: set[str] = field(default_factory=set)


class StreamOrderedFeed:
    """Per-stream, order-restoring, idempotent application of events to one read model."""

    def __init__(self, model: ReadModel, *, max_held: int = MAX_HELD) -> None:
        self._model = model
        self._max_held = max_held
        self._steps: dict[str, tuple[Callable[[RecordedEvent], int], bool]] = {
            **{t: (step, True) for t, step in model.balances.handlers().items()},
            **{t: (step, False) for t, step in model.transfers.handlers().items()},
        }
        self._positions: dict[str, int] = {}
        self._held: dict[str, dict[int, RecordedEvent]] = {}
        self._held_count = 0

    @property
    def held(self) -> int:
        """Events waiting for a predecessor, across all streams."""
        return self._held_count

    def position(self, stream_id: str) -> int:
        """The highest stream position applied to the model for ``stream_id``, as far as known.

        Beyond what this feed and :meth:`note_applied` saw, the projection rows' own revisions
        count; an event that changed no row (a refused withdrawal) at the head of a stream the
        model restored from a snapshot is not seen, so :meth:`gaps` may ask the store for it.
        """
        known = self._positions.get(stream_id, 0)
        row = self._model.balances.get(stream_id)
        if row is not None and row.revision > known:
            return row.revision
        transfer = self._model.transfers.get(stream_id)
        if transfer is not None and transfer.revision > known:
            return transfer.revision
        return known

    # ── deliveries ────────────────────────────────────────────────────────────────────────

    def deliver(self, events: Sequence[RecordedEvent]) -> DeliveryReport:
        """Apply what can be applied in stream order; hold the rest.

        Every new event of a known type is checked first: a malformed one raises
        :class:`MalformedEventError` (and two different events at one position
        :class:`DeliveryConflictError`) before anything is applied or held.
        """
        report = DeliveryReport(received=len(events))
        fresh: dict[tuple[str, int], RecordedEvent] = {}
        for event in events:
            key = (event.stream_id, event.stream_position)
            if event.stream_position < 1:
                raise MalformedEventError(event, "its stream position is below 1")
            if event.stream_position <= self.position(event.stream_id):
                report.duplicates += 1
                continue
            earlier = fresh.get(key) or self._held.get(event.stream_id, {}).get(
                event.stream_position
            )
            if earlier is not None:
                if earlier.event_id != event.event_id:
                    raise DeliveryConflictError(
                        event.stream_id, event.stream_position, earlier.event_id, event.event_id
                    )
                if key in fresh:
                    report.duplicates += 1
                    continue
            check_event(event)
            fresh[key] = event
        for (stream_id, stream_position), event in sorted(fresh.items()):
            held = self._held.setdefault(stream_id, {})
            if stream_position not in held:
                held[stream_position] = event
                self._held_count += 1
        streams = {stream_id for stream_id, _ in fresh}
        applied_ids = set()
        for stream_id in sorted(streams):
            for event in self._drain(stream_id, report):
                applied_ids.add((event.stream_id, event.stream_position))
        for key in sorted(fresh):
            if key in applied_ids:
                report.applied += 1
                continue
            report.waiting.append(Waiting(key[0], key[1], self.position(key[0])))
        report.released = max(0, len(applied_ids) - report.applied)
        self._trim()
        return report

    def still_waiting(self, waiting: Iterable[Waiting]) -> list[Waiting]:
        """Those of ``waiting`` not yet applied, with up-to-date ``applied_to``."""
        result = []
        for item in waiting:
            applied_to = self.position(item.stream_id)
            if item.stream_position > applied_to:
                result.append(Waiting(item.stream_id, item.stream_position, applied_to))
        return result

    def gaps(self, stream_ids: Iterable[str] | None = None) -> list[tuple[str, int, int]]:
        """(stream id, applied to, first held position) of streams with held events: the
        positions in between are missing. Read them from the store and pass them to fill()."""
        result = []
        for stream_id in sorted(self._held if stream_ids is None else set(stream_ids)):
            held = self._held.get(stream_id)
            if held:
                result.append((stream_id, self.position(stream_id), min(held)))
        return result

    def fill(self, events: Sequence[RecordedEvent]) -> DeliveryReport:
        """Apply events read from the store to close gaps (in stream order, where they fit).

        Stored events are facts: a malformed one is skipped with a warning, as the global
        feed does, instead of refusing the lot.
        """
        report = DeliveryReport(received=len(events))
        streams: set[str] = set()
        for event in sorted(events, key=lambda e: (e.stream_id, e.stream_position)):
            if event.stream_position <= self.position(event.stream_id):
                report.duplicates += 1
                continue
            held = self._held.setdefault(event.stream_id, {})
            if event.stream_position not in held:
                held[event.stream_position] = event
                self._held_count += 1
            streams.add(event.stream_id)
        for stream_id in sorted(streams):
            report.applied += len(self._drain(stream_id, report))
        self._trim()
        return report

    def note_applied(self, events: Iterable[RecordedEvent]) -> DeliveryReport:
        """Record events the model applied in global order (``ReadModel.apply``), including
        those that changed no row, and apply held successors they unblock."""
        streams: set[str] = set()
        for event in events:
            stream_id = event.stream_id
            # Rows that moved already say so; remember only what they cannot (a refusal, a
            # type no projection knows), so memory grows with those streams alone.
            if event.stream_position > self.position(stream_id):
                self._positions[stream_id] = event.stream_position
            if stream_id in self._held:
                streams.add(stream_id)
        report = DeliveryReport()
        for stream_id in sorted(streams):
            held = self._held[stream_id]
            applied_to = self.position(stream_id)
            for stale in [p for p in held if p <= applied_to]:
                del held[stale]
                self._held_count -= 1
            report.released += len(self._drain(stream_id, report))
        return report

    # ── internals ─────────────────────────────────────────────────────────────────────────

    def _drain(self, stream_id: str, report: DeliveryReport) -> list[RecordedEvent]:
        held = self._held.get(stream_id)
        consumed: list[RecordedEvent] = []
        if not held:
            self._held.pop(stream_id, None)
            return consumed
        position = self.position(stream_id)
        for stale in [p for p in held if p <= position]:
            del held[stale]
            self._held_count -= 1
        while (event := held.pop(position + 1, None)) is not None:
            self._held_count -= 1
            self._apply(event, report)
            position += 1
            self._positions[stream_id] = position
            consumed.append(event)
        if not held:
            del self._held[stream_id]
        return consumed

    def _apply(self, event: RecordedEvent, report: DeliveryReport) -> None:
        entry = self._steps.get(event.type)
        if entry is None:
            report.ignored += 1
            return
        step, is_account = entry
        try:
            outcome = step(event)
        except MalformedEventError as exc:
            _log.warning("Skipping %s", exc)
            report.ignored += 1
            return
        if outcome != UNCHANGED:
            (report.changed_accounts if is_account else report.changed_transfers).add(
                event.stream_id
            )

    def _trim(self) -> None:
        """Keep at most ``max_held`` events: drop the furthest ahead (they are redelivered)."""
        while self._held_count > self._max_held:
            stream_id, held = max(self._held.items(), key=lambda item: len(item[1]))
            del held[max(held)]
            self._held_count -= 1
            if not held:
                del self._held[stream_id]


def check_event(event: RecordedEvent) -> None:
    """Raise :class:`MalformedEventError` naming the field if a known event's data is wrong."""
    if event.type in _ACCOUNT_TYPES:
        decode_account_event(event)
    elif event.type in _TRANSFER_TYPES:
        decode_transfer_event(event)
