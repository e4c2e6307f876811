"""Group commit: writers that queue while another commits share the next commit.

The store's write lock is held from outside (SQLite: another connection's ``BEGIN
IMMEDIATE``; PostgreSQL: another session holding the store's advisory lock) so the first
writer waits for it and the others queue behind it: then the batch is certain, not a matter of
timing.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import psycopg
import pytest

from bank_desktop.eventstore import (
    NO_STREAM,
    AppendResult,
    ConcurrencyError,
    EventStoreError,
    prepare_store,
)
from bank_desktop.eventstore.group_commit import GroupCommit
from bank_desktop.eventstore.postgres import PostgresEventStore
from bank_desktop.eventstore.sqlite import SqliteEventStore
from tests.eventstore.contract import JOIN_TIMEOUT, events, global_positions, new, read_everything


class Blocker(Protocol):
    def release(self) -> None: ...


class SqliteBlocker:
    """Another process's connection holding SQLite's write lock."""

    def __init__(self, store: SqliteEventStore) -> None:
        self.conn = sqlite3.connect(store.path, isolation_level=None)
        self.conn.execute("BEGIN IMMEDIATE")

    def release(self) -> None:
        self.conn.execute("COMMIT")
        self.conn.close()


class PostgresBlocker:
    """Another session holding the store's advisory lock (its key is the store's own)."""

    def __init__(self, store: PostgresEventStore, url: str) -> None:
        self.conn = psycopg.connect(url, autocommit=True)
        self.conn.execute("SELECT pg_advisory_lock(%s)", (store._lock_key,))

    def release(self) -> None:
        self.conn.execute("SELECT pg_advisory_unlock_all()")
        self.conn.close()


Store = SqliteEventStore | PostgresEventStore


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        opened: Store = SqliteEventStore(tmp_path / "bank.db", busy_timeout=JOIN_TIMEOUT)
    else:
        url = request.getfixturevalue("postgres_url")
        prepared, _ = prepare_store(url)
        assert isinstance(prepared, PostgresEventStore)
        opened = prepared
        request.node.postgres_url = url
    yield opened
    opened.close()


def held(store: Store, request: pytest.FixtureRequest) -> Blocker:
    if isinstance(store, SqliteEventStore):
        return SqliteBlocker(store)
    return PostgresBlocker(store, request.node.postgres_url)


class Refused(Exception):
    """What a decision made under the lock raised (a business rule, say)."""


class Writers:
    """Threads that each make one write and keep what it answered."""

    def __init__(self) -> None:
        self.outcomes: dict[str, Any] = {}
        self.threads: list[threading.Thread] = []

    def start(self, name: str, write: Callable[[], Any]) -> None:
        def run() -> None:
            try:
                self.outcomes[name] = write()
            except BaseException as exc:  # the outcome under test
                self.outcomes[name] = exc

        thread = threading.Thread(target=run, daemon=True)
        self.threads.append(thread)
        thread.start()

    def join(self) -> dict[str, Any]:
        for thread in self.threads:
            thread.join(JOIN_TIMEOUT)
        assert not any(t.is_alive() for t in self.threads), "a writer hung"
        return self.outcomes


def test_writers_queued_behind_a_commit_share_the_next_one(
    store: Store, request: pytest.FixtureRequest
) -> None:
    store.append("busy", events(1), NO_STREAM)
    group = store.group_commit
    before = (group.commits, group.writes)
    blocker = held(store, request)
    writers = Writers()
    writers.start("first", lambda: store.append("first", events(1), NO_STREAM))
    for index in range(6):
        writers.start(f"w{index}", lambda i=index: store.append(f"s{i}", events(2), NO_STREAM))
    writers.start("stale", lambda: store.append("busy", events(1), NO_STREAM))  # a conflict

    def refuse(_: list[Any]) -> list[Any]:
        raise Refused("insufficient funds")

    writers.start("refused", lambda: store.append_decided("busy", 0, refuse))
    assert group.wait_queued(8, JOIN_TIMEOUT)  # all but the leader, which waits for the lock
    blocker.release()
    outcomes = writers.join()

    assert (group.commits - before[0], group.writes - before[1]) == (2, 9)
    assert isinstance(outcomes["stale"], ConcurrencyError)
    assert isinstance(outcomes["refused"], Refused)
    written = [outcomes["first"], *(outcomes[f"w{i}"] for i in range(6))]
    assert all(isinstance(result, AppendResult) for result in written)
    stored = {event.event_id: event for event in read_everything(store)}
    assert len(stored) == 1 + 1 + 12
    for result in written:
        for event in result.events:
            assert stored[event.event_id].global_position == event.global_position
    assert sorted(e.global_position for e in stored.values()) == list(range(1, 15))


def test_a_decision_under_the_lock_sees_the_writes_before_it_in_the_batch(
    store: Store, request: pytest.FixtureRequest
) -> None:
    store.append("account", events(1), NO_STREAM)
    blocker = held(store, request)
    writers = Writers()
    writers.start("leader", lambda: store.append("other", events(1), NO_STREAM))
    assert store.group_commit.wait_queued(0, JOIN_TIMEOUT)
    writers.start("deposit", lambda: store.append("account", [new(n=2)], 1))
    assert store.group_commit.wait_queued(1, JOIN_TIMEOUT)
    seen: list[int] = []

    def decide(tail: list[Any]) -> list[Any]:
        seen.extend(e.stream_position for e in tail)
        return [new(n=3)]

    writers.start("decided", lambda: store.append_decided("account", 1, decide))
    assert store.group_commit.wait_queued(2, JOIN_TIMEOUT)
    blocker.release()
    outcomes = writers.join()
    assert seen == [2]  # the deposit queued ahead of it, in the same commit
    assert outcomes["decided"].stream_position == 3
    assert [e.data["n"] for e in store.read_stream("account")] == [0, 2, 3]


class Interrupted(BaseException):
    """Something that stops a commit halfway (not a refusal of one write)."""


def test_a_commit_that_fails_halfway_writes_nothing_and_fails_every_write_in_it(
    store: Store, request: pytest.FixtureRequest
) -> None:
    blocker = held(store, request)
    writers = Writers()
    writers.start("leader", lambda: store.append("a", events(1), NO_STREAM))
    assert store.group_commit.wait_queued(0, JOIN_TIMEOUT)
    writers.start("b", lambda: store.append("b", events(1), NO_STREAM))
    assert store.group_commit.wait_queued(1, JOIN_TIMEOUT)

    def stop(_: list[Any]) -> list[Any]:
        raise Interrupted

    writers.start("stop", lambda: store.append_decided("c", 0, stop))
    assert store.group_commit.wait_queued(2, JOIN_TIMEOUT)
    writers.start("d", lambda: store.append("d", events(1), NO_STREAM))
    assert store.group_commit.wait_queued(3, JOIN_TIMEOUT)
    blocker.release()
    outcomes = writers.join()
    assert isinstance(outcomes["leader"], AppendResult)  # committed alone, before the batch
    # The oldest waiter ("b") led the batch: the interruption surfaces in its thread; every
    # other write in that commit is told it was not written.
    assert isinstance(outcomes["b"], Interrupted)
    for name in ("stop", "d"):
        assert isinstance(outcomes[name], EventStoreError), name
        assert "nothing of it was written" in str(outcomes[name])
    assert [e.stream_id for e in read_everything(store)] == ["a"]
    # The queue is not stuck: the next writer commits at once.
    assert global_positions(store.append("b", events(1), NO_STREAM).events) == [2]


def test_the_first_writer_alone_commits_at_once() -> None:
    committed: list[list[str]] = []
    group: GroupCommit[str] = GroupCommit(lambda writes: committed.append(list(writes)), print)
    group.submit(["one"])
    group.submit(["two", "three"])
    assert committed == [["one"], ["two", "three"]]
    assert (group.commits, group.writes, group.queued()) == (2, 3, 0)
