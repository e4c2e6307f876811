"""Each uncertain protocol point, switched both ways: server variant and matching setting."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bank_desktop.eventstore import (
    ANY,
    NO_STREAM,
    STREAM_EXISTS,
    ConcurrencyError,
    NewEvent,
    StoreConfigError,
)
from bank_desktop.eventstore.deltabase import DeltaBaseEventStore
from tests.deltabase.conftest import Running, new_name
from tests.deltabase.server import FakeDeltaBase

VARIANTS = {
    "older-docs-routes-and-bearer": (
        {"prefix": "", "append_paths": ("events",), "auth": "bearer"},
        {"rest_prefix": "", "append_path": "events", "auth_header": "bearer"},
    ),
    "versions-as-last-position-1-based": (
        {"version_mode": "last_position", "stream_position_base": 1},
        {"expected_version": "last_position", "stream_position_base": 1},
    ),
    "exclusive-fromPosition-tiny-pages": ({"from_inclusive": False, "max_limit": 3}, {}),
    "whole-stream-reads": ({}, {"stream_read": "whole"}),
    "server-keeps-our-event-ids": (
        {"keep_client_event_id": True},
        {"event_id_metadata_key": None, "send_event_id": True},
    ),
}


@pytest.fixture(params=list(VARIANTS), scope="module")
def variant(request: pytest.FixtureRequest) -> Iterator[tuple[Running, dict[str, Any]]]:
    server, settings = VARIANTS[request.param]
    running = Running(FakeDeltaBase(**server))
    yield running, settings
    running.close()


def new(type_: str = "t", **data: Any) -> NewEvent:
    return NewEvent(type_, data, {"commandId": "c"})


def test_the_adapter_speaks_each_variant(variant: tuple[Running, dict[str, Any]]) -> None:
    running, changes = variant
    name = new_name()
    running.fake.create_store(name)
    store = DeltaBaseEventStore(running.settings(name, **changes))
    try:
        first = [new(i=0), new(i=1)]
        result = store.append("a", first, NO_STREAM)
        assert (result.stream_position, result.global_positions) == (2, (1, 2))
        assert [e.event_id for e in result.events] == [e.event_id for e in first]
        store.append("b", [new()], NO_STREAM)
        with pytest.raises(ConcurrencyError) as stale:
            store.append("a", [new()], 1)
        assert stale.value.actual == 2
        with pytest.raises(ConcurrencyError) as exists:
            store.append("b", [new()], NO_STREAM)
        assert exists.value.actual == 1
        assert store.append("a", [new("x"), new("x"), new("x")], 2).stream_position == 5
        assert store.append("a", [new()], ANY).stream_position == 6
        assert store.append("b", [new("x")], STREAM_EXISTS).stream_position == 2

        stream = store.read_stream("a")
        assert [e.stream_position for e in stream] == [1, 2, 3, 4, 5, 6]
        assert [e.event_id for e in stream[:2]] == [e.event_id for e in first]
        assert [e.stream_position for e in store.read_stream("a", after=2, limit=2)] == [3, 4]
        assert store.stream_position("a") == 6
        assert store.stream_position("nothing") == 0
        everything = store.read_all()
        assert [e.global_position for e in everything] == list(range(1, 9))
        assert [e.global_position for e in store.read_all(after=2, limit=4)] == [3, 4, 5, 6]
        assert [e.global_position for e in store.read_all(types=["x"])] == [4, 5, 6, 8]
        assert [e.global_position for e in store.read_all(types=["x"], after=4, limit=2)] == [5, 6]
        assert store.head_position() == 8
        assert store.wait_for_events(7, 0) is True
        assert len(running.fake.store(name).read_all()) == 8  # nothing doubled
    finally:
        store.close()


def test_the_wrong_auth_header_is_a_clear_401() -> None:
    running = Running(FakeDeltaBase(auth="bearer"))
    try:
        name = new_name()
        running.fake.create_store(name)
        store = DeltaBaseEventStore(running.settings(name))  # X-API-Key, the default
        with pytest.raises(StoreConfigError, match="check your API key"):
            store.read_all()
        store.close()
        right = DeltaBaseEventStore(running.settings(name, auth_header="bearer"))
        assert right.read_all() == []
        right.close()
    finally:
        running.close()
