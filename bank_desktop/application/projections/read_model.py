"""The read model: balances, transfers and customers fed in global order from one checkpoint.

Applying is idempotent twice over: events at or below the checkpoint are skipped, and each row
skips events at or below its own stream revision. A damaged or unknown event is skipped with a
warning and counted, never raised, so one bad row cannot stop every clerk's screen; when it is
in an account's stream, that account is marked, since its balance now ignores part of its
history.

The model is persisted as one snapshot: a cache that saves replaying history, never a source of
truth. Restoring checks it against the store before using it (the store's identity, the id of
its first event; the id of the event at the checkpoint) and validates every row (a "NaN" or
absurd balance is refused, not shown), on top of the snapshot file's own digest. A snapshot
that fails any check is rebuilt from the store, and :func:`load_read_model` says why, so the
clerk (or ``/health``) learns that something edited or damaged it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, cast

from bank_desktop.application.bulk import collector_paused
from bank_desktop.application.errors import MalformedEventError
from bank_desktop.application.projections.balances import (
    CHANGED,
    OPENED,
    BalancesProjection,
    unchanged,
)
from bank_desktop.application.projections.bulk_fold import BulkFold, fold_fields
from bank_desktop.application.projections.customers import CUSTOMER_CHANGED, CustomersProjection
from bank_desktop.application.projections.transfers import TransfersProjection
from bank_desktop.application.request_claims import CLAIM_EVENT_TYPE
from bank_desktop.domain.approvals import APPROVAL_EVENT_TYPES
from bank_desktop.domain.national_ids import NATIONAL_ID_EVENT_TYPES
from bank_desktop.domain.policy import POLICY_EVENT_TYPES
from bank_desktop.domain.staff import STAFF_EVENT_TYPES
from bank_desktop.eventstore.errors import EventStoreError, SnapshotDamagedError
from bank_desktop.eventstore.port import (
    EventStore,
    FoldReader,
    RecordedEvent,
    Snapshot,
    SnapshotStore,
)

_log = logging.getLogger(__name__)

DUAL_CONTROL_EVENT_TYPES: Final = (*STAFF_EVENT_TYPES, *POLICY_EVENT_TYPES, *APPROVAL_EVENT_TYPES)

SNAPSHOT_NAME: Final = "read-model"
#: 5: balances and transfers are kept as columns (times written by the encoder itself, no row
#: lists), so saving 100,000 rows leaves no litter behind in the window's heap.
#: 4: holds (and available balances), customers and their names on balance rows; an earlier
#: snapshot marks accounts with holds as unreadable and has no customers.
#: 3: balance rows carry their ``unrecognized`` mark (an earlier snapshot may hide one).
#: 2: snapshots carry the store's identity, and earlier ones of ``serve`` may hold webhook
#: rows the store never had (deliveries were applied as facts then): none of them is used.
SNAPSHOT_VERSION: Final = 5
#: Save a snapshot after loading when at least this many events had to be replayed.
SAVE_AFTER_EVENTS: Final = 1_000


@dataclass(slots=True)
class ReadModelChanges:
    """What one ``apply`` changed, so views can update just those rows."""

    opened_accounts: list[str] = field(default_factory=list)
    changed_accounts: set[str] = field(default_factory=set)
    changed_transfers: set[str] = field(default_factory=set)
    #: Customers registered or changed (their accounts' new names are in changed_accounts).
    changed_customers: set[str] = field(default_factory=set)
    applied: int = 0
    skipped: int = 0

    def __bool__(self) -> bool:
        return bool(self.applied or self.skipped)


class ReadModel:
    """Balances, transfers and customers projections sharing one checkpoint."""

    def __init__(
        self,
        balances: BalancesProjection | None = None,
        transfers: TransfersProjection | None = None,
        customers: CustomersProjection | None = None,
        *,
        checkpoint: int = 0,
        checkpoint_event_id: str | None = None,
        store_identity: str | None = None,
    ) -> None:
        self.balances = balances or BalancesProjection()
        self.transfers = transfers or TransfersProjection()
        self.customers = customers or CustomersProjection()
        self.checkpoint = checkpoint
        self.checkpoint_event_id = checkpoint_event_id
        #: The id of the store's first event: which store this model is a fold of.
        self.store_identity = store_identity
        self.skipped_events = 0
        self._unknown_types: dict[str, int] = {}
        self._handlers = self._dispatch()

    def _dispatch(self) -> dict[str, Callable[[RecordedEvent], int]]:
        # Request claims bind client ids, national-id claims decide who holds an id, and dual
        # control keeps its staff, policy and approvals in streams of their own: they are
        # ours, and change no row here.
        ours = (CLAIM_EVENT_TYPE, *NATIONAL_ID_EVENT_TYPES, *DUAL_CONTROL_EVENT_TYPES)
        quiet: dict[str, Callable[[RecordedEvent], int]] = dict.fromkeys(ours, unchanged)
        return {
            **quiet,
            **self.balances.handlers(),
            **self.transfers.handlers(),
            **self.customers.handlers(),
        }

    def apply(self, events: Sequence[RecordedEvent]) -> ReadModelChanges:
        """Fold events in global order; those at or below the checkpoint are skipped."""
        changes = ReadModelChanges()
        dispatch = self._handlers
        checkpoint = self.checkpoint
        last: RecordedEvent | None = None
        opened = changes.opened_accounts
        changed = changes.changed_accounts
        applied = skipped = 0
        if checkpoint == 0 and self.store_identity is None:
            self.store_identity = next((e.event_id for e in events if e.global_position == 1), None)
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
                    self.name_account(event.stream_id)
                else:
                    self._other_change(outcome, event.stream_id, changes)
        if last is not None:
            self.checkpoint, self.checkpoint_event_id = checkpoint, last.event_id
        changes.applied, changes.skipped = applied, skipped
        self.skipped_events += skipped
        return changes

    def _other_change(self, outcome: int, stream_id: str, changes: ReadModelChanges) -> None:
        """A transfer's or a customer's change (rarer than balances: out of the hot loop)."""
        if outcome == CUSTOMER_CHANGED:
            changes.changed_customers.add(stream_id)
            name = self.customers.name_of(stream_id)
            changes.changed_accounts.update(self.balances.name_customer(stream_id, name))
        else:
            changes.changed_transfers.add(stream_id)

    def handlers(self) -> dict[str, Callable[[RecordedEvent], int]]:
        """Event type → the projections' step for it (what ``apply`` dispatches on)."""
        return self._handlers

    def name_account(self, account_id: str) -> None:
        """Show the registered name of the account's customer on its row, if any."""
        row = self.balances.get(account_id) if len(self.customers) else None
        if row is not None:
            row.customer_name = self.customers.name_of(row.customer_id)

    def customer_name(self, customer_id: str) -> str | None:
        """The registered name of ``customer_id`` (None: not a registered customer)."""
        return self.customers.name_of(customer_id)

    @property
    def unknown_types(self) -> dict[str, int]:
        """Event types applied but not folded (unknown to every projection), with counts."""
        return dict(self._unknown_types)

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
                "holds": self.balances.holds_state(),
                "customers": self.customers.snapshot_state(),
            },
            store_identity=self.store_identity,
        )

    @classmethod
    def from_snapshot(cls, snapshot: Snapshot) -> ReadModel:
        """The model a snapshot holds; ValueError (or KeyError, TypeError) naming the first
        value that is not what this version writes, so nothing invalid is ever shown."""
        state: Any = snapshot.state
        checkpoint = snapshot.checkpoint
        if type(checkpoint) is not int or checkpoint < 0:
            raise ValueError(f"checkpoint {checkpoint!r} is not a position")
        if checkpoint > 0 and not (snapshot.checkpoint_event_id and snapshot.store_identity):
            raise ValueError("it does not say which store and event it was taken at")
        balances = BalancesProjection.from_snapshot_state(state["balances"])
        balances.restore_holds(state["holds"])
        customers = CustomersProjection.from_snapshot_state(state["customers"])
        for row in balances:
            row.customer_name = customers.name_of(row.customer_id)
        return cls(
            balances,
            TransfersProjection.from_snapshot_state(state["transfers"], balances.same_id),
            customers,
            checkpoint=checkpoint,
            checkpoint_event_id=snapshot.checkpoint_event_id,
            store_identity=snapshot.store_identity,
        )

    @classmethod
    def restore(cls, snapshots: SnapshotStore, store: EventStore) -> ReadModel | None:
        """The persisted model if it passes every check; None means rebuild from events (a
        failed check is logged: :func:`restore_read_model` returns the reason instead)."""
        model, problem = restore_read_model(snapshots, store)
        if problem is not None:
            _log.warning("Rebuilding the read model: %s", problem)
        return model

    def save(self, snapshots: SnapshotStore) -> None:
        snapshots.save(self.snapshot())


