"""The in-process adapter against the shared contract, plus what only it promises."""

from __future__ import annotations

from pathlib import Path

import pytest

from bank_desktop.eventstore import (
    NO_STREAM,
    EventStore,
    EventStoreError,
    MultiStreamAppender,
    NewEvent,
)
from bank_desktop.eventstore.memory import MemoryEventStore
from tests.eventstore.contract import EventStoreContract


class TestMemoryEventStore(EventStoreContract):
    def make_store(self, tmp_path: Path) -> EventStore:
        return MemoryEventStore()


def test_url_and_capabilities() -> None:
    store = MemoryEventStore()
    assert store.url == "memory://"
    assert isinstance(store, MultiStreamAppender)


def test_instances_are_independent() -> None:
    first, second = MemoryEventStore(), MemoryEventStore()
    first.append("a", [NewEvent("t", {})], NO_STREAM)
    assert second.head_position() == 0
    assert second.read_stream("a") == []


def test_wait_after_close_raises() -> None:
    # Differs from SQLite, which returns False here; the contract allows both.
    store = MemoryEventStore()
    store.close()
    with pytest.raises(EventStoreError, match="closed"):
        store.wait_for_events(0, 5.0)
