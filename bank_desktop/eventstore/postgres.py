"""The branch store: PostgreSQL through psycopg 3 and a connection pool.

**Global order without gaps.** Concurrent transactions commit out of sequence order, so a
reader that saw position N+1 could later find N appear (the classic trap with sequences). Here
every append takes one transaction-scoped advisory lock before it allocates positions, and
keeps it until it commits: positions are handed out strictly in commit order, so a committed
N+1 implies a committed N. The price is that appends to the whole store are serialised — the
commit itself (fsync) is the cost either way, and a branch's clerks produce far fewer commands
than PostgreSQL commits per second (see bench/postgres.py). The alternative, reading only below
the oldest in-flight transaction (``pg_snapshot_xmin``), keeps appends parallel but makes every
reader lag behind the slowest writer and needs care with subtransactions; serialising is the
choice that is obviously correct.

**Expected positions** are checked under that same lock; the unique (stream, position) key
backs them up, so no read-then-write race can write a stream twice at one position.

**Live delivery** uses LISTEN/NOTIFY: every append notifies at commit; ``wait_for_events`` first
checks the head, then waits for a notification. A lost notification or a dropped connection
costs at most one wait: callers always re-read from their position, so nothing is skipped.

**A stalled or vanished server** fails a command within one bound (the URL's
``connect_timeout``, default 10 s) instead of hanging it: the URL is checked and turned into
libpq keywords with keepalives and server-side statement and idle-transaction timeouts
(``postgres_url``), and every connection gives up after that long without a word from the
server (``postgres_guard``).

The schema is created by ``bank-desktop deploy`` (``prepare_schema``) and checked at start.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shlex
import threading
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime
from typing import Any, Final

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import make_conninfo
from psycopg_pool import ConnectionPool, PoolTimeout

from bank_desktop.eventstore import postgres_deploy
from bank_desktop.eventstore.backwards import (
    check_backwards_args,
    metadata_matches,
    metadata_needle,
)
from bank_desktop.eventstore.batches import Row as BatchRow
from bank_desktop.eventstore.batches import allocate, encode_requests, results
from bank_desktop.eventstore.errors import (
    EventStoreError,
    IdentityMismatchError,
    StoreConfigError,
    StoreUnavailableError,
)
from bank_desktop.eventstore.exact_json import (
    decode_metadata,
    decode_payload,
    fast_decode,
    utc_now,
)
from bank_desktop.eventstore.port import (
    AppendRequest,
    AppendResult,
    DecideTail,
    ExpectedPosition,
    NewEvent,
    RecordedEvent,
)
from bank_desktop.eventstore.postgres_deploy import StepOutcome
from bank_desktop.eventstore.postgres_guard import GuardedConnection, StalledError, unwatched
from bank_desktop.eventstore.postgres_url import MASK, mask, parse_postgres_url
from bank_desktop.eventstore.validation import check_read_args, check_stream_id

_log = logging.getLogger(__name__)

_WRITTEN: Final = (
    "global_position, stream_id, stream_position, event_id, type, data, created_at, metadata"
)
#: What a read selects: the written columns, the database role the server recorded, metadata
#: last (a lean read leaves it out). A store deployed before identity has no db_role column:
#: NULL stands in until ``deploy`` adds it.
_READ: Final = (
    "global_position, stream_id, stream_position, event_id, type, data, created_at, {role}, "
    "metadata"
)
#: The client never names db_role: its default and trigger set it on the server.
_INSERT: Final = f"INSERT INTO bank_events ({_WRITTEN}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
_STREAM_HEAD: Final = (
    "SELECT coalesce(max(stream_position), 0) FROM bank_events WHERE stream_id = %s"
)
#: What the first connection learns: the schema, whether the store is deployed, the login,
#: whether events record it, and whether the login is outside the clerks' role (for the
#: message when it sees no store). One round trip.
_OPENING: Final = (
    "SELECT current_schema(), to_regclass('bank_events'), session_user, EXISTS ("
    "SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('bank_events') "
    "AND attname = 'db_role' AND NOT attisdropped), "
    "CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %(role)s) "
    "THEN NOT pg_has_role(session_user, %(role)s, 'MEMBER') ELSE false END"
)
#: Refusals at connect time that pass by themselves: the server is busy, not misconfigured.
_TRANSIENT_REFUSALS: Final = (
    "starting up",
    "shutting down",
    "recovery mode",
    "too many clients",
    "connection slots are reserved",
)
_HEADS: Final = (
    "SELECT (SELECT coalesce(max(global_position), 0) FROM bank_events), "
    "(SELECT coalesce(max(stream_position), 0) FROM bank_events WHERE stream_id = %s)"
)


class PostgresEventStore:
    """Event store on a PostgreSQL database (``postgresql://user@host:5432/db``)."""

    def __init__(
        self,
        conninfo: str,
        *,
        display_url: str | None = None,
        pool_size: int = 8,
        timeout: float | None = None,
        check_schema: bool = True,
        read_only: bool = False,
    ) -> None:
        """Connect to the store ``conninfo`` (a ``postgresql://`` URL) names.

        ``read_only``: every transaction is read-only on the server (``bank-desktop verify``
        opens stores this way, so checking can never change what it checks).

        ``timeout`` bounds every wait for the server (default: the URL's ``connect_timeout``,
        else 10 s). One connection is made first, outside the pool: a server that refuses or
        cannot be reached is reported at once and in words, instead of after the pool has
        retried in the background for the whole timeout.
        """
        target = parse_postgres_url(conninfo, timeout=timeout)
        self._params = dict(target.params)
        if read_only:
            options = self._params.get("options", "")
            self._params["options"] = f"{options} -c default_transaction_read_only=on".strip()
        self._secrets = target.secrets
        self._display_url = display_url or target.display_url
        self._timeout = target.timeout
        self._closed = False
        self._listen_lock = threading.Lock()
        self._listener: psycopg.Connection[Any] | None = None
        with self._connect(autocommit=True) as first, self._translated("read the schema"):
            opening = first.execute(_OPENING, {"role": postgres_deploy.CLERK_ROLE}).fetchone()
        schema, table, login, recorded, outsider = opening or ("public", None, None, False, False)
        self._namespace = str(schema or "public")
        #: The login every connection of this store uses (``session_user``).
        self.database_role: str | None = None if login is None else str(login)
        self._use_role_column(bool(recorded))
        # Per schema, so separate stores in one database neither block nor wake each other.
        digest = hashlib.sha256(f"bank-desktop:{self._namespace}".encode()).digest()
        self._lock_key = int.from_bytes(digest[:8], "big", signed=True)
        self._channel = f"bank_events_{digest[:6].hex()}"
        if check_schema and table is None:
            if outsider:
                raise StoreConfigError(
                    f"The PostgreSQL store {self._display_url} has no Bank Desktop schema, or "
                    f"the login {login} may not see it: it is not a clerk's login. IT makes it "
                    f"one with GRANT {postgres_deploy.CLERK_ROLE} TO {login}; or, if the store "
                    f"is new, run {self._deploy_hint()} first."
                )
            raise StoreConfigError(
                f"The PostgreSQL store {self._display_url} has no Bank Desktop schema yet: "
                f"run {self._deploy_hint()} first."
            )
        self._pool = ConnectionPool(
            "",
            kwargs=dict(self._params),
            min_size=1,
            max_size=pool_size,
            timeout=self._timeout,
            open=False,
            connection_class=GuardedConnection,
            configure=self._guard,
            check=ConnectionPool.check_connection,
            name="bank-desktop",
        )
        try:
            self._pool.open(wait=True, timeout=self._timeout)
        except PoolTimeout as exc:
            self._pool.close()
            raise StoreUnavailableError(
                f"Cannot connect to the PostgreSQL store {self._display_url} within "
                f"{self._timeout:g} s."
            ) from exc

    def _deploy_hint(self) -> str:
        """The command that prepares this store, as one can type it: with the URL when the URL
        shows no masked secret, else with a placeholder for it."""
        if MASK in self._display_url:
            return "`bank-desktop deploy --store URL` with this store's URL"
        return f"`bank-desktop deploy --store {shlex.quote(self._display_url)}`"

    def _use_role_column(self, present: bool) -> None:
        """Read db_role when the table has it; a store deployed before identity reads NULL."""
        self._recorded_role = self.database_role if present else None
        self._columns = _READ.format(role="db_role" if present else "NULL::text")
        self._lean_columns = self._columns.rsplit(",", 1)[0]
        self._stream_tail = (
            f"SELECT {self._columns} FROM bank_events WHERE stream_id = %s "
            "AND stream_position > %s ORDER BY stream_position"
        )

    def _connect(self, *, autocommit: bool = False) -> GuardedConnection:
        """A connection of its own (not from the pool); failures in the store's words."""
        try:
            conn = GuardedConnection.connect(
                make_conninfo("", **self._params), autocommit=autocommit
            )
        except psycopg.Error as exc:
            raise self._connect_failure(exc) from None
        self._guard(conn)
        return conn

    def _guard(self, conn: psycopg.Connection[Any]) -> None:
        """Every statement on ``conn`` gives up after the bound of silence from the server."""
        if isinstance(conn, GuardedConnection):
            conn.silence_limit = self._timeout

    def _connect_failure(self, exc: psycopg.Error) -> EventStoreError:
        """Refused by the server (wrong role, password, database, option): configuration.
        Not reached, timed out, or busy starting, stopping or full: unavailable."""
        reason = " ".join(mask(str(exc), self._secrets).split())
        reason += "" if reason.endswith((".", "?", "!")) else "."
        lowered = reason.lower()
        if reason.startswith("connection is bad: invalid"):
            return StoreConfigError(
                f"The PostgreSQL URL {self._display_url} has an invalid setting: {reason}"
            )
        if "fatal:" in lowered and not any(word in lowered for word in _TRANSIENT_REFUSALS):
            return StoreConfigError(
                f"The PostgreSQL store {self._display_url} refused the connection: {reason}"
            )
        return StoreUnavailableError(
            f"Cannot connect to the PostgreSQL store {self._display_url}: {reason}"
        )

    # ── administration ────────────────────────────────────────────────────────────────────

    @property
    def url(self) -> str:
        return self._display_url

    def prepare_schema(self) -> bool:
        """Run ``deploy``'s steps; True when anything was created or repaired."""
        return any(step.outcome == "created" for step in self.deploy())

    def deploy(
        self, *, dry_run: bool = False, strict_identity: bool | None = None
    ) -> list[StepOutcome]:
        """The steps of ``bank-desktop deploy`` (:mod:`postgres_deploy`), in one transaction
        under the store's lock; what each did (or, ``dry_run``, would do).
        ``strict_identity``: True installs the guard, False removes it, None keeps what is."""
        with (
            self._translated("deploy the schema"),
            self._pool.connection() as conn,
            unwatched(conn),
        ):
            # One-off work that may take long on a big table (an index): no bound here.
            conn.execute("SET LOCAL statement_timeout = 0")
            # Deploys of this database one at a time, then this store's appends held off.
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (postgres_deploy.DEPLOY_LOCK,))
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock_key,))
            outcomes = postgres_deploy.deploy(
                conn, dry_run=dry_run, strict_identity=strict_identity
            )
            if dry_run:
                conn.rollback()
            else:
                self._use_role_column(postgres_deploy.role_column_present(conn))
        return outcomes

    def self_check(self) -> list[tuple[bool, str]]:
        """For ``bank-desktop verify``: the append-only guards and the clerks' privileges."""
        with self._translated("check the store"), self._pool.connection() as conn:
            triggers = postgres_deploy.guard_triggers_in_force(conn)
            wrong = postgres_deploy.clerk_privileges_wrong(conn)
            identity = _identity_findings(conn)
        found: list[tuple[bool, str]] = []
        off = [name for name, in_force in triggers.items() if not in_force]
        if off:
            found.append(
                (
                    True,
                    f"the append-only triggers ({', '.join(off)}) are missing or disabled: "
                    "someone who owns the table removed them, and could have changed events "
                    "since; `bank-desktop deploy` puts them back",
                )
            )
        if wrong:
            found.append(
                (
                    True,
                    f"the clerks' privileges are not as deployed ({'; '.join(wrong)}); "
                    "`bank-desktop deploy` sets them right",
                )
            )
        return found + identity

    @contextmanager
    def _translated(self, action: str) -> Iterator[None]:
        """psycopg errors in, the store's error family out; no DSN (or password) in messages."""
        try:
            yield
        except PoolTimeout as exc:
            raise StoreUnavailableError(
                f"The PostgreSQL store {self._display_url} did not answer within "
                f"{self._timeout:g} s (no working connection); could not {action}."
            ) from exc
        except StalledError as exc:
            raise StoreUnavailableError(
                f"The PostgreSQL store {self._display_url} did not answer within "
                f"{self._timeout:g} s; could not {action}."
            ) from exc
        except pg_errors.UndefinedTable as exc:
            raise StoreConfigError(
                f"The PostgreSQL store {self._display_url} has no Bank Desktop schema: "
                f"run {self._deploy_hint()} first."
            ) from exc
        except pg_errors.InvalidSchemaName as exc:
            raise StoreConfigError(
                f"The schema named in the search_path of {self._display_url} does not exist; "
                "create it (CREATE SCHEMA …) or use the database's default schema."
            ) from exc
        except pg_errors.InsufficientPrivilege as exc:
            if exc.diag.constraint_name == postgres_deploy.STRICT_REFUSAL:
                raise _identity_refusal(exc, self.database_role) from exc
            raise StoreConfigError(
                f"The database user of {self._display_url} may not {action}: "
                f"{exc.diag.message_primary}."
            ) from exc
        except pg_errors.UniqueViolation as exc:
            raise EventStoreError(f"Could not {action}: {exc.diag.message_primary}.") from exc
        except (psycopg.OperationalError, pg_errors.QueryCanceled) as exc:
            raise StoreUnavailableError(
                f"The PostgreSQL store {self._display_url} failed; could not {action} "
                f"({type(exc).__name__})."
            ) from exc
        except psycopg.Error as exc:
            raise EventStoreError(f"Could not {action}: {exc.diag.message_primary}.") from exc

    def _check_open(self) -> None:
        if self._closed:
            raise EventStoreError("The event store is closed.")

    # ── writing ───────────────────────────────────────────────────────────────────────────

    def append(
        self, stream_id: str, events: Sequence[NewEvent], expected: ExpectedPosition
    ) -> AppendResult:
        return self.append_many([AppendRequest(stream_id, events, expected)])[0]

    def append_many(self, requests: Sequence[AppendRequest]) -> list[AppendResult]:
        self._check_open()
        encoded = encode_requests(requests)
        first = requests[0].stream_id if requests else ""

        def plan(conn: psycopg.Connection[Any]) -> tuple[list[BatchRow], list[int]]:
            found = conn.execute(_HEADS, (first,)).fetchone()
            head, first_position = (int(found[0]), int(found[1])) if found else (0, 0)

            def position_of(stream_id: str) -> int:
                if stream_id == first:
                    return first_position
                row = conn.execute(_STREAM_HEAD, (stream_id,)).fetchone()
                return int(row[0]) if row else 0

            return allocate(requests, encoded, head=head, position_of=position_of)

        rows, heads, now = self._locked_write(f"append to {first or 'the store'}", plan)
        return results(requests, rows, heads, now, db_role=self._recorded_role)

    def append_decided(self, stream_id: str, after: int, decide: DecideTail) -> AppendResult:
        self._check_open()
        check_stream_id(stream_id)
        check_read_args(after, None)
        requests: list[AppendRequest] = []

        def plan(conn: psycopg.Connection[Any]) -> tuple[list[BatchRow], list[int]]:
            tail = _recorded(conn.execute(self._stream_tail, (stream_id, after)).fetchall())
            requests.append(AppendRequest(stream_id, list(decide(tail)), after + len(tail)))
            found = conn.execute(_HEADS, (stream_id,)).fetchone()
            head, actual = (int(found[0]), int(found[1])) if found else (0, 0)
            return allocate(
                requests, encode_requests(requests), head=head, position_of=lambda _: actual
            )

        rows, heads, now = self._locked_write(f"append to {stream_id}", plan)
        return results(requests, rows, heads, now, db_role=self._recorded_role)[0]

    def _locked_write(
        self,
        action: str,
        plan: Callable[[psycopg.Connection[Any]], tuple[list[BatchRow], list[int]]],
    ) -> tuple[list[BatchRow], list[int], datetime]:
        """One transaction: the advisory lock, ``plan`` checks and numbers the rows, insert,
        notify; committed on leaving the block, so the lock is held until the commit."""
        now = utc_now()
        with self._translated(action), self._pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock_key,))
            rows, heads = plan(conn)
            if rows:
                with conn.cursor() as cursor:
                    cursor.executemany(
                        _INSERT, [(g, s, p, e, t, d, now, m) for g, s, p, e, t, d, m in rows]
                    )
                conn.execute("SELECT pg_notify(%s, %s)", (self._channel, str(rows[-1][0])))
        return rows, heads, now

    # ── reading ───────────────────────────────────────────────────────────────────────────

    def _query(self, action: str, sql: str, params: Sequence[Any]) -> list[Any]:
        self._check_open()
        with self._translated(action), self._pool.connection() as conn:
            return conn.execute(sql, params).fetchall()

    def read_stream(
        self, stream_id: str, *, after: int = 0, limit: int | None = None
    ) -> list[RecordedEvent]:
        check_stream_id(stream_id)
        check_read_args(after, limit)
        rows = self._query(
            f"read {stream_id}",
            f"SELECT {self._columns} FROM bank_events WHERE stream_id = %s "
            "AND stream_position > %s ORDER BY stream_position LIMIT %s",
            (stream_id, after, limit),
        )
        return _recorded(rows)

    def stream_position(self, stream_id: str) -> int:
        check_stream_id(stream_id)
        rows = self._query(f"read {stream_id}", _STREAM_HEAD, (stream_id,))
        return int(rows[0][0])

    def read_all(
        self,
        *,
        after: int = 0,
        limit: int = 1000,
        types: Collection[str] | None = None,
        with_metadata: bool = True,
    ) -> list[RecordedEvent]:
        check_read_args(after, limit, limit_required=True)
        columns = self._columns if with_metadata else self._lean_columns
        if types is None:
            sql = (
                f"SELECT {columns} FROM bank_events WHERE global_position > %s "
                "ORDER BY global_position LIMIT %s"
            )
            params: list[Any] = [after, limit]
        else:
            wanted = sorted(set(types))
            if not wanted:
                return []
            # One ordered index range per type, merged by PostgreSQL (Merge Append): each
            # costs O(limit) where "type = ANY(...)" would sort every match after ``after``.
            parts = [
                f"(SELECT {columns} FROM bank_events WHERE type = %s AND global_position > %s "
                "ORDER BY global_position LIMIT %s)"
                for _ in wanted
            ]
            sql = (
                f"SELECT * FROM ({' UNION ALL '.join(parts)}) AS matching "
                "ORDER BY global_position LIMIT %s"
            )
            params = [value for type_ in wanted for value in (type_, after, limit)]
            params.append(limit)
        return _recorded(self._query("read events", sql, params))

    def read_stored(self, *, after: int = 0, limit: int = 1000) -> list[Any]:
        """Events as stored, JSON undecoded (``StoredRowReader``)."""
        check_read_args(after, limit, limit_required=True)
        return self._query(
            "read events",
            "SELECT global_position, stream_id, stream_position, event_id, type, data, metadata "
            "FROM bank_events WHERE global_position > %s ORDER BY global_position LIMIT %s",
            (after, limit),
        )

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
        ``bank_events_by_type``, or the stream's (stream_id, stream_position) index, walked
        backwards; the metadata filter narrows in SQL and is checked exactly here."""
        below = check_backwards_args(before, limit, stream_id, metadata_equals)
        where: list[str] = ["global_position < %s"]
        params: list[Any] = [below]
        if stream_id is not None:
            where.append("stream_id = %s")
            params.append(stream_id)
            order = "stream_position DESC"
        else:
            order = "global_position DESC"
        if event_type is not None:
            where.append("type = %s")
            params.append(event_type)
        if metadata_equals is not None:
            where.append("strpos(metadata, %s) > 0")
            params.append(metadata_needle(metadata_equals[1]))
        sql = (
            f"SELECT {self._columns} FROM bank_events WHERE {' AND '.join(where)} "
            f"ORDER BY {order} LIMIT %s"
        )
        out: list[RecordedEvent] = []
        while len(out) < limit:
            page = _recorded(self._query("read events", sql, (*params, limit)))
            out.extend(e for e in page if metadata_matches(e, metadata_equals))
            if len(page) < limit:
                break
            params[0] = page[-1].global_position  # the substring matched elsewhere
        return out[:limit]

    def head_position(self) -> int:
        rows = self._query(
            "read the store position",
            "SELECT coalesce(max(global_position), 0) FROM bank_events",
            (),
        )
        return int(rows[0][0])

    def wait_for_events(self, after: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._listen_lock:
            listener = self._listening()  # listening before the head check: no commit slips by
            if self.head_position() > after:
                return True
            try:
                with unwatched(listener):  # silence is normal while waiting for news
                    for _ in listener.notifies(
                        timeout=max(0.0, deadline - time.monotonic()), stop_after=1
                    ):
                        break
            except psycopg.OperationalError as exc:
                self._drop_listener()
                raise StoreUnavailableError(
                    f"Lost the live connection to {self._display_url}."
                ) from exc
        # Notified or not, the head decides: a notification may have been lost or be stale.
        return self.head_position() > after

    def _listening(self) -> psycopg.Connection[Any]:
        if self._listener is None or self._listener.closed:
            self._check_open()
            conn = self._connect(autocommit=True)
            with self._translated("listen for new events"):
                try:
                    conn.execute(f"LISTEN {self._channel}")
                except BaseException:
                    conn.close()
                    raise
            self._listener = conn
        return self._listener

    def _drop_listener(self) -> None:
        if self._listener is not None:
            with suppress(psycopg.Error):  # closing a broken connection
                self._listener.close()
            self._listener = None

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with self._listen_lock:
            self._drop_listener()
        self._pool.close()

    def __repr__(self) -> str:
        return f"PostgresEventStore({self._display_url!r})"


def _identity_refusal(exc: pg_errors.InsufficientPrivilege, login: str | None) -> EventStoreError:
    """The strict-identity guard's refusal, in words a clerk can act on."""
    try:
        detail = json.loads(exc.diag.message_detail or "{}")
    except ValueError:
        detail = {}
    role = str(detail.get("role") or login or "")
    claimed = detail.get("clerk")
    return IdentityMismatchError(None if claimed is None else str(claimed), role)


