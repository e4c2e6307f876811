"""The read model: balances and transfers fed in global order from one checkpoint.

Applying is idempotent twice over: events at or below the checkpoint are skipped, and each row
skips events at or below its own stream revision. A damaged or unknown event is skipped with a
warning and counted, never raised, so one bad row cannot stop every clerk's screen; when it is
in an account's stream, that account is marked, since its balance now ignores part of its
history.

The model is persisted as one snapshot with its checkpoint and the id of the event at the
checkpoint; on restore that id is compared with the store, so a snapshot of another (or a
reset) store is discarded instead of trusted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from bank_desktop.application.bulk import collector_paused
from bank_desktop.application.errors import MalformedEventError
from bank_desktop.application.projections.balances import (
    CHANGED,
    OPENED,
    BalancesProjection,
    unchanged,
)
from bank_desktop.application.projections.transfers import TransfersProjection
from bank_desktop.application.request_claims import CLAIM_EVENT_TYPE
from bank_desktop.eventstore.port import EventStore, RecordedEvent, Snapshot, SnapshotStore

_log = logging.getLogger(__name__)

SNAPSHOT_NAME: Final = "read-model"
#: 2: balance rows carry their ``unrecognized`` mark (a version-1 snapshot may hide one).
SNAPSHOT_VERSION: Final = 2


@dataclass(slots=True)
class ReadModelChanges:
    """What one ``apply`` changed, so views can update just those rows."""

    opened_accounts: list[str] = field(default_factory=list)
    changed_accounts: set[str] = field(default_factory=set)
    changed_transfers: set[str] = field(default_factory=set)
    applied: int = 0
    skipped: int = 0

    def __bool__(self) -> bool:
        return bool(self.applied or self.skipped)


class ReadModel:
    """Balances and transfers projections sharing one checkpoint."""

    def __init__(
        self,
        balances: BalancesProjection | None = None,
        transfers: TransfersProjection | None = None,
        *,
        checkpoint: int = 0,
        checkpoint_event_id: str | None = None,
    ) -> None:
        self.balances = balances or BalancesProjection()
        self.transfers = transfers or TransfersProjection()
        self.checkpoint = checkpoint
        self.checkpoint_event_id = checkpoint_event_id
        self.skipped_events = 0
        self._unknown_types: dict[str, int] = {}
        self._handlers = self._dispatch()

    def _dispatch(self) -> dict[str, Callable[[RecordedEvent], int]]:
        # Request claims bind client ids; they are ours, and change no row.
        claims: dict[str, Callable[[RecordedEvent], int]] = {CLAIM_EVENT_TYPE: unchanged}
        return {**self.balances.handlers(), **self.transfers.handlers(), **claims}

    def apply(self, events: Sequence[RecordedEvent]) -> ReadModelChanges:
        """Fold events in global order; those at or below the checkpoint are skipped."""
        changes = ReadModelChanges()
        dispatch = self._handlers
        checkpoint = self.checkpoint
        last: RecordedEvent | None = None
        opened = changes.opened_accounts
        changed = changes.changed_accounts
        transfers = changes.changed_transfers
        applied = skipped = 0
        for event in events:  # the hot loop of every rebuild: one lookup, one call, no tuples
            position = event.global_position
            if position <= checkpoint:
                continue
            checkpoint = position
            last = event
            applied += 1
            step = dispatch.get(event.type)
            if step is None:
                skipped += 1
                self._unknown_type(event)
                if self.balances.mark(event, f"event type {event.type!r}"):
                    changed.add(event.stream_id)
                continue
            try:
                outcome = step(event)
            except MalformedEventError as exc:
                _log.warning("Skipping %s", exc)
                skipped += 1
                if self.balances.mark(event, f"malformed {event.type!r} ({exc.problem})"):
                    changed.add(event.stream_id)
                continue
            if outcome:
                if outcome == CHANGED:
                    changed.add(event.stream_id)
                elif outcome == OPENED:
                    opened.append(event.stream_id)
                else:
                    transfers.add(event.stream_id)
        if last is not None:
            self.checkpoint, self.checkpoint_event_id = checkpoint, last.event_id
        changes.applied, changes.skipped = applied, skipped
        self.skipped_events += skipped
        return changes

    def _unknown_type(self, event: RecordedEvent) -> None:
        count = self._unknown_types.get(event.type, 0)
        self._unknown_types[event.type] = count + 1
        if count == 0:  # once per type, or a foreign service's events would flood the log
            _log.warning(
                "Skipping events of unknown type %r (first at global position %s)",
                event.type,
                event.global_position,
            )

    # ── persistence ───────────────────────────────────────────────────────────────────────

    def snapshot(self) -> Snapshot:
        return Snapshot(
            name=SNAPSHOT_NAME,
            version=SNAPSHOT_VERSION,
            checkpoint=self.checkpoint,
            checkpoint_event_id=self.checkpoint_event_id,
            state={
                "balances": self.balances.snapshot_state(),
                "transfers": self.transfers.snapshot_state(),
            },
        )

    @classmethod
    def from_snapshot(cls, snapshot: Snapshot) -> ReadModel:
        state: Any = snapshot.state
        return cls(
            BalancesProjection.from_snapshot_state(state["balances"]),
            TransfersProjection.from_snapshot_state(state["transfers"]),
            checkpoint=snapshot.checkpoint,
            checkpoint_event_id=snapshot.checkpoint_event_id,
        )

    @classmethod
    def restore(cls, snapshots: SnapshotStore, store: EventStore) -> ReadModel | None:
        """The persisted model if it belongs to this store; None means rebuild from events."""
        snapshot = snapshots.load(SNAPSHOT_NAME)
        if snapshot is None:
            return None
        if snapshot.version != SNAPSHOT_VERSION:
            _log.info("Read model snapshot has version %s; rebuilding", snapshot.version)
            return None
        if snapshot.checkpoint > 0:
            at = store.read_all(after=snapshot.checkpoint - 1, limit=1)
            if (
                not at
                or at[0].global_position != snapshot.checkpoint
                or at[0].event_id != snapshot.checkpoint_event_id
            ):
                _log.warning(
                    "Read model snapshot at %s does not match %s; rebuilding",
                    snapshot.checkpoint,
                    store.url,
                )
                return None
        try:
            with collector_paused():  # 100k rows of new objects: nothing cyclic to collect
                return cls.from_snapshot(snapshot)
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            _log.warning("Read model snapshot is damaged (%s); rebuilding", exc)
            return None

    def save(self, snapshots: SnapshotStore) -> None:
        snapshots.save(self.snapshot())


def catch_up(model: ReadModel, store: EventStore, *, batch_size: int = 5000) -> int:
    """Apply every event after the model's checkpoint; returns how many were read."""
    total = 0
    with collector_paused():
        while True:
            events = store.read_all(after=model.checkpoint, limit=batch_size, with_metadata=False)
            if not events:
                return total
            model.apply(events)
            total += len(events)
