"""The embedded store: one SQLite file, safe for several threads and processes on one machine.

- WAL journal with ``synchronous=FULL``: a committed deposit survives a power cut.
- Every append runs in ``BEGIN IMMEDIATE``, which takes SQLite's single write lock before the
  stream position is checked, so the check and the insert cannot interleave with another
  writer (thread or process). Global positions are assigned under that same lock, so they are
  allocated in commit order: a reader can never see position N+1 before N (no gaps, ever).
- Readers run outside transactions; each statement sees the latest committed snapshot.
- Files are the user's only: created 0600 in folders created 0700 (SQLite gives its -wal/-shm
  files the same mode), and a store found readable by others is made private on open.

What the file is, is checked before anything is written to it:

- Our files carry ``PRAGMA application_id`` = :data:`APPLICATION_ID`. A file marked by another
  application, or an unmarked one holding anything but our schema, is refused untouched (no
  WAL switch, no table). An unmarked file with exactly our schema is a store made by the
  previous version: it is marked and keeps working.
- A store the user may not write (file, folder or filesystem) is opened read-only, says so,
  and refuses writes with :class:`StoreReadOnlyError` instead of failing to open.
- Damage: small files (up to :data:`FULL_CHECK_MAX_BYTES`) get ``PRAGMA quick_check`` on every
  open; larger ones get checks that cost the same at any size (SQLite's own header against
  the file size, the schema, both ends of the table and of each index), as a full check
  reads every page (0.7 s for a million events). Damage found on open or met by any
  statement later marks the store damaged: writes are refused (:class:`StoreDamagedError`,
  exit 2), and a marker file (``bank.db-damaged``) makes every later open run the full
  check until the file passes it.
"""

from __future__ import annotations

import heapq
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, Final

from bank_desktop.backoff import Backoff
from bank_desktop.eventstore import sqlite_guards
from bank_desktop.eventstore.backwards import (
    check_backwards_args,
    metadata_matches,
    metadata_needle,
)
from bank_desktop.eventstore.batches import Row as BatchRow
from bank_desktop.eventstore.batches import Write, settle
from bank_desktop.eventstore.canonical import fast_digest
from bank_desktop.eventstore.errors import (
    ConcurrencyError,
    EventStoreError,
    StoreConfigError,
    StoreDamagedError,
    StoreReadOnlyError,
    StoreUnavailableError,
)
from bank_desktop.eventstore.exact_json import (
    decode_metadata,
    decode_payload,
    fast_decode,
    format_timestamp,
    utc_now,
)
from bank_desktop.eventstore.fold_reading import fold_payloads
from bank_desktop.eventstore.group_commit import GroupCommit
from bank_desktop.eventstore.port import (
    AppendRequest,
    AppendResult,
    DecideTail,
    ExpectedPosition,
    FoldFields,
    FoldPage,
    NewEvent,
    RecordedEvent,
)
from bank_desktop.eventstore.validation import check_read_args, check_stream_id
from bank_desktop.private_files import make_private, make_private_dirs

_log = logging.getLogger(__name__)

#: 2: the events table carries append-only guards (``sqlite_guards``); 1: it did not.
SCHEMA_VERSION: Final = sqlite_guards.GUARDED_VERSION
#: The version of the files an earlier version wrote without an application id.
_UNMARKED_VERSION: Final = 1
#: ``PRAGMA application_id`` of our files ("BnkD"): tells a store from any other SQLite file.
APPLICATION_ID: Final = 0x426E6B44
#: Files up to this size are fully checked (``PRAGMA quick_check``, about 20 ms) on every open.
FULL_CHECK_MAX_BYTES: Final = 16 * 1024 * 1024
#: What our schema creates in ``sqlite_master`` (type, name).
_OUR_OBJECTS: Final = frozenset(
    {("table", "events"), ("index", "sqlite_autoindex_events_1"), ("index", "events_by_type")}
)
#: SQLite's primary result codes for a damaged file.
_SQLITE_CORRUPT: Final = 11
_SQLITE_NOTADB: Final = 26
_SQLITE_READONLY: Final = 8
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
# Both heads in one statement: the store's global position and one stream's position.
_HEADS: Final = (
    "SELECT (SELECT max(global_position) FROM events), "
    "(SELECT max(stream_position) FROM events WHERE stream_id = ?)"
)
_INSERT: Final = f"INSERT INTO events ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)"
_SELECT: Final = f"SELECT {_COLUMNS} FROM events"
_SELECT_LEAN: Final = f"SELECT {_COLUMNS.rsplit(',', 1)[0]} FROM events"
_FOLD_PAGE: Final = (
    "SELECT global_position, stream_id, stream_position, type, CAST(data AS BLOB) FROM events "
    "WHERE global_position > ? ORDER BY global_position LIMIT ?"
)
_EVENT_ID_AT: Final = "SELECT event_id FROM events WHERE global_position = ?"
_STREAM_TAIL: Final = (
    f"{_SELECT} WHERE stream_id = ? AND stream_position > ? ORDER BY stream_position"
)

