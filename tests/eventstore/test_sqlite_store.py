"""The SQLite adapter: the shared contract, then files, pragmas, damage, busy and processes."""

from __future__ import annotations

import multiprocessing
import queue
import random
import sqlite3
import stat
import threading
from pathlib import Path
from typing import Any

import pytest

from bank_desktop.eventstore import (
    NO_STREAM,
    EventStore,
    EventStoreError,
    MultiStreamAppender,
    StoreConfigError,
    StoreUnavailableError,
)
from bank_desktop.eventstore.sqlite import SCHEMA_VERSION, SqliteEventStore
from tests.eventstore import _mp_workers
from tests.eventstore.contract import (
    JOIN_TIMEOUT,
    EventStoreContract,
    events,
    global_positions,
    new,
    read_everything,
    run_threads,
    stream_positions,
)


class TestSqliteEventStore(EventStoreContract):
    def make_store(self, tmp_path: Path) -> EventStore:
        return SqliteEventStore(tmp_path / "store" / "events.db")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "bank.db"


@pytest.fixture
def sqlite_store(db_path: Path):
    store = SqliteEventStore(db_path)
    yield store
    store.close()


# ── files ─────────────────────────────────────────────────────────────────────────────────


def test_creates_parent_directories_and_private_files(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "bank.db"
    store = SqliteEventStore(path)
    try:
        store.append("a", [new()], NO_STREAM)
        assert path.is_file()
        assert store.path == path
        assert store.url == f"sqlite://{path}"
        assert mode(path) == 0o600
        wal, shm = Path(f"{path}-wal"), Path(f"{path}-shm")
        assert wal.exists()
        assert shm.exists()
        assert mode(wal) == 0o600
        assert mode(shm) == 0o600
        # The directory the store created for its file is private too.
        assert mode(path.parent) == 0o700
    finally:
        store.close()


def test_existing_file_mode_is_left_alone_and_data_kept(db_path: Path) -> None:
    first = SqliteEventStore(db_path)
    first.append("a", [new(i=1)], NO_STREAM)
    first.close()
    second = SqliteEventStore(db_path)
    try:
        assert [e.data for e in second.read_stream("a")] == [{"i": 1}]
        assert second.append("a", [new(i=2)], 1).global_positions == (2,)
    finally:
        second.close()
    assert mode(db_path) == 0o600


def test_two_instances_on_one_file_see_each_other(sqlite_store: SqliteEventStore, db_path: Path):
    other = SqliteEventStore(db_path)
    try:
        sqlite_store.append("a", events(2), NO_STREAM)
        assert other.head_position() == 2
        assert other.read_all() == sqlite_store.read_all()
        other.append("a", events(1), 2)
        assert sqlite_store.stream_position("a") == 3
        with pytest.raises(EventStoreError):
            sqlite_store.append("a", events(1), 2)
        assert global_positions(sqlite_store.read_all()) == [1, 2, 3]
    finally:
        other.close()


def test_wait_notices_appends_by_another_instance(sqlite_store: SqliteEventStore, db_path: Path):
    # Another instance shares no condition variable with this one: it is seen by polling,
    # exactly like another process.
    other = SqliteEventStore(db_path)
    waiting = threading.Event()
    outcome: list[Any] = []

    def waiter() -> None:
        waiting.set()
        outcome.append(sqlite_store.wait_for_events(0, 60.0))

    thread = threading.Thread(target=waiter, daemon=True)
    try:
        thread.start()
        assert waiting.wait(JOIN_TIMEOUT)
        other.append("a", [new()], NO_STREAM)
        thread.join(JOIN_TIMEOUT)
        assert not thread.is_alive()
        assert outcome == [True]
    finally:
        other.close()


def test_is_a_multi_stream_appender(sqlite_store: SqliteEventStore) -> None:
    assert isinstance(sqlite_store, MultiStreamAppender)


# ── pragmas ───────────────────────────────────────────────────────────────────────────────


def test_journal_is_wal(sqlite_store: SqliteEventStore, db_path: Path) -> None:
    sqlite_store.append("a", [new()], NO_STREAM)
    raw = sqlite3.connect(db_path)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        raw.close()


def test_every_connection_is_synchronous_full(sqlite_store: SqliteEventStore) -> None:
    # White-box: connections are per thread, so look at this thread's and another's.
    def synchronous() -> int:
        return sqlite_store._connection().execute("PRAGMA synchronous").fetchone()[0]

    assert synchronous() == 2
    seen: list[int] = []
    assert run_threads([lambda: seen.append(synchronous())]) == []
    assert seen == [2]


# ── damaged or foreign files ──────────────────────────────────────────────────────────────


def test_not_a_database(db_path: Path) -> None:
    garbage = b"this is not a database, just some bytes\n" * 200
    db_path.write_bytes(garbage)
    with pytest.raises(StoreConfigError) as info:
        SqliteEventStore(db_path)
    message = str(info.value)
    assert str(db_path) in message
    assert "not a Bank Desktop store" in message
    assert isinstance(info.value.__cause__, sqlite3.DatabaseError)
    assert db_path.read_bytes() == garbage  # the failed open left the file alone


def test_directory_instead_of_file(tmp_path: Path) -> None:
    path = tmp_path / "a-directory.db"
    path.mkdir()
    with pytest.raises(EventStoreError) as info:
        SqliteEventStore(path)
    assert not isinstance(info.value, sqlite3.Error)


def test_uncreatable_file(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(EventStoreError) as info:
        SqliteEventStore(blocker / "bank.db")  # parent is a regular file
    assert not isinstance(info.value, (sqlite3.Error, OSError))


def test_newer_schema_is_refused(db_path: Path) -> None:
    SqliteEventStore(db_path).close()
    raw = sqlite3.connect(db_path)
    raw.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    raw.commit()
    raw.close()
    with pytest.raises(StoreConfigError) as info:
        SqliteEventStore(db_path)
    assert "newer" in str(info.value)


def test_foreign_sqlite_database_is_a_config_error(db_path: Path) -> None:
    raw = sqlite3.connect(db_path)
    raw.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, payload BLOB)")
    raw.commit()
    raw.close()
    with pytest.raises(StoreConfigError):
        SqliteEventStore(db_path)


def _insert_raw(path: Path, position: int, data: str, metadata: str) -> None:
    raw = sqlite3.connect(path)
    with raw:
        raw.execute(
            "INSERT INTO events (global_position, stream_id, stream_position, event_id, type, "
            "data, metadata, created_at) VALUES (?, 's', ?, ?, 'damaged', ?, ?, ?)",
            (position, position, f"raw-{position}", data, metadata, "2024-05-01T12:00:00.000000Z"),
        )
    raw.close()


def test_damaged_rows_are_returned_not_fatal(sqlite_store: SqliteEventStore, db_path: Path) -> None:
    sqlite_store.append("s", [new(ok=1)], NO_STREAM)
    _insert_raw(db_path, 2, '{"amount": 1.5', '{"clerk": "c"}')  # truncated data
    _insert_raw(db_path, 3, '{"fine": true}', "{not json")  # broken metadata
    _insert_raw(db_path, 4, "", "[1, 2]")  # empty data; metadata not an object
    _insert_raw(db_path, 5, "null", "null")
    sqlite_store.append("s", [new(ok=2)], 5)

    everything = sqlite_store.read_all()
    assert global_positions(everything) == [1, 2, 3, 4, 5, 6]
    assert [e.data for e in everything] == [{"ok": 1}, None, {"fine": True}, None, None, {"ok": 2}]
    assert [dict(e.metadata) for e in everything] == [{}, {"clerk": "c"}, {}, {}, {}, {}]
    assert everything[1].event_id == "raw-2"
    assert everything[1].created_at.utcoffset() is not None
    assert sqlite_store.read_stream("s") == everything
    assert [e.data for e in sqlite_store.read_all(types=["damaged"], with_metadata=False)] == [
        None,
        {"fine": True},
        None,
        None,
    ]


# ── busy and closed ───────────────────────────────────────────────────────────────────────


def test_busy_store_raises_unavailable_and_writes_nothing(db_path: Path) -> None:
    store = SqliteEventStore(db_path, busy_timeout=0.2)
    try:
        store.append("a", [new()], NO_STREAM)
        raw = sqlite3.connect(db_path, isolation_level=None)
        try:
            raw.execute("BEGIN IMMEDIATE")
            with pytest.raises(StoreUnavailableError) as info:
                store.append("a", [new()], 1)
            assert "busy" in str(info.value)
            assert isinstance(info.value.__cause__, sqlite3.OperationalError)
            with pytest.raises(StoreUnavailableError):
                store.append_many([])
            # WAL readers are not blocked by the writer.
            assert store.head_position() == 1
            assert store.stream_position("a") == 1
        finally:
            raw.execute("ROLLBACK")
            raw.close()
        assert store.append("a", [new()], 1).stream_position == 2
        assert global_positions(store.read_all()) == [1, 2]
    finally:
        store.close()


def test_use_after_close_says_closed(sqlite_store: SqliteEventStore) -> None:
    sqlite_store.append("a", [new()], NO_STREAM)
    sqlite_store.close()
    with pytest.raises(EventStoreError) as info:
        sqlite_store.head_position()
    assert not isinstance(info.value, StoreConfigError)
    assert "closed" in str(info.value)


def test_wait_after_close_returns_false(sqlite_store: SqliteEventStore) -> None:
    # Differs from the memory adapter, which raises EventStoreError here.
    sqlite_store.append("a", [new()], NO_STREAM)
    sqlite_store.close()
    assert sqlite_store.wait_for_events(0, 5.0) is False


# ── several processes ─────────────────────────────────────────────────────────────────────


def _start(target: Any, path: Path, count: int, **options: Any) -> tuple[list[Any], Any, Any]:
    """Spawn ``count`` workers ``target(path, i, **options)``, held at a barrier that the test
    process passes last, so the test can be reading when they start writing."""
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(count + 1)
    results = ctx.Queue()
    processes = [
        ctx.Process(
            target=target,
            args=(str(path), i),
            kwargs={**options, "start": start, "results": results},
            daemon=True,
        )
        for i in range(count)
    ]
    for process in processes:
        process.start()
    return processes, start, results


def _finish(processes: list[Any], replies: list[tuple[str, Any]]) -> list[Any]:
    for process in processes:
        process.join(JOIN_TIMEOUT)
    errors = [body for kind, body in replies if kind != "ok"]
    assert errors == [], "\n".join(errors)
    assert [p.exitcode for p in processes] == [0] * len(processes)
    return [body for _, body in replies]


@pytest.mark.slow
def test_processes_share_one_file_without_losing_or_duplicating(db_path: Path) -> None:
    workers, hot_count, own_count = 4, 200, 100
    # Initialise the file first: concurrent first opens of a fresh file race (see report).
    SqliteEventStore(db_path).close()
    processes, start, results = _start(
        _mp_workers.hot_stream_writer,
        db_path,
        workers,
        hot_count=hot_count,
        own_count=own_count,
    )
    try:
        start.wait(_mp_workers.BARRIER_TIMEOUT)
        replies = [results.get(timeout=JOIN_TIMEOUT) for _ in processes]
    finally:
        for process in processes:
            if process.is_alive():
                process.join(JOIN_TIMEOUT)
    bodies = _finish(processes, replies)

    store = SqliteEventStore(db_path)
    try:
        total = workers * (hot_count + own_count)
        assert store.head_position() == total
        everything = read_everything(store)
        assert global_positions(everything) == list(range(1, total + 1))
        hot = store.read_stream("hot")
        assert stream_positions(hot) == list(range(1, workers * hot_count + 1))
        for worker in range(workers):
            mine = [e.data["i"] for e in hot if e.data["worker"] == worker]
            assert mine == list(range(hot_count))
            own = store.read_stream(f"own-{worker}")
            assert stream_positions(own) == list(range(1, own_count + 1))
            assert [e.data["i"] for e in own] == list(range(own_count))
        stored_ids = [e.event_id for e in everything]
        written_ids = [i for body in bodies for i in body["ids"]]
        assert len(set(stored_ids)) == len(stored_ids) == total
        assert sorted(stored_ids) == sorted(written_ids)
        stamps = [e.created_at for e in everything]
        assert stamps == sorted(stamps)
    finally:
        store.close()


@pytest.mark.slow
def test_reader_never_sees_a_gap_while_processes_write(db_path: Path) -> None:
    workers, appends = 4, 150
    store = SqliteEventStore(db_path)
    processes, start, results = _start(_mp_workers.gap_writer, db_path, workers, appends=appends)
    rng = random.Random(7)
    seen: list[int] = []
    replies: list[tuple[str, Any]] = []
    last = 0
    try:
        start.wait(_mp_workers.BARRIER_TIMEOUT)
        while True:
            batch = store.read_all(after=last, limit=rng.randint(1, 60))
            positions = global_positions(batch)
            assert positions == list(range(last + 1, last + 1 + len(batch))), (
                f"after {last} the reader got {positions}"
            )
            seen.extend(positions)
            if batch:
                last = positions[-1]
                continue
            try:
                while True:
                    replies.append(results.get_nowait())
            except queue.Empty:
                pass
            if len(replies) == workers:
                if last == store.head_position():
                    break
            elif any(kind != "ok" for kind, _ in replies):
                break
            else:
                store.wait_for_events(last, 0.05)
    finally:
        store.close()
        for process in processes:
            process.join(JOIN_TIMEOUT)
    bodies = _finish(processes, replies)
    total = sum(body["written"] for body in bodies)
    assert total >= workers * appends
    assert seen == list(range(1, total + 1))


@pytest.mark.slow
def test_processes_creating_one_fresh_file_at_once_all_get_in(tmp_path: Path) -> None:
    # Switching a new file to WAL needs an exclusive lock that SQLite does not retry on its
    # own; the adapter retries within its busy timeout, so no opener fails with "busy".
    ctx = multiprocessing.get_context("spawn")
    for round_ in range(3):
        path = tmp_path / f"fresh-{round_}.db"
        start = ctx.Barrier(6)
        results = ctx.Queue()
        processes = [
            ctx.Process(target=_mp_workers.open_fresh, args=(str(path), start, results))
            for _ in range(6)
        ]
        for process in processes:
            process.start()
        replies = [results.get(timeout=JOIN_TIMEOUT) for _ in processes]
        _finish(processes, replies)
        check = SqliteEventStore(path)
        assert check.head_position() == 6
        check.close()
