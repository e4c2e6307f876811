"""The live read side of ``serve``: the read-model session kept current by the subscription runner.

One :class:`ReadModelSession` (balances and transfers; loading, snapshots, ledgers) behind one
lock, fed only from the configured store: the subscription runner applies new events in global
order on its own thread. A
webhook delivery is a hint, never a source of truth: it is checked against the store
(:func:`check_delivery`) and, once confirmed, makes the model catch up from the store at once.
Requests read copies of rows under the lock, and a request that wants read-your-writes awaits
a position: the runner thread wakes such waiters on their event loop when the model has got
there.

Ledgers (an account's transactions) are not in the read model: the session's
:class:`~bank_desktop.application.projections.LedgerBook` folds them from the account's stream
on demand and tops them up from the store on every read, so they are never behind the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from bank_desktop.application import SubscriptionRunner, SubscriptionState, SubscriptionStatus
from bank_desktop.application.projections import AccountBalance, LedgerBook, ReadModel
from bank_desktop.application.projections.delivery_check import DeliveryCheck, check_delivery
from bank_desktop.application.read_model_session import ReadModelSession
from bank_desktop.eventstore import EventStore, RecordedEvent, SnapshotStore

_log = logging.getLogger("bank_desktop.http")
T = TypeVar("T")

#: Ledgers ``serve`` keeps (topped up from the store on every read).
LEDGERS = 256


@dataclass(slots=True)
class _Waiter:
    position: int
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None]


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class LiveReadModel:
    """Balances and transfers, live from the store, safe to read from any thread."""

    def __init__(
        self,
        store: EventStore,
        snapshots: SnapshotStore | None = None,
        *,
        idle_wait: float = 0.25,
        gather: float = 0.0,
    ) -> None:
        self._store = store
        self._idle_wait = idle_wait
        self._gather = gather
        self._lock = threading.Lock()
        self._session = ReadModelSession(store, snapshots, ledgers=LEDGERS)
        self._runner: SubscriptionRunner | None = None
        self._waiters: list[_Waiter] = []
        self._last_state: SubscriptionState | None = None

    @property
    def ledgers(self) -> LedgerBook:
        """Ledgers of recently asked-for accounts (:meth:`LedgerBook.current` is never behind)."""
        return self._session.ledgers

    # ── life cycle ────────────────────────────────────────────────────────────────────────

    def load(self) -> int:
        """Restore the snapshot (if it passes its checks) and catch up; blocking.

        A snapshot that failed its checks was rebuilt from the store: that is logged, and
        reported by :attr:`problems` (``/health`` says "degraded") for the life of the process,
        because something edited or damaged the data folder and someone should look.
        """
        loaded = self._session.load()  # before start(): nothing else touches it yet
        for notice in loaded.notices:
            _log.warning("%s", notice)
        _log.info(
            "Read model at position %s: %s accounts (%s events replayed)",
            loaded.model.checkpoint,
            len(loaded.model.balances),
            loaded.replayed,
        )
        return loaded.replayed

    def start(self) -> None:
        """Follow the store live on a thread of its own."""
        if self._runner is not None:
            raise RuntimeError("The read model is already live.")
        self._runner = SubscriptionRunner(
            self._store,
            self._on_events,
            after=self._session.checkpoint,
            on_status=self._on_status,
            idle_wait=self._idle_wait,
            name="serve-read-model",
            with_metadata=False,
            gather=self._gather,
        )
        self._runner.start()

    def stop(self) -> None:
        """Stop following the store and save the snapshot."""
        if self._runner is not None:
            self._runner.stop(timeout=5.0)
        self.save()
        with self._lock:
            waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            self._wake(waiter)

    def save(self, *, only_if_changed: bool = False) -> bool:
        """Persist the model; returns whether a snapshot was written."""
        with self._lock:
            session = self._session
            if only_if_changed and not session.unsaved:
                return False
            write = session.writer(session.snapshot())
        return write()

    # ── the subscription's side ───────────────────────────────────────────────────────────

    def _on_events(self, events: Sequence[RecordedEvent]) -> None:
        with self._lock:
            self._session.apply(events)  # idempotent: what it already has is skipped
            checkpoint = self._session.checkpoint
            ready = [w for w in self._waiters if w.position <= checkpoint]
            if ready:
                self._waiters = [w for w in self._waiters if w.position > checkpoint]
        for waiter in ready:
            self._wake(waiter)

    @staticmethod
    def _wake(waiter: _Waiter) -> None:
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
            waiter.loop.call_soon_threadsafe(_resolve, waiter.future)

    def _on_status(self, status: SubscriptionStatus) -> None:
        if status.state != self._last_state:  # not once per event while live
            self._last_state = status.state
            _log.info("Read model subscription: %s", status.describe())

    @property
    def status(self) -> SubscriptionStatus | None:
        return self._runner.status if self._runner is not None else None

    @property
    def problems(self) -> list[str]:
        """Why the read model may not show the store's truth (empty when it does): a snapshot
        that failed its checks at start, stored events it could not read, a lost store."""
        with self._lock:
            found = list(self._session.problems)
            skipped = self._session.model.skipped_events
            checkpoint = self._session.checkpoint
        if skipped:
            found.append(
                f"{skipped:,} stored event(s) could not be read and were skipped (see the log); "
                "balances that depend on them may be wrong."
            )
        status = self.status
        if status is not None and status.state is SubscriptionState.OFFLINE:
            found.append(
                f"The read model cannot follow the store ({status.describe()}); it shows the "
                f"state as of position {checkpoint:,}."
            )
        return found

    # ── reads ─────────────────────────────────────────────────────────────────────────────

    @property
    def checkpoint(self) -> int:
        """The last global position the model has applied."""
        with self._lock:
            return self._session.checkpoint

    async def wait_for(self, position: int, timeout: float) -> bool:
        """Whether the model reached ``position`` within ``timeout`` seconds (never blocks
        the event loop: the subscription thread wakes this coroutine)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._session.checkpoint >= position:
                return True
            waiter = _Waiter(position, loop, loop.create_future())
            self._waiters.append(waiter)
        try:
            await asyncio.wait_for(waiter.future, timeout)
        except TimeoutError:
            return False
        finally:
            with self._lock:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
        return self.checkpoint >= position

    def account(self, account_id: str) -> AccountBalance | None:
        """A copy of the account's row (rows change under the lock as events arrive)."""
        with self._lock:
            row = self._session.model.balances.get(account_id)
            return dataclasses.replace(row) if row is not None else None

    def accounts(
        self, offset: int = 0, limit: int | None = None
    ) -> tuple[int, list[AccountBalance]]:
        """The total number of accounts and copies of a page of them, in opening order."""
        with self._lock:
            balances = self._session.model.balances
            total = len(balances)
            end = total if limit is None else min(total, offset + limit)
            rows = [dataclasses.replace(balances.at(i)) for i in range(offset, end)]
        return total, rows

    def read(self, query: Callable[[ReadModel], T]) -> T:
        """Run ``query`` on the model under its lock (copy what it returns: rows change as
        events arrive)."""
        with self._lock:
            return query(self._session.model)

    def unfinished_transfers(self) -> dict[str, datetime]:
        """Transfer id → requested at, for the transfers the model has not seen finish."""
        with self._lock:
            unfinished = self._session.model.transfers.unfinished()
            return {t.transfer_id: t.requested_at for t in unfinished}

    # ── the webhook's side ────────────────────────────────────────────────────────────────

    def confirm(self, events: Sequence[RecordedEvent]) -> DeliveryCheck:
        """Check a webhook delivery against the store; when the store confirms all of it,
        catch up from the store at once (blocking), so reads show those events when the
        webhook answers. Nothing of the delivery itself is ever applied."""
        check = check_delivery(self._store, events)
        if check.confirmed and not (check.contradicted or check.not_yet):
            self.catch_up_to(check.last_position)
        return check

    def catch_up_to(self, position: int, *, batch_size: int = 1000) -> None:
        """Apply the store's events until the model has ``position`` (or the store's end)."""
        while self.checkpoint < position:
            events = self._store.read_all(
                after=self.checkpoint, limit=batch_size, with_metadata=False
            )
            if not events:
                return
            self._on_events(events)