def restore_read_model(
    snapshots: SnapshotStore, store: EventStore
) -> tuple[ReadModel | None, str | None]:
    """The persisted model and None, or None and why the snapshot must not be used (None too
    when there simply is none, or it is of an earlier version: nothing is wrong then)."""
    # Decoding and building make 100k+ lists and rows, nothing cyclic: one pause for both,
    # or re-enabling the collector in between sets off a full collection over all of them.
    with collector_paused():
        return _restore(snapshots, store)


def _restore(snapshots: SnapshotStore, store: EventStore) -> tuple[ReadModel | None, str | None]:
    try:
        snapshot = snapshots.load(SNAPSHOT_NAME)
    except SnapshotDamagedError as exc:
        return None, str(exc)
    if snapshot is None:
        return None, None
    if snapshot.version != SNAPSHOT_VERSION:
        _log.info("Read model snapshot has version %s; rebuilding", snapshot.version)
        return None, None
    if type(snapshot.checkpoint) is int and snapshot.checkpoint > 0:
        problem = _does_not_match(snapshot, store)
        if problem is not None:
            return None, problem
    try:
        return ReadModel.from_snapshot(snapshot), None
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        return None, f"the saved read model holds an invalid value ({exc})"


def _does_not_match(snapshot: Snapshot, store: EventStore) -> str | None:
    """Why a snapshot at a checkpoint > 0 is not of this store as it is now, or None."""
    first = store.read_all(limit=1, with_metadata=False)
    if not first:
        return (
            f"the saved read model is at position {snapshot.checkpoint:,} but the store "
            f"{store.url} is empty"
        )
    if first[0].event_id != snapshot.store_identity:
        return f"the saved read model belongs to another store than {store.url}"
    at = store.read_all(after=snapshot.checkpoint - 1, limit=1, with_metadata=False)
    if not at or at[0].global_position != snapshot.checkpoint:
        return (
            f"the saved read model is at position {snapshot.checkpoint:,}, beyond the end of "
            f"the store {store.url}"
        )
    if at[0].event_id != snapshot.checkpoint_event_id:
        return (
            f"the saved read model does not match the event at position "
            f"{snapshot.checkpoint:,} of the store {store.url}"
        )
    return None


