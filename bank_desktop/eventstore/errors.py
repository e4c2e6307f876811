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


class IdentityMismatchError(StoreConfigError):
    """A store with strict identity refused events whose clerk is not the database login.

    Nothing was written. The clerk id is the setting to fix (or leave unset: on PostgreSQL it
    then defaults to the login), so retrying as it is will not help.
    """

    def __init__(self, clerk_id: str | None, login: str) -> None:
        claimed = "no clerk id" if clerk_id is None else f"the clerk id {clerk_id!r}"
        super().__init__(
            f"Refused: this bank's store accepts changes only under your own database login "
            f"({login!r}), and this desk works as {claimed}. Nothing was recorded. Set your "
            f"clerk id to {login!r} (File › Settings, or --clerk {login}), or leave it empty "
            "to use your login."
        )
        self.clerk_id = clerk_id
        self.login = login


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
