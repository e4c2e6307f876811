"""The embedded store: one SQLite file, safe for several threads and processes on one machine.

- WAL journal with ``synchronous=FULL``: a committed deposit survives a power cut.
- Every append runs in ``BEGIN IMMEDIATE``, which takes SQLite's single write lock before the
  stream position is checked, so the check and the insert cannot interleave with another
  writer (thread or process). Global positions are assigned under that same lock, so they are
  allocated in commit order: a reader can never see position N+1 before N (no gaps, ever).
- Readers run outside transactions; each statement sees the latest committed snapshot.
- The file is created with mode 0600 (SQLite gives its -wal/-shm files the same mode).
"""

from __future__ import annotations

import heapq
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, Final

from bank_desktop.eventstore.backwards import (
    check_backwards_args,
    metadata_matches,
    metadata_needle,
)
from bank_desktop.eventstore.batches import Row as BatchRow
from bank_desktop.eventstore.batches import allocate, encode_requests, results
from bank_desktop.eventstore.codec import (
    decode_metadata,
    decode_payload,
    fast_decode,
    format_timestamp,
    utc_now,
)
from bank_desktop.eventstore.errors import (
    EventStoreError,
    StoreConfigError,
    StoreUnavailableError,
)
from bank_desktop.eventstore.port import (
    AppendRequest,
    AppendResult,
    DecideTail,
    ExpectedPosition,
    NewEvent,
    RecordedEvent,
)
from bank_desktop.eventstore.validation import check_read_args, check_stream_id

_log = logging.getLogger(__name__)