@dataclass(frozen=True, slots=True)
class LoadedReadModel:
    """A read model ready to serve, and what the clerk should be told about loading it."""

    model: ReadModel
    replayed: int  #: events applied after the snapshot (all of them without one)
    restored: bool  #: whether a snapshot was used
    #: Sentences for the clerk: a snapshot that failed its checks, one that could not be saved.
    notices: list[str]
    #: Of the notices, the ones that mean something edited or damaged the saved model.
    problems: list[str]


def load_read_model(
    store: EventStore,
    snapshots: SnapshotStore | None,
    *,
    save_after: int = SAVE_AFTER_EVENTS,
) -> LoadedReadModel:
    """Restore (if the snapshot passes every check), catch up, and save a fresh snapshot when
    ``save_after`` events or more were replayed or the old one failed; blocking.

    A snapshot that cannot be saved (a read-only folder, a full disk) costs the next start a
    replay, never this one its answer: it becomes a notice.
    """
    model, problem = (None, None) if snapshots is None else restore_read_model(snapshots, store)
    restored = model is not None
    model = model or ReadModel()
    replayed = catch_up(model, store)
    notices: list[str] = []
    problems: list[str] = []
    if problem is not None:
        problems.append(f"{_sentence(problem)} The read model was rebuilt from the store.")
        notices.extend(problems)
    if snapshots is not None and (problem is not None or (replayed and replayed >= save_after)):
        try:
            model.save(snapshots)
        except (EventStoreError, OSError) as exc:
            notices.append(
                f"The read model snapshot could not be saved ({exc}); the next start replays "
                "the store's events again."
            )
    return LoadedReadModel(model, replayed, restored, notices, problems)


def _sentence(text: str) -> str:
    text = text.strip()
    text = text[0].upper() + text[1:] if text else text
    return text if text.endswith(".") else f"{text}."


def catch_up(model: ReadModel, store: EventStore, *, batch_size: int = 5000) -> int:
    """Apply every event after the model's checkpoint; returns how many were read.

    A store that reads events for a fold (``FoldReader``: SQLite, memory) is folded page by
    page by :class:`BulkFold`, which ends where ``apply`` would at several times its speed.
    """
    total = 0
    with collector_paused():
        if isinstance(store, FoldReader):
            return _fold_all(model, store, batch_size)
        while True:
            events = store.read_all(after=model.checkpoint, limit=batch_size, with_metadata=False)
            if not events:
                return total
            model.apply(events)
            total += len(events)


def _fold_all(model: ReadModel, store: FoldReader, batch_size: int) -> int:
    reader = cast(EventStore, store)
    if model.checkpoint == 0 and model.store_identity is None:
        first = reader.read_all(limit=1, with_metadata=False)
        model.store_identity = first[0].event_id if first else None

    def whole(global_position: int) -> RecordedEvent:
        return reader.read_all(after=global_position - 1, limit=1, with_metadata=False)[0]

    fields = fold_fields(model)
    fold = BulkFold(model, whole)
    total = 0
    try:
        while True:
            page = store.read_for_fold(after=model.checkpoint, limit=batch_size, fields=fields)
            if not page.rows:
                return total
            total += fold.fold(page)
    finally:
        if total:
            model.balances.compact()  # the fold adds Decimal cents: ints again where whole