def _identity_findings(conn: psycopg.Connection[Any]) -> list[tuple[bool, str]]:
    """``verify``'s view of identity: not deployed yet (a notice), or undone (a problem)."""
    if not postgres_deploy.role_column_present(conn):
        return [
            (
                False,
                "events do not record the database role yet (the store was deployed by an "
                "earlier version); `bank-desktop deploy` adds it",
            )
        ]
    found: list[tuple[bool, str]] = []
    if not postgres_deploy.role_recording_in_force(conn):
        found.append(
            (
                True,
                f"the trigger {postgres_deploy.ROLE_TRIGGER} is missing, disabled or changed: "
                "the database role recorded on events since then may be whatever a client "
                "sent; `bank-desktop deploy` puts it back",
            )
        )
    if postgres_deploy.strict_identity_state(conn) is False:
        found.append(
            (
                True,
                f"the strict-identity guard {postgres_deploy.STRICT_TRIGGER} is disabled or "
                "changed; `bank-desktop deploy` repairs it",
            )
        )
    return found


def _recorded(rows: list[Any]) -> list[RecordedEvent]:
    decode = fast_decode
    out: list[RecordedEvent] = []
    append = out.append
    for row in rows:
        global_position, stream_id, position, event_id, type_, text, created, role = row[:8]
        try:
            data = decode(text)
        except ValueError:
            data = decode_payload(text, stream_id, position)
        metadata = (
            (lambda text=row[8], sid=stream_id, pos=position: decode_metadata(text, sid, pos))
            if len(row) > 8
            else None
        )
        created_at: datetime = created
        append(
            RecordedEvent(
                event_id,
                type_,
                data,
                stream_id,
                int(position),
                int(global_position),
                created_at,
                metadata,
                role,
            )
        )
    return out
