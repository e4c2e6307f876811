"""The read model: balances and transfers fed in global order from one checkpoint.

Applying is idempotent twice over: events at or below the checkpoint are skipped, and each row
skips events at or below its own stream revision. A damaged or unknown event is skipped with a
warning and counted, never raised, so one bad row cannot stop every clerk's screen.

The model is persisted as one snapshot with its checkpoint and the id of the event at the
checkpoint; on restore that id is compared with the store, so a snapshot of another (or a
reset) store is discarded instead of trusted.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from bank_desktop.application.errors import MalformedEventError
from bank_desktop.application.event_codec import decode_account_event, decode_transfer_event
from bank_desktop.application.projections.balances import BalancesProjection
from bank_desktop.application.projections.transfers import TransfersProjection
from bank_desktop.domain import accounts as acc
from bank_desktop.domain import transfers as tr
from bank_desktop.eventstore.port import EventStore, RecordedEvent, Snapshot, SnapshotStore

_log = logging.getLogger(__name__)

SNAPSHOT_NAME: Final = "read-model"
SNAPSHOT_VERSION: Final = 1
_ACCOUNT_TYPES: Final = frozenset(acc.ACCOUNT_EVENT_TYPES)
_TRANSFER_TYPES: Final = frozenset(tr.TRANSFER_EVENT_TYPES)


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

    def apply(self, events: Sequence[RecordedEvent]) -> ReadModelChanges:
        changes = ReadModelChanges()
        balances, transfers = self.balances, self.transfers
        checkpoint = self.checkpoint
        last_id = self.checkpoint_event_id
        for recorded in events:
            position = recorded.global_position
            if position <= checkpoint:
                continue
            checkpoint, last_id = position, recorded.event_id
            changes.applied += 1
            type_ = recorded.type
            try:
                if type_ in _ACCOUNT_TYPES:
                    event = decode_account_event(recorded)
                    is_new = balances.get(recorded.stream_id) is None
                    if event is not None and balances.apply(
                        event, recorded.stream_id, recorded.stream_position
                    ):
                        if is_new:
                            changes.opened_accounts.append(recorded.stream_id)
                        else:
                            changes.changed_accounts.add(recorded.stream_id)
                elif type_ in _TRANSFER_TYPES:
                    transfer = decode_transfer_event(recorded)
                    if transfer is not None and transfers.apply(
                        transfer, recorded.stream_id, recorded.stream_position
                    ):
                        changes.changed_transfers.add(recorded.stream_id)
                else:
                    _log.warning(
                        "Skipping event of unknown type %r at global position %s",
                        type_,
                        position,
                    )
                    changes.skipped += 1
            except MalformedEventError as exc:
                _log.warning("Skipping %s", exc)
                changes.skipped += 1
        self.checkpoint, self.checkpoint_event_id = checkpoint, last_id
        self.skipped_events += changes.skipped
        return changes

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
            return cls.from_snapshot(snapshot)
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            _log.warning("Read model snapshot is damaged (%s); rebuilding", exc)
            return None

    def save(self, snapshots: SnapshotStore) -> None:
        snapshots.save(self.snapshot())


def catch_up(model: ReadModel, store: EventStore, *, batch_size: int = 2000) -> int:
    """Apply every event after the model's checkpoint; returns how many were read."""
    total = 0
    while True:
        events = store.read_all(after=model.checkpoint, limit=batch_size)
        if not events:
            return total
        model.apply(events)
        total += len(events)
