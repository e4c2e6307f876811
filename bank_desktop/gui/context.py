"""The composition root's product: everything the window needs, built once and passed down.

One object instead of module globals (git-cola's lesson): the window, its forms and its tests
receive the same store, service and settings, and nothing reaches for a singleton.

A store that cannot be opened (a saved URL that is wrong, a server that is down) must not
lock the clerk out of the window, where Settings is: :meth:`AppContext.open_or_offline` gives
a context whose store raises that error on every call, so the window starts offline, shows
why, and tries again (:meth:`reopen`, on a worker) until the store opens.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bank_desktop.application import BankService
from bank_desktop.config import data_directory
from bank_desktop.eventstore import (
    AppendResult,
    EventStore,
    EventStoreError,
    ExpectedPosition,
    NewEvent,
    RecordedEvent,
    SnapshotStore,
    open_known_store,
    open_snapshot_store,
    redact_url,
    remember_store,
)

#: Seconds the window waits at close for the store's position to be recorded and the store
#: closed (a store that hangs longer is closed by that thread later).
CLOSE_TIMEOUT = 5.0


class UnopenedStore:
    """Stands in for a store that could not be opened: every call raises why."""

    def __init__(self, url: str, problem: EventStoreError) -> None:
        self._url = redact_url(url)
        self.problem = problem

    @property
    def url(self) -> str:
        return self._url

    def _fail(self) -> EventStoreError:
        return self.problem

    def append(
        self, stream_id: str, events: Sequence[NewEvent], expected: ExpectedPosition
    ) -> AppendResult:
        raise self._fail()

    def read_stream(
        self, stream_id: str, *, after: int = 0, limit: int | None = None
    ) -> list[RecordedEvent]:
        raise self._fail()

    def stream_position(self, stream_id: str) -> int:
        raise self._fail()

    def read_all(
        self,
        *,
        after: int = 0,
        limit: int = 1000,
        types: Collection[str] | None = None,
        with_metadata: bool = True,
    ) -> list[RecordedEvent]:
        raise self._fail()

    def head_position(self) -> int:
        raise self._fail()

    def wait_for_events(self, after: int, timeout: float) -> bool:
        raise self._fail()

    def close(self) -> None:
        pass


@dataclass
class AppContext:
    store: EventStore
    bank: BankService
    snapshots: SnapshotStore
    clerk_id: str
    data_dir: Path
    demo_events: int = 0  #: fill an empty store with this many demo events at start
    accept_store_reset: bool = False  #: the clerk said an emptied/replaced store is expected
    closed: bool = field(default=False, init=False)
    #: The URL to open again while the store is unopened (it may hold a secret: never shown).
    _url: str = field(default="", repr=False)

    @property
    def store_label(self) -> str:
        """The store as the clerk may see it: any secret masked, the home folder as ``~``."""
        return home_relative(self.store.url)

    @property
    def url(self) -> str:
        """The store's URL as configured, for opening it once more (verification). It may hold
        a password: never show or log it (``store.url`` is the one to show)."""
        return self._url

    @property
    def problem(self) -> EventStoreError | None:
        """Why the store is not open, or None when it is."""
        return self.store.problem if isinstance(self.store, UnopenedStore) else None

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
            accept_store_reset=accept_store_reset,
            _url=store_url,
        )

    @classmethod
    def open_or_offline(
        cls,
        store_url: str,
        *,
        clerk_id: str,
        data_dir: Path | None = None,
        demo_events: int = 0,
        accept_store_reset: bool = False,
    ) -> AppContext:
        """Like :meth:`open`, but a store that cannot be opened gives an offline context."""
        try:
            return cls.open(
                store_url,
                clerk_id=clerk_id,
                data_dir=data_dir,
                demo_events=demo_events,
                accept_store_reset=accept_store_reset,
            )
        except EventStoreError as exc:
            from bank_desktop.eventstore.snapshots import MemorySnapshotStore

            store = UnopenedStore(store_url, exc)
            return cls(
                store=store,
                bank=BankService(store, clerk_id=clerk_id),
                snapshots=MemorySnapshotStore(),
                clerk_id=clerk_id,
                data_dir=data_dir or data_directory(),
                demo_events=demo_events,
                accept_store_reset=accept_store_reset,
                _url=store_url,
            )

    def reopen(self) -> tuple[EventStore, SnapshotStore]:
        """Try to open the unopened store (blocks: call it on a worker). Raises the store's
        error while it still cannot be opened; :meth:`adopt` the result on the GUI thread."""
        store = open_known_store(self._url, self.data_dir, accept_reset=self.accept_store_reset)
        return store, open_snapshot_store(store, self.data_dir)

    def adopt(self, store: EventStore, snapshots: SnapshotStore) -> None:
        """Use a store :meth:`reopen` opened (GUI thread)."""
        self.store, self.snapshots = store, snapshots
        self.bank = BankService(store, clerk_id=self.clerk_id)

    def change_clerk(self, clerk_id: str) -> None:
        """Record the next commands as ``clerk_id`` (the clerk saved a new id in Settings)."""
        self.clerk_id = clerk_id
        self.bank = BankService(self.store, clerk_id=clerk_id)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            store, data_dir = self.store, self.data_dir
            if isinstance(store, UnopenedStore):
                return

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


def home_relative(url: str) -> str:
    """``sqlite:///home/ada/.local/…`` as ``sqlite://~/.local/…``: shorter, and it names no
    user (the status bar is in every screenshot)."""
    home = str(Path.home())
    prefix = "sqlite://"
    if home not in ("", "/") and url.startswith(prefix + home + "/"):
        return prefix + "~" + url[len(prefix) + len(home) :]
    return url
