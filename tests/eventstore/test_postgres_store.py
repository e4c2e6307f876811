"""The PostgreSQL adapter: the shared contract on a real server, then schema, order and URLs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bank_desktop.eventstore import (
    NO_STREAM,
    EventStore,
    NewEvent,
    StoreConfigError,
    StoreUnavailableError,
    open_store,
    prepare_store,
    redact_url,
)
from bank_desktop.eventstore.postgres import PostgresEventStore
from tests.eventstore.contract import EventStoreContract


class TestPostgresEventStore(EventStoreContract):
    def make_store(self, tmp_path: Path) -> EventStore:
        raise NotImplementedError("the store fixture below builds it")

    @pytest.fixture
    def store(self, postgres_url: str) -> Iterator[EventStore]:
        store, created = prepare_store(postgres_url)
        assert created
        try:
            yield store
        finally:
            store.close()


def test_open_refuses_a_database_without_the_schema(postgres_url: str) -> None:
    with pytest.raises(StoreConfigError, match="bank-desktop deploy"):
        open_store(postgres_url)


def test_deploy_is_idempotent(postgres_url: str) -> None:
    first, created = prepare_store(postgres_url)
    first.append("a", [NewEvent("t", {})], NO_STREAM)
    first.close()
    again, created_again = prepare_store(postgres_url)
    assert (created, created_again) == (True, False)
    assert again.head_position() == 1
    again.close()


def test_an_unreachable_server_fails_fast_with_a_clear_message() -> None:
    url = "postgresql://clerk:s3cret@127.0.0.1:1/bank"
    with pytest.raises(StoreUnavailableError) as failed:
        PostgresEventStore(url, display_url=redact_url(url), timeout=1.0)
    assert "s3cret" not in str(failed.value)
    assert "127.0.0.1:1" in str(failed.value)


def test_concurrent_writers_commit_in_position_order(postgres_url: str) -> None:
    # Positions are allocated under a lock held until commit: whatever a reader sees is a
    # gap-free prefix, even with many connections committing at once.
    store, _ = prepare_store(postgres_url)
    reader = open_store(postgres_url)
    seen: list[int] = []
    stop = threading.Event()

    def read() -> None:
        after = 0
        while not stop.is_set() or after < store.head_position():
            batch = reader.read_all(after=after, limit=500)
            seen.extend(e.global_position for e in batch)
            if batch:
                after = batch[-1].global_position

    def write(worker: int) -> None:
        for i in range(60):
            store.append(f"w{worker}-{i % 5}", [NewEvent("t", {"i": i})] * 2, ANY_POS)

    from bank_desktop.eventstore import ANY as ANY_POS

    reading = threading.Thread(target=read)
    reading.start()
    writers = [threading.Thread(target=write, args=(w,)) for w in range(6)]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    reading.join(30)
    assert seen == list(range(1, 6 * 60 * 2 + 1))
    store.close()
    reader.close()


def test_wait_for_events_is_woken_by_another_connection(postgres_url: str) -> None:
    store, _ = prepare_store(postgres_url)
    other = open_store(postgres_url)
    woke: list[bool] = []
    waiting = threading.Thread(target=lambda: woke.append(store.wait_for_events(0, 10.0)))
    waiting.start()
    other.append("s", [NewEvent("t", {})], NO_STREAM)
    waiting.join(15)
    assert woke == [True]
    store.close()
    other.close()
