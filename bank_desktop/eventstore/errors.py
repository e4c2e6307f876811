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