SCHEMA_VERSION: Final = 1
_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS events (
    global_position INTEGER PRIMARY KEY,
    stream_id       TEXT    NOT NULL,
    stream_position INTEGER NOT NULL,
    event_id        TEXT    NOT NULL,
    type            TEXT    NOT NULL,
    data            TEXT    NOT NULL,
    metadata        TEXT    NOT NULL,
    created_at      TEXT    NOT NULL,
    UNIQUE (stream_id, stream_position)
);
CREATE INDEX IF NOT EXISTS events_by_type ON events (type, global_position);
"""
_COLUMNS: Final = (
    "global_position, stream_id, stream_position, event_id, type, data, created_at, metadata"
)
_EXPECTED_COLUMNS: Final = (
    "global_position",
    "stream_id",
    "stream_position",
    "event_id",
    "type",
    "data",
    "metadata",
    "created_at",
)
_STREAM_HEAD: Final = "SELECT max(stream_position) FROM events WHERE stream_id = ?"
# Both heads in one round trip: the store's global position and the first stream's position.
_HEADS: Final = (
    "SELECT (SELECT max(global_position) FROM events), "
    "(SELECT max(stream_position) FROM events WHERE stream_id = ?)"
)
_INSERT: Final = f"INSERT INTO events ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)"
_SELECT: Final = f"SELECT {_COLUMNS} FROM events"
_SELECT_LEAN: Final = f"SELECT {_COLUMNS.rsplit(',', 1)[0]} FROM events"
_STREAM_TAIL: Final = (
    f"{_SELECT} WHERE stream_id = ? AND stream_position > ? ORDER BY stream_position"
)

Row = tuple[int, str, int, str, str, str, str, str]


class SqliteEventStore:
    """Event store on a local SQLite file (``sqlite:///path/to/bank.db``)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = 5.0,
        poll_interval: float = 0.05,
    ) -> None:
        # Absolute once, here: every thread opens its own connection later, and a relative
        # path would follow the process's current directory wherever it goes.
        self._path = Path(path).absolute()
        self._busy_timeout = busy_timeout
        self._poll_interval = poll_interval
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._appended = threading.Condition()
        self._closed = False
        self._create_file()
        with self._translated("open the store"):
            self._prepare_schema()

    # ── connections ───────────────────────────────────────────────────────────────────────

    @property
    def url(self) -> str:
        return f"sqlite://{self._path}" if self._path.is_absolute() else f"sqlite:{self._path}"

    @property
    def path(self) -> Path:
        return self._path

    def _create_file(self) -> None:
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self._path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            return
        except OSError as exc:
            raise StoreUnavailableError(
                f"Cannot create the store file {self._path}: {exc.strerror}."
            ) from exc
        os.close(fd)

    def _connection(self) -> sqlite3.Connection:
        if self._closed:
            raise EventStoreError("The event store is closed.")
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        conn = sqlite3.connect(
            self._path,
            timeout=self._busy_timeout,
            isolation_level=None,
            check_same_thread=False,
            cached_statements=32,
        )
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(f"PRAGMA busy_timeout={int(self._busy_timeout * 1000)}")
        self._local.conn = conn
        with self._connections_lock:
            self._connections.append(conn)
        return conn

    def _prepare_schema(self) -> None:
        conn = self._connection()
        # Switching to WAL needs an exclusive lock and SQLite does not apply the busy timeout
        # to it: several processes opening a fresh file at once must retry by hand.
        deadline = time.monotonic() + self._busy_timeout
        while True:
            try:
                mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc).lower() or time.monotonic() > deadline:
                    raise
                time.sleep(0.005)
        if str(mode).lower() != "wal":
            raise StoreUnavailableError(f"Cannot switch {self._path} to WAL mode (got {mode}).")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreConfigError(
                f"{self._path} was written by a newer Bank Desktop (schema {version}); "
                "upgrade the application."
            )
        if version < SCHEMA_VERSION:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        columns = [row[1] for row in conn.execute("PRAGMA table_info(events)")]
        if columns != list(_EXPECTED_COLUMNS):
            raise StoreConfigError(
                f"{self._path} has an 'events' table that is not Bank Desktop's "
                f"(columns {', '.join(columns) or 'none'}); choose another file."
            )

    @contextmanager
    def _translated(self, action: str) -> Iterator[None]:
        """Driver errors in, the store's error family out, each with a message that fits."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            text = str(exc).lower()
            if "locked" in text or "busy" in text:
                raise StoreUnavailableError(
                    f"The store {self._path} is busy (another process holds it); could not "
                    f"{action}. Try again in a moment."
                ) from exc
            if "no such table" in text or "no such column" in text:
                raise StoreConfigError(
                    f"{self._path} is not a Bank Desktop store ({exc}); choose another file."
                ) from exc
            raise StoreUnavailableError(f"Could not {action}: {exc}.") from exc
        except sqlite3.ProgrammingError as exc:
            if self._closed:
                raise EventStoreError("The event store is closed.") from exc
            raise EventStoreError(f"Could not {action}: {exc}.") from exc
        except (sqlite3.IntegrityError, sqlite3.DataError, sqlite3.InterfaceError) as exc:
            raise EventStoreError(f"Could not {action}: {exc}.") from exc
        except sqlite3.DatabaseError as exc:  # "file is not a database", "malformed", …
            raise StoreConfigError(
                f"{self._path} is damaged or is not a Bank Desktop store ({exc})."
            ) from exc
        except sqlite3.Error as exc:  # pragma: no cover - other driver failures
            raise EventStoreError(f"Could not {action}: {exc}.") from exc

    # ── writing ───────────────────────────────────────────────────────────────────────────

    def append(
        self, stream_id: str, events: Sequence[NewEvent], expected: ExpectedPosition
    ) -> AppendResult:
        return self.append_many([AppendRequest(stream_id, events, expected)])[0]

    def append_many(self, requests: Sequence[AppendRequest]) -> list[AppendResult]:
        encoded = encode_requests(requests)
        first = requests[0].stream_id if requests else ""

        def plan(conn: sqlite3.Connection) -> tuple[list[BatchRow], list[int]]:
            head, first_position = conn.execute(_HEADS, (first,)).fetchone()

            def position_of(stream_id: str) -> int:
                if stream_id == first:
                    return int(first_position or 0)
                return int(conn.execute(_STREAM_HEAD, (stream_id,)).fetchone()[0] or 0)

            return allocate(requests, encoded, head=int(head or 0), position_of=position_of)

        rows, heads, now = self._locked_write(f"append to {first or 'the store'}", plan)
        return results(requests, rows, heads, now)

    def append_decided(self, stream_id: str, after: int, decide: DecideTail) -> AppendResult:
        check_stream_id(stream_id)
        check_read_args(after, None)
        requests: list[AppendRequest] = []

        def plan(conn: sqlite3.Connection) -> tuple[list[BatchRow], list[int]]:
            tail = _recorded(conn.execute(_STREAM_TAIL, (stream_id, after)).fetchall())
            requests.append(AppendRequest(stream_id, list(decide(tail)), after + len(tail)))
            head, actual = conn.execute(_HEADS, (stream_id,)).fetchone()
            return allocate(
                requests,
                encode_requests(requests),
                head=int(head or 0),
                position_of=lambda _: int(actual or 0),
            )

        rows, heads, now = self._locked_write(f"append to {stream_id}", plan)
        return results(requests, rows, heads, now)[0]

    def _locked_write(
        self, action: str, plan: Callable[[sqlite3.Connection], tuple[list[BatchRow], list[int]]]
    ) -> tuple[list[BatchRow], list[int], datetime]:
        """Take SQLite's write lock, let ``plan`` check and number the rows, insert, commit.

        ``BEGIN IMMEDIATE`` takes the lock before ``plan`` reads any position, so the check
        and the insert cannot interleave with another writer, thread or process.
        """
        with self._translated(action):
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                rows, heads = plan(conn)
                now = utc_now()
                stamp = format_timestamp(now)
                conn.executemany(
                    _INSERT, [(g, s, p, e, t, d, stamp, m) for g, s, p, e, t, d, m in rows]
                )
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        if rows:
            with self._appended:
                self._appended.notify_all()
        return rows, heads, now

    # ── reading ───────────────────────────────────────────────────────────────────────────

    def read_stream(
        self, stream_id: str, *, after: int = 0, limit: int | None = None
    ) -> list[RecordedEvent]:
        check_stream_id(stream_id)
        check_read_args(after, limit)
        with self._translated(f"read {stream_id}"):
            rows = (
                self._connection()
                .execute(
                    f"SELECT {_COLUMNS} FROM events WHERE stream_id = ? AND stream_position > ? "
                    "ORDER BY stream_position LIMIT ?",
                    (stream_id, after, -1 if limit is None else limit),
                )
                .fetchall()
            )
        return _recorded(rows)

    def stream_position(self, stream_id: str) -> int:
        check_stream_id(stream_id)
        with self._translated(f"read {stream_id}"):
            value = (
                self._connection()
                .execute(
                    "SELECT max(stream_position) FROM events WHERE stream_id = ?", (stream_id,)
                )
                .fetchone()[0]
            )
        return int(value or 0)

    def read_all(
        self,
        *,
        after: int = 0,
        limit: int = 1000,
        types: Collection[str] | None = None,
        with_metadata: bool = True,
    ) -> list[RecordedEvent]:
        check_read_args(after, limit, limit_required=True)
        select = _SELECT if with_metadata else _SELECT_LEAN
        with self._translated("read events"):
            conn = self._connection()
            if types is None:
                rows = conn.execute(
                    f"{select} WHERE global_position > ? ORDER BY global_position LIMIT ?",
                    (after, limit),
                ).fetchall()
            else:
                # One index range per type, merged: each costs O(limit), where a single
                # "type IN (...)" query would sort every matching event after ``after``.
                per_type = [
                    conn.execute(
                        f"{select} WHERE type = ? AND global_position > ? "
                        "ORDER BY global_position LIMIT ?",
                        (type_, after, limit),
                    ).fetchall()
                    for type_ in sorted(set(types))
                ]
                rows = list(heapq.merge(*per_type))[:limit]
        return _recorded(rows)

    def read_backwards(
        self,
        *,
        before: int | None = None,
        limit: int = 100,
        event_type: str | None = None,
        stream_id: str | None = None,
        metadata_equals: tuple[str, str] | None = None,
    ) -> list[RecordedEvent]:
        """Newest first (``BackwardReader``). One indexed range per page: the primary key,
        ``events_by_type``, or a stream's own (stream_id, stream_position) index, walked
        backwards; the metadata filter narrows in SQL and is checked exactly here."""
        below = check_backwards_args(before, limit, stream_id, metadata_equals)
        where: list[str] = ["global_position < ?"]
        params: list[Any] = [below]
        if stream_id is not None:
            where.append("stream_id = ?")
            params.append(stream_id)
            if event_type is not None:  # "+": filter only; the stream's index leads
                where.append("+type = ?")
                params.append(event_type)
            order = "stream_position DESC"
        else:
            if event_type is not None:
                where.append("type = ?")
                params.append(event_type)
            order = "global_position DESC"
        if metadata_equals is not None:
            where.append("instr(metadata, ?) > 0")
            params.append(metadata_needle(metadata_equals[1]))
        sql = f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY {order} LIMIT ?"
        out: list[RecordedEvent] = []
        with self._translated("read events"):
            conn = self._connection()
            while len(out) < limit:
                page = _recorded(conn.execute(sql, (*params, limit)).fetchall())
                out.extend(e for e in page if metadata_matches(e, metadata_equals))
                if len(page) < limit:
                    break
                params[0] = page[-1].global_position  # the substring matched elsewhere
        return out[:limit]

    def head_position(self) -> int:
        with self._translated("read the store position"):
            value = (
                self._connection().execute("SELECT max(global_position) FROM events").fetchone()[0]
            )
        return int(value or 0)

    def wait_for_events(self, after: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self._closed:
            if self.head_position() > after:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            # Appends from this process wake us at once; other processes are seen by polling
            # the head, an O(1) lookup on the primary key.
            with self._appended:
                self._appended.wait(min(self._poll_interval, remaining))
        return False

    def close(self) -> None:
        self._closed = True
        with self._appended:
            self._appended.notify_all()
        with self._connections_lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            try:
                conn.close()
            except sqlite3.Error:  # pragma: no cover - closing is best effort
                _log.debug("closing a connection failed", exc_info=True)

    def __repr__(self) -> str:
        return f"SqliteEventStore({str(self._path)!r})"


def _recorded(rows: list[Any]) -> list[RecordedEvent]:
    """Rows to envelopes: the hot loop of every catch-up, so it keeps per-row work minimal
    (the payload decoded by msgspec directly, the timestamp left as text until asked for)."""
    if rows and len(rows[0]) == 7:
        return _recorded_lean(rows)
    decode = fast_decode
    out: list[RecordedEvent] = []
    append = out.append
    for global_position, stream_id, position, event_id, type_, text, created, meta in rows:
        try:
            data = decode(text)
        except ValueError:  # damaged payload: logged, delivered as None
            data = decode_payload(text, stream_id, position)
        append(
            RecordedEvent(
                event_id,
                type_,
                data,
                stream_id,
                position,
                global_position,
                created,
                partial(decode_metadata, meta, stream_id, position),
            )
        )
    return out


def _recorded_lean(rows: list[Any]) -> list[RecordedEvent]:
    """Rows read without metadata (``read_all(..., with_metadata=False)``): one comprehension,
    the fastest loop Python has; a damaged payload sends the page through the careful path."""
    decode = fast_decode
    event = RecordedEvent
    try:
        return [
            event(
                event_id, type_, decode(text), stream_id, position, global_position, created, None
            )
            for global_position, stream_id, position, event_id, type_, text, created in rows
        ]
    except ValueError:
        pass
    out: list[RecordedEvent] = []
    for global_position, stream_id, position, event_id, type_, text, created in rows:
        try:
            data = decode(text)
        except ValueError:
            data = decode_payload(text, stream_id, position)
        out.append(
            event(event_id, type_, data, stream_id, position, global_position, created, None)
        )
    return out
