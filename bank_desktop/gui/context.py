"""The composition root's product: everything the window needs, built once and passed down.

One object instead of module globals (git-cola's lesson): the window, its forms and its tests
receive the same store, service and settings, and nothing reaches for a singleton.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bank_desktop.application import BankService
from bank_desktop.config import data_directory
from bank_desktop.eventstore import EventStore, SnapshotStore, open_snapshot_store, open_store


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
    ) -> AppContext:
        """Open the store and wire the service (may raise EventStoreError on a bad URL)."""
        base = data_dir or data_directory()
        store = open_store(store_url)
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
            self.store.close()
