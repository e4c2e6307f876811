"""The window's live path: load the read model, follow the store, apply its pages.

A :class:`WindowSession` owns the window's
:class:`~bank_desktop.application.read_model_session.ReadModelSession`. It loads it on a worker
(reopening a store that could not be opened, filling an empty one with demo data when asked),
then starts the live feed, whose pages it applies here on the GUI thread in slices of at most
:data:`SLICE_SECONDS`, so typing and painting never wait more than a frame or two. The window
listens: ``loaded`` once, ``applied`` per page with what changed, ``status`` for the status bar,
``load_failed`` while the store cannot be read (it tries again, backing off as :data:`RELOAD`).
Nothing here touches a widget, and nothing in a slot waits on the store.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence
from typing import Final

from PySide6.QtCore import QObject, QTimer, Signal

from bank_desktop.application.demo_data import fill_demo_data
from bank_desktop.application.key_scan import KeyScan
from bank_desktop.application.projections import Ledger, LedgerBook, ReadModel
from bank_desktop.application.read_model_session import ReadModelSession, SessionChanges
from bank_desktop.backoff import Backoff
from bank_desktop.eventstore import RecordedEvent
from bank_desktop.gui.context import AppContext
from bank_desktop.gui.live_feed import LiveFeed
from bank_desktop.gui.loading import Loaded, widest_texts
from bank_desktop.gui.models.accounts import search_keys_of
from bank_desktop.gui.workers import BackgroundWork

#: Events per page from the live feed, and how long one turn of the event loop may spend
#: applying pages: small enough that typing and painting never wait more than a frame or two.
FEED_PAGE: Final = 250
FEED_IN_FLIGHT: Final = 8
SLICE_SECONDS: Final = 0.012
#: How soon a load that failed (the store is down or not open yet) is tried again: within half
#: a second at first, then at most every 3 s (as long as the window is open).
RELOAD: Final = Backoff(base=0.5, cap=3.0)


class WindowSession(QObject):
    """The read model the window shows, loaded off the GUI thread and kept live."""

    loaded = Signal(object)  #: Loaded, once the model is ready (the feed is starting)
    load_failed = Signal(object)  #: the exception; the load is tried again by itself
    applied = Signal(object, list)  #: SessionChanges and the page of RecordedEvents
    status = Signal(object)  #: the live feed's SubscriptionStatus

    def __init__(
        self, context: AppContext, jobs: BackgroundWork, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._context = context
        self._jobs = jobs
        self._session: ReadModelSession | None = None
        self._feed: LiveFeed | None = None
        self._pending: deque[tuple[LiveFeed, list[RecordedEvent]]] = deque()
        self._draining = False
        self._stopped = False
        self._failures = 0

    @property
    def model(self) -> ReadModel | None:
        """The read model, or None until it has loaded."""
        return self._session.model if self._session is not None else None

    @property
    def ledgers(self) -> LedgerBook | None:
        """The ledgers kept live with the model (None until it has loaded)."""
        return self._session.ledgers if self._session is not None else None

    # ── loading ───────────────────────────────────────────────────────────────────────────

    def start(self) -> None:
        """Load the read model on a worker; ``loaded`` or ``load_failed`` follows."""
        self._stopped = False
        self._jobs.run(self._load, receiver=self, on_success=self._loaded, on_failure=self._failed)

    def _load(self) -> Loaded:
        """On the worker: open the store if it is not yet, restore and catch up."""
        context = self._context
        store, snapshots = context.store, context.snapshots
        opened = None
        if context.problem is not None:  # not open yet: try again (raises while it fails)
            store, snapshots = opened = context.reopen()
        try:
            if context.demo_events and store.head_position() == 0:
                fill_demo_data(store, events=context.demo_events, customers=True)
            session = ReadModelSession(store, snapshots)
            session.load()
        except BaseException:
            if opened is not None:
                store.close()
            raise
        model = session.model
        # Built here, not on the GUI thread: the filter's keys and the widest figures.
        keys = search_keys_of(model.balances)
        scan = KeyScan(keys).prepare()
        owners = model.customers.positions_of(row.customer_id for row in model.balances)
        return Loaded(session, keys, widest_texts(model), opened, scan, owners)

    def _loaded(self, loaded: Loaded) -> None:
        if loaded.opened is not None:
            self._context.adopt(*loaded.opened)
        self._session = loaded.session
        self._failures = 0
        self.loaded.emit(loaded)
        if not self._stopped:
            self._start_feed(loaded.session.checkpoint)

    def _failed(self, exc: BaseException) -> None:
        self.load_failed.emit(exc)
        if not self._stopped:
            self._failures += 1
            wait = RELOAD.delay(self._failures)
            QTimer.singleShot(int(wait * 1000), self._retry)  # the store may come back

    def _retry(self) -> None:
        if not self._stopped and self._session is None:
            self.start()

    # ── following the store ───────────────────────────────────────────────────────────────

    def resync(self) -> None:
        """Reconnect the live feed from the model's checkpoint (load first if not loaded)."""
        if self._session is None:
            self.start()
            return
        self._stop_feed()
        self._start_feed(self._session.checkpoint)

    def stop(self) -> None:
        """Stop following the store (the window is closing)."""
        self._stopped = True
        self._stop_feed()

    def load_ledger(self, account_id: str) -> Ledger:
        """On a worker: the account's ledger, kept live from now on, topped up from the store
        (whatever the feed delivered while it loaded is in it)."""
        session = self._session
        if session is None:
            raise RuntimeError("The read model has not loaded yet.")
        return session.ledgers.topped_up(account_id)

    def save_snapshot(self) -> None:
        """Save the model on a worker; the snapshot is taken now (the GUI thread owns it)."""
        session = self._session
        if session is not None and session.checkpoint:
            self._jobs.run(session.writer(session.snapshot()))

    def _start_feed(self, after: int) -> None:
        feed = LiveFeed(
            self._context.store,
            after=after,
            batch_size=FEED_PAGE,
            in_flight=FEED_IN_FLIGHT,
            parent=self,
        )
        feed.events.connect(self._queue)
        feed.status.connect(self.status)
        self._feed = feed
        feed.start()

    def _stop_feed(self) -> None:
        if self._feed is not None:
            feed, self._feed = self._feed, None
            feed.events.disconnect(self._queue)
            feed.stop()
            feed.deleteLater()

    def _queue(self, feed: LiveFeed, batch: list[RecordedEvent]) -> None:
        """A page from ``feed``; pages are applied in slices so input and paints get turns."""
        self._pending.append((feed, batch))
        if not self._draining:
            self._draining = True
            QTimer.singleShot(0, self._drain)

    def _drain(self) -> None:
        deadline = time.perf_counter() + SLICE_SECONDS
        while self._pending:
            feed, batch = self._pending.popleft()
            if feed is not self._feed:
                continue  # a stopped feed's page (resync, closing): the new feed reads it again
            try:
                if batch:
                    self._apply(batch)
            finally:
                feed.batch_done()
            if time.perf_counter() >= deadline:
                break
        if self._pending:
            QTimer.singleShot(0, self._drain)
        else:
            self._draining = False

    def _apply(self, batch: Sequence[RecordedEvent]) -> SessionChanges | None:
        """Fold one page into the model and the kept ledgers, and say what changed."""
        if self._session is None:
            return None
        changes = self._session.apply(batch)
        self.applied.emit(changes, list(batch))
        return changes
