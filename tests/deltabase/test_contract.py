"""The shared event store contract against the adapter and the test DeltaBase."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bank_desktop.eventstore import EventStore, MultiStreamAppender
from bank_desktop.eventstore.deltabase import DeltaBaseEventStore
from tests.eventstore.contract import EventStoreContract


class TestDeltaBaseEventStore(EventStoreContract):
    def make_store(self, tmp_path: Path) -> EventStore:
        raise NotImplementedError("the store fixture below builds it")

    @pytest.fixture
    def store(self, open_delta: Callable[..., DeltaBaseEventStore]) -> Iterator[EventStore]:
        store = open_delta()
        try:
            yield store
        finally:
            store.close()


def test_no_multi_stream_appends_are_offered(
    open_delta: Callable[..., DeltaBaseEventStore],
) -> None:
    # DeltaBase has no atomic multi-stream append; transfers are a process for this reason.
    assert not isinstance(open_delta(), MultiStreamAppender)
