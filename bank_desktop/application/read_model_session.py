"""One read-model session: what every front end does with the read model of a store.

"Restore the snapshot, catch up, save after N events" was written three times (the window,
``serve``, the command line), with its constant twice. A :class:`ReadModelSession` owns it:

- :meth:`~ReadModelSession.load` restores the snapshot if it passes every check, catches up
  from the store, and saves a fresh snapshot when :data:`SAVE_AFTER_EVENTS` or more events had
  to be replayed (or the old one was refused); what the clerk must be told about that (a
  snapshot that failed its checks, one that could not be saved) is in ``notices``;
- :meth:`~ReadModelSession.apply` folds live events (from a subscription) into the model, and
  into the ledgers someone is looking at (:class:`LedgerBook`) when the events carry metadata;
- :meth:`~ReadModelSession.snapshot` and :meth:`~ReadModelSession.save` persist it.

It does no locking and starts no thread: the window applies events on its GUI thread, ``serve``
under its own lock on the subscription's thread, the command line loads once. Blocking calls
(load, catch_up, save, the ledgers' reads) belong off a GUI thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

from bank_desktop.application.projections.ledger import LedgerBook
from bank_desktop.application.projections.read_model import (
    SAVE_AFTER_EVENTS,
    LoadedReadModel,
    ReadModel,
    ReadModelChanges,
    catch_up,
    load_read_model,
)
from bank_desktop.eventstore.errors import EventStoreError
from bank_desktop.eventstore.port import EventStore, RecordedEvent, Snapshot, SnapshotStore

_log = logging.getLogger(__name__)

__all__ = ["SAVE_AFTER_EVENTS", "ReadModelSession", "SessionChanges"]

#: Ledgers a session keeps live by default (the accounts someone is looking at).
LEDGERS: Final = 64


@dataclass(slots=True)
class SessionChanges:
    """What one :meth:`ReadModelSession.apply` changed: rows of the model, and ledgers."""

    model: ReadModelChanges
    ledgers: set[str] = field(default_factory=set)  #: accounts whose kept ledger changed


class ReadModelSession:
    """The read model of one store, its snapshots and the ledgers being looked at."""

    def __init__(
        self,
        store: EventStore,
        snapshots: SnapshotStore | None,
        *,
        save_after: int = SAVE_AFTER_EVENTS,
        ledgers: int = LEDGERS,
    ) -> None:
        self._store = store
        self._snapshots = snapshots
        self._save_after = save_after
        self.model = ReadModel()
        self.ledgers = LedgerBook(store, capacity=ledgers)
        #: Sentences for the clerk from the last load (a refused snapshot, one not saved).
        self.notices: list[str] = []
        #: Of the notices, those that mean something edited or damaged the saved model.
        self.problems: list[str] = []
        self._saved_checkpoint = 0

    @property
    def store(self) -> EventStore:
        return self._store

    @property
    def checkpoint(self) -> int:
        """The last global position the model has applied."""
        return self.model.checkpoint

    @property
    def unsaved(self) -> bool:
        """Whether the model holds events its last snapshot (loaded or saved) does not."""
        return self.model.checkpoint != self._saved_checkpoint

    def load(self) -> LoadedReadModel:
        """Restore, catch up and save when worth it (blocking); the model is replaced."""
        loaded = load_read_model(self._store, self._snapshots, save_after=self._save_after)
        self.model = loaded.model
        self.notices, self.problems = list(loaded.notices), list(loaded.problems)
        self._saved_checkpoint = loaded.model.checkpoint
        return loaded

    def catch_up(self) -> int:
        """Apply every event the store has beyond the checkpoint (blocking); how many."""
        return catch_up(self.model, self._store)

    def apply(self, events: Sequence[RecordedEvent]) -> SessionChanges:
        """Fold live events (global order; repeats are skipped) into the model and the kept
        ledgers. Events read without metadata (a lean feed) leave the ledgers alone: a ledger
        entry names its clerk, so those ledgers are topped up from the store when read."""
        changes = SessionChanges(self.model.apply(events))
        if events and events[0].has_metadata:
            changes.ledgers = self.ledgers.apply(events)
        return changes

    def snapshot(self) -> Snapshot:
        """The model as a snapshot, taken now (on the thread that owns the model)."""
        return self.model.snapshot()

    def writer(self, snapshot: Snapshot) -> Callable[[], bool]:
        """A function that saves ``snapshot`` (blocking, any thread); it returns whether it
        was written, and logs why not (a snapshot only saves a replay at the next start)."""

        def write() -> bool:
            if self._snapshots is None:
                return False
            try:
                self._snapshots.save(snapshot)
            except (EventStoreError, OSError) as exc:
                _log.warning("Could not save the read model snapshot: %s", exc)
                return False
            self._saved_checkpoint = max(self._saved_checkpoint, snapshot.checkpoint)
            _log.info("Read model snapshot saved at position %s", snapshot.checkpoint)
            return True

        return write

    def save(self, *, only_if_changed: bool = False) -> bool:
        """Persist the model now (blocking); whether a snapshot was written."""
        if self._snapshots is None:
            return False
        if only_if_changed and not self.unsaved:
            return False
        return self.writer(self.snapshot())()
