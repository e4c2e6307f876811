"""The composition root's product: everything the window needs, built once and passed down.

One object instead of module globals (git-cola's lesson): the window, its forms and its tests
receive the same store, service and settings, and nothing reaches for a singleton.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from bank_desktop.application import BankService
from bank_desktop.config import data_directory
from bank_desktop.eventstore import (
    EventStore,
    SnapshotStore,
    open_known_store,
    open_snapshot_store,
    remember_store,
)

#: Seconds the window waits at close for the store's position to be recorded and the store
#: closed (a store that hangs longer is closed by that thread later).
CLOSE_TIMEOUT = 5.0


@dataclass
class AppContext:
    store: EventStore
    bank: BankService
    snapshots: SnapshotStore
    clerk_id: str
    data_dir: Path
    demo_events: int = 0  #: fill an empty store with this many demo events at start
    closed: bool = field(default=False, init=False)

    @property
    def store_label(self) -> str:
        """The store as the clerk may see it: any secret masked."""
        return self.store.url

    @classmethod
    def open(
        cls,
        store_url: str,
        *,
        clerk_id: str,
        data_dir: Path | None = None,
        demo_events: int = 0,
        accept_store_reset: bool = False,
    ) -> AppContext:
        """Open the store and wire the service (may raise EventStoreError on a bad URL, and
        StoreRegressedError for a store that was emptied or replaced since it was last used)."""
        base = data_dir or data_directory()
        store = open_known_store(store_url, base, accept_reset=accept_store_reset)
        return cls(
            store=store,
            bank=BankService(store, clerk_id=clerk_id),
            snapshots=open_snapshot_store(store, base),
            clerk_id=clerk_id,
            data_dir=base,
            demo_events=demo_events,
        )

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            store, data_dir = self.store, self.data_dir

            def remember_and_close() -> None:
                try:  # how far the store got, so a later rollback of it is noticed
                    remember_store(store, data_dir)
                finally:
                    store.close()

            # The GUI thread never reads the store itself; at close it waits (bounded, as for
            # the snapshot) for a thread that does, so the store is closed when this returns.
            closer = threading.Thread(target=remember_and_close, name="close-store")
            closer.start()
            closer.join(CLOSE_TIMEOUT)
