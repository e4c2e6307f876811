"""The event store's error family: adapters translate every driver failure into one of these."""

from __future__ import annotations

from bank_desktop.eventstore.port import ExpectedPosition, StreamState


class EventStoreError(Exception):
    """Base of every failure an event store adapter reports."""


class ConcurrencyError(EventStoreError):
    """The stream was not where the writer expected it; nothing was written."""

    def __init__(self, stream_id: str, expected: ExpectedPosition, actual: int) -> None:
        shown = expected.value if isinstance(expected, StreamState) else expected
        super().__init__(
            f"Stream {stream_id} changed meanwhile: expected {shown}, found position {actual}."
        )
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual


class StoreUnavailableError(EventStoreError):
    """The store cannot be reached or is busy beyond the timeout; retrying later may work."""


class StoreConfigError(EventStoreError):
    """The store URL or its settings are wrong; retrying will not help until they are fixed."""


class StoreDamagedError(StoreConfigError):
    """The store's data is damaged (a malformed file or event); retrying will not help.

    Raised instead of guessing: writes to a damaged store are refused, so new money never
    lands in a file that may not survive its repair.
    """


class StoreReadOnlyError(StoreConfigError):
    """The store was opened for reading only (no permission to write it); writes are refused."""


class StoreRegressedError(StoreConfigError):
    """The store is not the one this computer used before: emptied, replaced, gone or older.

    Starting over silently would look like a new bank with no money in it; the clerk has to
    say explicitly that the change is intended.
    """


class SnapshotDamagedError(EventStoreError):
    """A saved snapshot failed its integrity check (edited, damaged, cut short).

    Never used: the projection is rebuilt from the store, and the clerk is told why.
    """
