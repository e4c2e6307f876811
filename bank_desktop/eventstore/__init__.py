"""The event store port, its error family, and ``open_store`` to pick an adapter by URL."""

from __future__ import annotations

from bank_desktop.eventstore.errors import (
    ConcurrencyError,
    EventStoreError,
    StoreConfigError,
    StoreUnavailableError,
)
from bank_desktop.eventstore.port import (
    ANY,
    NO_STREAM,
    STREAM_EXISTS,
    AppendRequest,
    AppendResult,
    BackwardReader,
    DecidingAppender,
    EventStore,
    ExpectedPosition,
    MultiStreamAppender,
    NewEvent,
    RecordedEvent,
    Snapshot,
    SnapshotStore,
    StreamState,
)
from bank_desktop.eventstore.urls import (
    open_snapshot_store,
    open_store,
    prepare_store,
    redact_url,
)

__all__ = [
    "ANY",
    "NO_STREAM",
    "STREAM_EXISTS",
    "AppendRequest",
    "AppendResult",
    "BackwardReader",
    "ConcurrencyError",
    "DecidingAppender",
    "EventStore",
    "EventStoreError",
    "ExpectedPosition",
    "MultiStreamAppender",
    "NewEvent",
    "RecordedEvent",
    "Snapshot",
    "SnapshotStore",
    "StoreConfigError",
    "StoreUnavailableError",
    "StreamState",
    "open_snapshot_store",
    "open_store",
    "prepare_store",
    "redact_url",
]
