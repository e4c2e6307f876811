"""The live feed: the subscription runner on its own thread, batches handed to the GUI thread.

The runner thread reads the store; each page is emitted as one signal, delivered on the GUI
thread by a queued connection, where the read model and the table models are updated. At most
a few pages are in flight: the runner waits for the GUI to take one before it reads further, so
a slow GUI slows the reader instead of queueing a million events in memory.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from PySide6.QtCore import QObject, Signal, Slot

from bank_desktop.application import SubscriptionRunner
from bank_desktop.eventstore import EventStore, RecordedEvent


class LiveFeed(QObject):
    """Emits ``events`` (itself and a list of RecordedEvent) and ``status`` on the GUI thread;
    the feed comes with its page, so a receiver tells a stopped feed's pages from the current
    one's without asking who sent them."""

    events = Signal(object, list)
    status = Signal(object)

    def __init__(
        self,
        store: EventStore,
        *,
        after: int,
        batch_size: int = 1000,
        in_flight: int = 4,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._slots = threading.Semaphore(in_flight)
        self._stopping = threading.Event()
        self._runner = SubscriptionRunner(
            store,
            self._deliver,
            after=after,
            on_status=self.status.emit,
            batch_size=batch_size,
            idle_wait=0.25,
            name="live-feed",
        )

    def start(self) -> None:
        self._runner.start()

    def stop(self) -> None:
        self._stopping.set()
        self._slots.release()  # unblock a runner waiting for the GUI
        self._runner.stop(timeout=2.0)

    def _deliver(self, batch: Sequence[RecordedEvent]) -> None:
        # On the runner thread: wait for room, then hand the page to the GUI thread.
        while not self._slots.acquire(timeout=0.25):
            if self._stopping.is_set():
                return
        if self._stopping.is_set():
            return
        self.events.emit(self, list(batch))

    @Slot()
    def batch_done(self) -> None:
        """The GUI applied a page: the runner may read the next one."""
        self._slots.release()