Row = tuple[int, str, int, str, str, str, str, str]


class SqliteEventStore:
    """Event store on a local SQLite file (``sqlite:///path/to/bank.db``)."""

    #: The chain digest through msgspec (capability ``ChainDigestSource``).
    chain_digest = staticmethod(fast_digest)

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = 5.0,
        poll_interval: float = 0.05,
        verification: bool = False,
    ) -> None:
        """Open (creating if missing) the store at ``path``.

        ``verification``: open it for ``bank-desktop verify`` only: read-only, never created,
        and without the refusals of a normal open (a damaged file is read as far as it can
        be; :meth:`self_check` then reports what is wrong with the file itself).
        """
        # Absolute once, here: every thread opens its own connection later, and a relative
        # path would follow the process's current directory wherever it goes.
        self._path = Path(path).absolute()
        self._busy_timeout = busy_timeout
        self._poll_interval = poll_interval
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._appended = threading.Condition()
        self._group: GroupCommit[Write] = GroupCommit(self._commit, settle)
        self._written = threading.local()  #: per thread: the last position it appended
        self._closed = False
        self._ours = False  #: the file was identified as a Bank Desktop store
        self._damage: str | None = None
        self._verification = verification
        self._version = 0  #: the schema version (``PRAGMA user_version``) found or written
        self._guard_notice: str | None = None  #: guards found removed (see sqlite_guards)
        #: What opening did to an existing file, as (outcome, what): ``deploy`` reports it.
        self.prepared: list[tuple[str, str]] = []
        self._read_only: str | None
        if verification:
            if not self._path.is_file():
                raise StoreUnavailableError(f"There is no store file at {self._path}.")
            self._read_only = self._read_only_reason() or "opened for verification"
        else:
            existed = self._create_file()
            self._read_only = self._read_only_reason() if existed else None
        self._immutable = False
        if self._read_only is not None:
            self._immutable = self._needs_immutable()
        with self._translated("open the store"):
            self._prepare_schema()
            if not verification:
                self._check_integrity()
        if self._read_only is not None and not verification:
            _log.info("%s", self.notices()[0])

    # ── connections ───────────────────────────────────────────────────────────────────────

    @property
    def url(self) -> str:
        return f"sqlite://{self._path}" if self._path.is_absolute() else f"sqlite:{self._path}"

    @property
    def path(self) -> Path:
        return self._path

    @property
    def damage(self) -> str | None:
        """Why the store is considered damaged (writes are refused), or None."""
        return self._damage

    def notices(self) -> list[str]:
        """What a clerk must be told about this store before using it (empty when all is well)."""
        said = []
        if self._read_only is not None:
            said.append(
                f"The store {self._path} is read-only ({self._read_only}): it was opened for "
                "reading only, and nothing can be written to it."
            )
        if self._damage is not None:
            said.append(self._damaged_message("writes are refused"))
        if self._guard_notice is not None:
            said.append(self._guard_notice)
        return said

    def self_check(self) -> list[tuple[bool, str]]:
        """What is wrong with the file itself, for ``bank-desktop verify``: (is it a problem,
        what). A full page check (``PRAGMA quick_check``, every page, about 0.7 s for a
        million events) and the append-only guards."""
        found: list[tuple[bool, str]] = []
        with self._translated("check the store file"):
            conn = self._connection()
            try:
                damage = [str(row[0]) for row in conn.execute("PRAGMA quick_check(20)")]
            except sqlite3.DatabaseError as exc:
                if isinstance(exc, sqlite3.OperationalError) and not _is_corruption(exc):
                    raise
                damage = [str(exc)]
            if damage != ["ok"]:
                found.append((True, f"the file is damaged: {'; '.join(damage)[:500]}"))
            found.extend(sqlite_guards.findings(conn, self._version))
        return found

    def _create_file(self) -> bool:
        """Create the file (and its folders, private) if missing; whether it existed."""
        try:
            make_private_dirs(self._path.parent)
            fd = os.open(self._path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            return True
        except OSError as exc:
            raise StoreUnavailableError(
                f"Cannot create the store file {self._path}: {exc.strerror}."
            ) from exc
        os.close(fd)
        return False

    def _read_only_reason(self) -> str | None:
        """Why this user cannot write the existing store, or None when they can.

        SQLite needs to write the file and, in WAL mode, to create its -wal and -shm files
        beside it; without that it fails with "unable to open database file" or "attempt to
        write a readonly database" on the first statement.
        """
        if self._path.is_dir():
            return None  # not a file at all: SQLite's own error says so
        if not os.access(self._path, os.R_OK):
            raise StoreConfigError(f"Cannot read the store file {self._path}: permission denied.")
        if not os.access(self._path, os.W_OK):
            return "you may not write to the file"
        if not os.access(self._path.parent, os.W_OK | os.X_OK):
            return "you may not write to its folder, where SQLite keeps its journal"
        for suffix in ("-wal", "-shm"):
            side = Path(f"{self._path}{suffix}")
            if side.exists() and not os.access(side, os.W_OK):
                return f"you may not write to its journal file {side.name}"
        return None

    def _needs_immutable(self) -> bool:
        """Whether a read-only connection must be opened ``immutable``: in a folder SQLite
        cannot write, a WAL store whose -shm file is missing cannot be opened otherwise. That
        is safe only when no -wal file holds committed events the main file lacks."""
        if os.access(self._path.parent, os.W_OK | os.X_OK):
            return False
        shm, wal = Path(f"{self._path}-shm"), Path(f"{self._path}-wal")
        if shm.exists():
            return False
        if wal.exists() and wal.stat().st_size > 0:
            raise StoreConfigError(
                f"Cannot read the store {self._path}: its journal {wal.name} holds events not "
                "yet in the file, and its folder is read-only. Ask IT to open it once with "
                "write access, or to copy the folder somewhere writable."
            )
        return True

    def _connection(self) -> sqlite3.Connection:
        if self._closed:
            raise EventStoreError("The event store is closed.")
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        if self._read_only is None:
            conn = sqlite3.connect(
                self._path,
                timeout=self._busy_timeout,
                isolation_level=None,
                check_same_thread=False,
                cached_statements=32,
            )
        else:
            options = "mode=ro&immutable=1" if self._immutable else "mode=ro"
            conn = sqlite3.connect(
                f"{self._path.as_uri()}?{options}",
                uri=True,
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

    # ── what the file is ──────────────────────────────────────────────────────────────────

    def _prepare_schema(self) -> None:
        """Identify the file (ours, fresh, the previous version's, or foreign) before writing
        anything to it; then switch to WAL, create or mark the schema and its append-only
        guards, tighten permissions."""
        conn = self._connection()
        # One read transaction for the reads: another process creating the schema at this
        # moment commits either before or after all of them, never between two (a file seen
        # with our tables but an older header looked like another application's).
        conn.execute("BEGIN")
        try:
            application_id = conn.execute("PRAGMA application_id").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            objects = {
                (str(kind), str(name))
                for kind, name in conn.execute("SELECT type, name FROM sqlite_master")
                if not str(name).startswith("sqlite_stat")  # ANALYZE's tables are anyone's
            }
        finally:
            conn.execute("COMMIT")  # a read: this only ends the snapshot
        kind = self._classify(application_id, version, objects)
        self._version = version
        if kind != "fresh":
            self._check_columns(conn)
        if self._read_only is not None:
            if kind == "fresh":
                raise StoreConfigError(
                    f"{self._path} is empty and read-only ({self._read_only}): it is not a "
                    "Bank Desktop store yet, and cannot become one."
                )
            self._ours = True
            if version >= sqlite_guards.GUARDED_VERSION and not self._verification:
                absent = sqlite_guards.missing(conn)
                if absent:
                    self._guard_notice = self._guards_missing_message(absent, put_back=False)
            return
        self._ours = kind == "ours"
        for suffix in ("", "-wal", "-shm"):
            make_private(Path(f"{self._path}{suffix}"))
        self._switch_to_wal(conn)
        if kind != "ours" or version < SCHEMA_VERSION or sqlite_guards.missing(conn):
            self._write_schema(conn, kind)
        self._ours = True

    def _write_schema(self, conn: sqlite3.Connection, kind: str) -> None:
        """Create the schema (fresh), mark it (legacy), add the guards (all, and the previous
        version's stores), or put back guards someone removed; checked again under the lock,
        since another process may be doing the same."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if kind != "ours":
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
            put_back = sqlite_guards.install(conn)
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        self._version = SCHEMA_VERSION
        if kind == "legacy":
            _log.info("Marked %s as a Bank Desktop store (made by an earlier version)", self)
            self.prepared.append(
                ("upgraded", "marked as a Bank Desktop store, with the append-only guards")
            )
        elif kind == "ours" and version < sqlite_guards.GUARDED_VERSION and put_back:
            _log.info("Added the append-only guards to %s (made by an earlier version)", self)
            self.prepared.append(("upgraded", "added the append-only guards"))
        elif kind == "ours" and put_back:
            self._guard_notice = self._guards_missing_message(put_back, put_back=True)
            _log.error("%s", self._guard_notice)
            self.prepared.append(
                ("repaired", f"put back the append-only guards ({', '.join(put_back)})")
            )

    def _guards_missing_message(self, names: list[str], *, put_back: bool) -> str:
        done = "they were put back" if put_back else "the store is read-only, so they stay off"
        return (
            f"The append-only guards of the store {self._path} ({', '.join(names)}) were missing "
            f"or altered: someone with write access to the file removed them, and could have "
            f"changed events meanwhile; {done}. Run `bank-desktop verify` to check the history."
        )

    def _classify(self, application_id: int, version: int, objects: set[tuple[str, str]]) -> str:
        """What the file is: ours, fresh (empty), legacy (our schema, unmarked); else refuse."""
        if application_id == APPLICATION_ID:
            if version > SCHEMA_VERSION:
                raise StoreConfigError(
                    f"{self._path} was written by a newer Bank Desktop (schema {version}); "
                    "upgrade the application."
                )
            if not objects >= _OUR_OBJECTS:
                raise StoreDamagedError(
                    f"{self._path} is marked as a Bank Desktop store but lacks its tables "
                    f"(found: {_names(objects)}); it is damaged. Restore it from a backup."
                )
            return "ours"
        if application_id != 0:
            raise StoreConfigError(
                f"{self._path} is not a Bank Desktop store: it belongs to another application "
                f"(SQLite application id {application_id:#x}). Nothing was changed; choose "
                "another file."
            )
        if not objects and version == 0:
            return "fresh"
        if objects == _OUR_OBJECTS and version == _UNMARKED_VERSION:
            return "legacy"
        raise StoreConfigError(
            f"{self._path} is not a Bank Desktop store: it is another SQLite database "
            f"(tables: {_names(objects)}). Nothing was changed; choose another file."
        )

    def _check_columns(self, conn: sqlite3.Connection) -> None:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(events)")]
        if columns != list(_EXPECTED_COLUMNS):
            raise StoreConfigError(
                f"{self._path} has an 'events' table that is not Bank Desktop's "
                f"(columns {', '.join(columns) or 'none'}); choose another file."
            )

    def _switch_to_wal(self, conn: sqlite3.Connection) -> None:
        # Switching to WAL needs an exclusive lock and SQLite does not apply the busy timeout
        # to it: several processes opening a fresh file at once must retry by hand.
        deadline = time.monotonic() + self._busy_timeout
        pause = Backoff(base=0.002, cap=0.05)
        tries = 0
        while True:
            try:
                mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc).lower() or time.monotonic() > deadline:
                    raise
                tries += 1
                time.sleep(pause.delay(tries))
        if str(mode).lower() != "wal":
            raise StoreUnavailableError(f"Cannot switch {self._path} to WAL mode (got {mode}).")

    # ── damage ────────────────────────────────────────────────────────────────────────────

    @property
    def _damage_marker(self) -> Path:
        return Path(f"{self._path}-damaged")

    def _check_integrity(self) -> None:
        """Look for damage at a cost that does not grow with the store (see the module doc)."""
        conn = self._connection()
        marked = self._damage_marker.exists()
        try:
            if marked or self._path.stat().st_size <= FULL_CHECK_MAX_BYTES:
                found = [str(row[0]) for row in conn.execute("PRAGMA quick_check(3)")]
                if found != ["ok"]:
                    self._set_damaged("; ".join(found)[:300])
                    return
                if marked and self._read_only is None:
                    self._damage_marker.unlink(missing_ok=True)
                    _log.warning("%s passed its integrity check; damage marker removed", self)
            else:
                self._check_edges(conn)
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) and not _is_corruption(exc):
                raise
            self._set_damaged(str(exc))

    def _check_edges(self, conn: sqlite3.Connection) -> None:
        """Read the first and last entry of the table and of each index: a truncated or
        overwritten end of the file shows here, at the cost of a few pages."""
        for order in ("ASC", "DESC"):
            conn.execute(
                f"SELECT length(data), length(metadata), created_at FROM events "
                f"ORDER BY global_position {order} LIMIT 1"
            ).fetchall()
            conn.execute(
                "SELECT stream_id, stream_position FROM events INDEXED BY "
                f"sqlite_autoindex_events_1 ORDER BY stream_id {order}, stream_position {order} "
                "LIMIT 1"
            ).fetchall()
            conn.execute(
                "SELECT type, global_position FROM events INDEXED BY events_by_type "
                f"ORDER BY type {order}, global_position {order} LIMIT 1"
            ).fetchall()

    def _marked_in_header(self) -> bool:
        """Whether the file's header carries our application id (read without SQLite, which
        may refuse a damaged file before it can be asked)."""
        try:
            with self._path.open("rb") as handle:
                header = handle.read(100)
        except OSError:
            return False
        return len(header) == 100 and int.from_bytes(header[68:72], "big") == APPLICATION_ID

    def _set_damaged(self, reason: str) -> None:
        """Refuse writes from now on, and leave a marker so the next open checks fully."""
        if self._damage is not None:
            return
        self._damage = reason
        _log.error("%s", self._damaged_message("writes are refused"))
        if self._read_only is None:
            try:
                fd = os.open(self._damage_marker, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(f"{format_timestamp(utc_now())} {reason}\n")
            except OSError as exc:
                _log.warning("Cannot write the damage marker %s: %s", self._damage_marker, exc)

    def _damaged_message(self, consequence: str) -> str:
        return (
            f"The store {self._path} is damaged ({self._damage}); {consequence}. Restore it "
            "from a backup, or ask IT to repair it (sqlite3 .recover); until it passes its "
            "integrity check nothing is written to it."
        )

    def _refuse_writes(self) -> None:
        if self._read_only is not None:
            raise StoreReadOnlyError(
                f"The store {self._path} is read-only ({self._read_only}); nothing was "
                "written. Ask IT for write access, or use a store you may write."
            )
        if self._damage is not None:
            raise StoreDamagedError(self._damaged_message("nothing was written"))

    @contextmanager
    def _translated(self, action: str) -> Iterator[None]:
        """Driver errors in, the store's error family out, each with a message that fits."""
        try:
            yield
        except sqlite3.Error as exc:
            raise self._translate(exc, action) from exc

    def _translate(self, exc: sqlite3.Error, action: str) -> EventStoreError:
        """The store's error for a driver error met while trying to ``action`` (caused by it)."""
        error = self._translation(exc, action)
        error.__cause__ = exc
        return error

    def _translation(self, exc: sqlite3.Error, action: str) -> EventStoreError:
        if isinstance(exc, sqlite3.OperationalError):
            text = str(exc).lower()
            if _code(exc) == _SQLITE_READONLY:
                return StoreReadOnlyError(
                    f"The store {self._path} cannot be written ({exc}); nothing was written. "
                    "Ask IT for write access."
                )
            if "locked" in text or "busy" in text:
                return StoreUnavailableError(
                    f"The store {self._path} is busy (another process holds it); could not "
                    f"{action}. Try again in a moment."
                )
            if "no such table" in text or "no such column" in text:
                return StoreConfigError(
                    f"{self._path} is not a Bank Desktop store ({exc}); choose another file."
                )
            return StoreUnavailableError(f"Could not {action}: {exc}.")
        if isinstance(exc, sqlite3.ProgrammingError):
            if self._closed:
                return EventStoreError("The event store is closed.")
            return EventStoreError(f"Could not {action}: {exc}.")
        if isinstance(exc, sqlite3.IntegrityError | sqlite3.DataError | sqlite3.InterfaceError):
            return EventStoreError(f"Could not {action}: {exc}.")
        if isinstance(exc, sqlite3.DatabaseError):  # "file is not a database", "malformed", …
            if _is_corruption(exc) and (self._ours or self._marked_in_header()):
                self._set_damaged(str(exc))
                return StoreDamagedError(
                    self._damaged_message(f"could not {action}, and nothing was written")
                )
            return StoreConfigError(
                f"{self._path} is damaged or is not a Bank Desktop store ({exc})."
            )
        return EventStoreError(f"Could not {action}: {exc}.")  # pragma: no cover - others

    # ── writing ───────────────────────────────────────────────────────────────────────────
    #
    # Every append is a Write handed to the group commit: alone, it is committed at once by
    # its own thread; with other threads writing, it shares their transaction (see
    # ``group_commit``). ``BEGIN IMMEDIATE`` takes SQLite's write lock before any position is
    # read, so the checks and the inserts cannot interleave with another writer, thread or
    # process, and global positions are handed out in commit order.

    def append(
        self, stream_id: str, events: Sequence[NewEvent], expected: ExpectedPosition
    ) -> AppendResult:
        return self._write(Write((AppendRequest(stream_id, events, expected),)))[0]

    def append_many(self, requests: Sequence[AppendRequest]) -> list[AppendResult]:
        return self._write(Write(requests))

    def append_decided(
        self,
        stream_id: str,
        after: int,
        decide: DecideTail,
        *,
        also: Sequence[AppendRequest] = (),
    ) -> AppendResult:
        check_stream_id(stream_id)
        check_read_args(after, None)
        return self._write(Write(also, decide=decide, stream_id=stream_id, after=after))[-1]

    def append_batch(
        self, batch: Sequence[Sequence[AppendRequest]]
    ) -> list[list[AppendResult] | ConcurrencyError]:
        writes = [Write(requests) for requests in batch]
        self._refuse_writes()
        self._group.submit(writes)
        return [_conflict_or_results(write) for write in writes]

    @property
    def group_commit(self) -> GroupCommit[Write]:
        """The writers' queue: commits made and writes carried (benchmarks), waiters (tests)."""
        return self._group

    def written_position(self) -> int:
        """The global position of the last event this thread appended here (0: none yet):
        where a caller that just wrote may tell its client to read from, without a query."""
        return int(getattr(self._written, "position", 0))

    def _write(self, write: Write) -> list[AppendResult]:
        self._refuse_writes()
        self._group.submit((write,))
        results = write.result()
        if write.rows:
            self._written.position = write.rows[-1][0]
        return results

    def _commit(self, writes: list[Write]) -> None:
        """One transaction for ``writes`` (the group commit's leader calls it): each is
        planned and inserted in turn, a refused one is skipped; then one durable COMMIT."""
        try:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            for write in writes:
                write.refused(self._translate(exc, write.action))
            return
        except EventStoreError as exc:  # closed
            for write in writes:
                write.refused(exc)
            return
        try:
            # The head and the first stream's position in one statement: a lone write (the
            # usual case) reads nothing else.
            first = writes[0].first_stream if writes else ""
            found, known = conn.execute(_HEADS, (first,)).fetchone()
            head = int(found or 0)
            now = utc_now()
            stamp = format_timestamp(now)

            def position_of(stream_id: str) -> int:
                if stream_id == first and head == start:
                    return int(known or 0)
                return int(conn.execute(_STREAM_HEAD, (stream_id,)).fetchone()[0] or 0)

            start = head

            def read_tail(stream_id: str, after: int) -> list[RecordedEvent]:
                return _recorded(conn.execute(_STREAM_TAIL, (stream_id, after)).fetchall())

            written = False
            for write in writes:
                try:
                    rows = write.plan(head, position_of, read_tail)
                except sqlite3.Error:
                    raise
                except Exception as exc:  # a conflict, a refusal decided under the lock
                    write.refused(exc)
                    continue
                if rows:
                    _insert(conn, rows, stamp)
                    head = rows[-1][0]
                    written = True
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rolled_back(conn)
            self._failed(writes, exc)
            return
        except BaseException:
            self._rolled_back(conn)
            raise
        for write in writes:
            write.committed(now)
        if written:
            with self._appended:
                self._appended.notify_all()

    def _failed(self, writes: list[Write], exc: sqlite3.Error) -> None:
        """The shared transaction failed after the lock was taken: try each write alone, so
        that what one write met (its own bad luck) fails no other."""
        if len(writes) > 1 and self._damage is None:
            for write in writes:
                write.outcome = None
                self._commit([write])
            return
        for write in writes:
            write.refused(self._translate(exc, write.action))

    @staticmethod
    def _rolled_back(conn: sqlite3.Connection) -> None:
        try:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        except sqlite3.Error:  # pragma: no cover - the connection is beyond saving
            _log.debug("rollback failed", exc_info=True)

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

    def read_stored(self, *, after: int = 0, limit: int = 1000) -> list[Any]:
        """Events as stored, JSON undecoded (``StoredRowReader``)."""
        check_read_args(after, limit, limit_required=True)
        with self._translated("read events"):
            return (
                self._connection()
                .execute(
                    "SELECT global_position, stream_id, stream_position, event_id, type, data, "
                    "metadata, created_at FROM events WHERE global_position > ? "
                    "ORDER BY global_position LIMIT ?",
                    (after, limit),
                )
                .fetchall()
            )

    def read_for_fold(self, *, after: int, limit: int, fields: FoldFields) -> FoldPage:
        """Events for a fold (``FoldReader``): five columns, the data as bytes (no text
        decoding: msgspec reads UTF-8 itself), one struct of the folded fields per payload."""
        check_read_args(after, limit, limit_required=True)
        with self._translated("read events"):
            conn = self._connection()
            raw = conn.execute(_FOLD_PAGE, (after, limit)).fetchall()
            if not raw:
                return FoldPage([], [], None)
            last_event_id = conn.execute(_EVENT_ID_AT, (raw[-1][0],)).fetchone()[0]
            payloads = fold_payloads(raw, fields, partial(self._events_at, conn))
        return FoldPage(raw, payloads, last_event_id)

    @staticmethod
    def _events_at(conn: sqlite3.Connection, positions: Iterable[int]) -> dict[int, RecordedEvent]:
        """The events at ``positions``, whole but without metadata, by global position."""
        wanted = list(positions)
        found: dict[int, RecordedEvent] = {}
        for start in range(0, len(wanted), 500):
            part = wanted[start : start + 500]
            sql = f"{_SELECT_LEAN} WHERE global_position IN ({','.join('?' * len(part))})"
            for event in _recorded(conn.execute(sql, part).fetchall()):
                found[event.global_position] = event
        return found

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


def _insert(conn: sqlite3.Connection, rows: list[BatchRow], stamp: str) -> None:
    if len(rows) == 1:
        g, s, p, e, t, d, m = rows[0]
        conn.execute(_INSERT, (g, s, p, e, t, d, stamp, m))
    else:
        conn.executemany(_INSERT, [(g, s, p, e, t, d, stamp, m) for g, s, p, e, t, d, m in rows])


def _conflict_or_results(write: Write) -> list[AppendResult] | ConcurrencyError:
    """A batch's answer for one write: its results, or the conflict that refused it; any
    other failure (the store's) is raised."""
    if isinstance(write.outcome, ConcurrencyError):
        return write.outcome
    return write.result()


def _names(objects: set[tuple[str, str]]) -> str:
    tables = sorted(name for kind, name in objects if kind == "table")
    return ", ".join(tables or sorted(name for _, name in objects)) or "none"


def _code(exc: sqlite3.Error) -> int:
    """SQLite's primary result code of a driver error (0 when unknown)."""
    return int(getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF


def _is_corruption(exc: sqlite3.Error) -> bool:
    if _code(exc) in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return True
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text


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
