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
import select
import shlex
import threading
import time
from collections.abc import Collection, Iterator, Sequence
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
from bank_desktop.eventstore.batches import Write, settle
from bank_desktop.eventstore.canonical import fast_digest
from bank_desktop.eventstore.errors import (
    ConcurrencyError,
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
from bank_desktop.eventstore.group_commit import GroupCommit
from bank_desktop.eventstore.port import (
    NO_STREAM,
    AppendRequest,
    AppendResult,
    DecideTail,
    ExpectedPosition,
    NewEvent,
    RecordedEvent,
    StreamState,
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
#: After this many wrong guesses in a row, guess only once every so many commits.
_GUESS_PATIENCE: Final = 3
_GUESS_EVERY: Final = 16
_LOCK: Final = "SELECT pg_advisory_xact_lock(%s)"
_HEAD: Final = "SELECT coalesce(max(global_position), 0) FROM bank_events"
_STREAM_HEADS: Final = (
    "SELECT stream_id, max(stream_position) FROM bank_events WHERE stream_id = ANY(%s::text[]) "
    "GROUP BY stream_id"
)
_NOTIFY: Final = "SELECT pg_notify(%s, %s)"
_ROW_TYPES: Final = "bigint, text, bigint, text, text, text, timestamptz, text"
_ARRAY_TYPES: Final = ", ".join(f"{name}[]" for name in _ROW_TYPES.split(", "))
_INSERT: Final = f"INSERT INTO bank_events ({_WRITTEN})"
#: The INSERT's WHERE: the store's head and the stream(s) where this process guessed them,
#: read under the advisory lock (taken by the statement before, so nobody moves them after).
_HEAD_IS: Final = "(SELECT coalesce(max(global_position), 0) FROM bank_events) = $9"
#: When it wrote, the INSERT notifies the listeners of the new head in the same statement:
#: one row answered (the notice) means the rows are in; none, that a guess was wrong and
#: nothing was written. NOTIFY is transactional: listeners hear it once the COMMIT is durable.
_NOTIFIED: Final = (
    "RETURNING global_position) "
    "SELECT pg_notify($12, max(global_position)::text) FROM written HAVING count(*) > 0"
)
#: The statements a write executes, prepared once per connection (the client never names
#: db_role: its default and trigger set it on the server). ``guessed_one`` is the usual
#: commit, one event on one stream, with plain parameters; ``guessed_many`` any other guessed
#: commit, in arrays; ``insert_rows`` the careful way's rows.
_PREPARED: Final = {
    "bank_guessed_one": (
        f"({_ROW_TYPES}, bigint, text, bigint, text) AS WITH written AS ({_INSERT} "
        f"SELECT $1, $2, $3, $4, $5, $6, $7, $8 WHERE {_HEAD_IS} AND coalesce((SELECT "
        "max(stream_position) FROM bank_events WHERE stream_id = $10), 0) = $11 "
        f"{_NOTIFIED}"
    ),
    "bank_guessed_many": (
        f"({_ARRAY_TYPES}, bigint, text[], bigint[], text) AS WITH written AS ({_INSERT} "
        f"SELECT * FROM unnest($1, $2, $3, $4, $5, $6, $7, $8) WHERE {_HEAD_IS} AND NOT EXISTS "
        "(SELECT 1 FROM unnest($10, $11) AS x(stream_id, position) WHERE coalesce((SELECT "
        "max(e.stream_position) FROM bank_events e WHERE e.stream_id = x.stream_id), 0) "
        f"<> x.position) {_NOTIFIED}"
    ),
    "bank_insert_rows": f"({_ARRAY_TYPES}) AS {_INSERT} SELECT * FROM unnest($1, $2, $3, $4, "
    "$5, $6, $7, $8)",
}
_PREPARE: Final = "; ".join(f"PREPARE {name} {sql}" for name, sql in _PREPARED.items())
_ROW_PARAMS: Final = "%s, %s, %s, %s, %s, %s, %s, %s"
_GUESSED_ONE: Final = f"EXECUTE bank_guessed_one({_ROW_PARAMS}, %s, %s, %s, %s)"
_GUESSED_MANY: Final = f"EXECUTE bank_guessed_many({_ROW_PARAMS}, %s, %s, %s, %s)"
_INSERT_ROWS: Final = f"EXECUTE bank_insert_rows({_ROW_PARAMS})"
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


class PostgresEventStore:
    """Event store on a PostgreSQL database (``postgresql://user@host:5432/db``)."""

    #: The chain digest through msgspec (capability ``ChainDigestSource``).
    chain_digest = staticmethod(fast_digest)

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
        # Autocommit: a read is one round trip (no BEGIN, no ROLLBACK when the pool takes the
        # connection back); writes open their transaction themselves.
        self._pool = ConnectionPool(
            "",
            kwargs={**self._params, "autocommit": True},
            min_size=1,
            max_size=pool_size,
            timeout=self._timeout,
            open=False,
            connection_class=GuardedConnection,
            configure=self._guard,
            check=_still_connected,
            name="bank-desktop",
        )
        self._group: GroupCommit[Write] = GroupCommit(self._commit, settle)
        self._written = threading.local()  #: per thread: the last position it appended
        self._head_hint: int | None = None  #: the head after our last commit (a guess)
        self._guess_misses = 0  #: guesses wrong in a row (other processes write too)
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
            conn.transaction(),
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
                raise psycopg.Rollback()  # ends the transaction block, undoing the steps
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
        except (psycopg.Error, PoolTimeout) as exc:
            raise self._translate(exc, action) from exc

    def _translate(self, exc: psycopg.Error | PoolTimeout, action: str) -> EventStoreError:
        """The store's error for a driver error met while trying to ``action`` (caused by it)."""
        error = self._translation(exc, action)
        error.__cause__ = exc
        return error

    def _translation(self, exc: psycopg.Error | PoolTimeout, action: str) -> EventStoreError:
        if isinstance(exc, PoolTimeout):
            return StoreUnavailableError(
                f"The PostgreSQL store {self._display_url} did not answer within "
                f"{self._timeout:g} s (no working connection); could not {action}."
            )
        if isinstance(exc, StalledError):
            return StoreUnavailableError(
                f"The PostgreSQL store {self._display_url} did not answer within "
                f"{self._timeout:g} s; could not {action}."
            )
        if isinstance(exc, pg_errors.UndefinedTable):
            return StoreConfigError(
                f"The PostgreSQL store {self._display_url} has no Bank Desktop schema: "
                f"run {self._deploy_hint()} first."
            )
        if isinstance(exc, pg_errors.InvalidSchemaName):
            return StoreConfigError(
                f"The schema named in the search_path of {self._display_url} does not exist; "
                "create it (CREATE SCHEMA …) or use the database's default schema."
            )
        if isinstance(exc, pg_errors.InsufficientPrivilege):
            if exc.diag.constraint_name == postgres_deploy.STRICT_REFUSAL:
                return _identity_refusal(exc, self.database_role)
            return StoreConfigError(
                f"The database user of {self._display_url} may not {action}: "
                f"{exc.diag.message_primary}."
            )
        if isinstance(exc, pg_errors.UniqueViolation):
            return EventStoreError(f"Could not {action}: {exc.diag.message_primary}.")
        if isinstance(exc, psycopg.OperationalError | pg_errors.QueryCanceled):
            return StoreUnavailableError(
                f"The PostgreSQL store {self._display_url} failed; could not {action} "
                f"({type(exc).__name__})."
            )
        return EventStoreError(f"Could not {action}: {exc.diag.message_primary}.")

    def _check_open(self) -> None:
        if self._closed:
            raise EventStoreError("The event store is closed.")

    # ── writing ───────────────────────────────────────────────────────────────────────────
    #
    # Every append is a Write handed to the group commit (see ``group_commit``): alone it is
    # committed at once; with other threads writing, it shares their transaction. A commit is
    # one round trip in the usual case: BEGIN, the advisory lock, an INSERT whose WHERE checks
    # the global head this process expects and every stream's expected position (and which
    # notifies the listeners when it wrote), and COMMIT, in one message. When a guess was
    # wrong (another process wrote meanwhile) that transaction wrote nothing, and the commit
    # is made again the careful way: the head and the streams' positions read under the lock,
    # each write checked (and decided) in turn, then inserted, NOTIFY and COMMIT.

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
        self._check_open()
        self._group.submit(writes)
        return [
            write.outcome if isinstance(write.outcome, ConcurrencyError) else write.result()
            for write in writes
        ]

    @property
    def group_commit(self) -> GroupCommit[Write]:
        """The writers' queue: commits made and writes carried (benchmarks), waiters (tests)."""
        return self._group

    def written_position(self) -> int:
        """The global position of the last event this thread appended here (0: none yet):
        where a caller that just wrote may tell its client to read from, without a query."""
        return int(getattr(self._written, "position", 0))

    def _write(self, write: Write) -> list[AppendResult]:
        self._check_open()
        self._group.submit((write,))
        results = write.result()
        if write.rows:
            self._written.position = write.rows[-1][0]
        return results

    def _commit(self, writes: list[Write]) -> None:
        """One transaction for ``writes`` (the group commit's leader calls it)."""
        now = utc_now()
        try:
            with self._pool.connection() as conn:
                try:
                    head = self._commit_on(conn, writes, now)
                except BaseException:
                    _roll_back(conn)
                    raise
        except (psycopg.Error, PoolTimeout) as exc:
            for write in writes:
                write.refused(self._translate(exc, write.action))
            return
        self._head_hint = head
        for write in writes:
            write.committed(now, db_role=self._recorded_role)

    def _commit_on(self, conn: psycopg.Connection[Any], writes: list[Write], now: datetime) -> int:
        """One round trip when this process guessed the store's head right: BEGIN, the lock,
        the guessed INSERT and COMMIT in one message (an empty transaction when the guess was
        wrong). Otherwise the careful way (:meth:`_insert_checked`). Returns the new head.

        Every exchange is a single simple-protocol message, its parameters bound by the
        client (the statements are prepared, so the server plans nothing). The server runs
        none of a message until it has all of it, and between messages it is idle with its
        idle-in-transaction timeout armed: a link that stalls anywhere never leaves the
        append lock held by a transaction waiting for the rest of its statements (in a
        pipeline, after a statement has run and before the next arrives, no timeout runs).
        Nothing is half written; whether a COMMIT already sent was applied, no client can
        know until it reads again: that is what command ids are for.
        """
        cursor = self._cursor(conn)
        guess = self._guess(writes)
        rows = None if guess is None else guess.plan(writes)
        if rows is not None and guess is not None:
            statement, params = self._guessed_insert(rows, guess, now)
            cursor.execute(f"BEGIN; {_LOCK}; {statement}; COMMIT", (self._lock_key, *params))
            cursor.nextset()
            cursor.nextset()  # the guessed INSERT's notice: one row if it wrote
            if cursor.rowcount == 1:
                self._guess_misses = 0
                return rows[-1][0]
            self._guess_misses += 1  # another process wrote, or an expectation was stale
        names = sorted({r.stream_id for write in writes for r in write.requests})
        cursor.execute(f"BEGIN; {_LOCK}; {_HEAD}; {_STREAM_HEADS}", (self._lock_key, names))
        cursor.nextset()
        cursor.nextset()
        head = int(cursor.fetchone()[0])  # type: ignore[index]
        cursor.nextset()
        positions = {str(sid): int(position) for sid, position in cursor.fetchall()}
        if rows is not None and head == self._head_hint:
            self._guess_misses = 0  # the head was guessed right: only a stream had moved
        return self._insert_checked(cursor, writes, now=now, head=head, positions=positions)

    def _cursor(self, conn: psycopg.Connection[Any]) -> psycopg.ClientCursor[Any]:
        """A cursor sending simple-protocol messages on ``conn``, whose session has the
        write statements prepared (once per connection: one round trip)."""
        if not getattr(conn, "bank_prepared", False):
            conn.execute(_PREPARE)
            conn.bank_prepared = True  # type: ignore[attr-defined]
        return psycopg.ClientCursor(conn)

    def _guessed_insert(
        self, rows: list[BatchRow], guess: _Guess, now: datetime
    ) -> tuple[str, tuple[Any, ...]]:
        """The guessed INSERT for ``rows`` and its parameters (one row: no arrays)."""
        if len(rows) == 1 and len(guess.initial) == 1:
            position, stream_id, stream_position, event_id, type_, data, metadata = rows[0]
            row = (position, stream_id, stream_position, event_id, type_, data, now, metadata)
            return _GUESSED_ONE, (
                *row,
                guess.head,
                stream_id,
                guess.initial[stream_id],
                self._channel,
            )
        streams, at = list(guess.initial), list(guess.initial.values())
        return _GUESSED_MANY, (*_columns(rows, now), guess.head, streams, at, self._channel)

    def _guess(self, writes: list[Write]) -> _Guess | None:
        """Whether to try the guessed INSERT: not when other processes keep proving the
        guess wrong (then only now and then, to notice when they stop)."""
        misses = self._guess_misses
        if self._head_hint is None or any(write.decide is not None for write in writes):
            return None
        if misses >= _GUESS_PATIENCE and misses % _GUESS_EVERY:
            self._guess_misses += 1
            return None
        return _Guess(self._head_hint)

    def _insert_checked(
        self,
        cursor: psycopg.ClientCursor[Any],
        writes: list[Write],
        *,
        now: datetime,
        head: int,
        positions: dict[str, int],
    ) -> int:
        """Check (and decide) each write in turn on what was read under the lock, insert its
        rows, NOTIFY and COMMIT; returns the new head. Rows wait to be sent with the next
        message: a tail read (for a later write that decides) or the COMMIT."""
        for write in writes:
            write.outcome = None
        pending: list[BatchRow] = []

        def after_pending(statement: str, *params: Any) -> tuple[str, list[Any]]:
            """``statement`` preceded by the INSERT of the rows not sent yet."""
            if not pending:
                return statement, list(params)
            sent = [*_columns(pending, now), *params]
            pending.clear()
            return f"{_INSERT_ROWS}; {statement}", sent

        def position_of(stream_id: str) -> int:
            return positions.get(stream_id, 0)

        def read_tail(stream_id: str, after: int) -> list[RecordedEvent]:
            cursor.execute(*after_pending(self._stream_tail, stream_id, after))
            while cursor.nextset():  # the tail is the last result: the rows went in first
                pass
            return _recorded(cursor.fetchall())

        written = False
        for write in writes:
            try:
                rows = write.plan(head, position_of, read_tail)
            except psycopg.Error:
                raise
            except Exception as exc:  # a conflict, a refusal decided under the lock
                write.refused(exc)
                continue
            if rows:
                pending.extend(rows)
                head = rows[-1][0]
                written = True
                for _, stream_id, stream_position, *_ in rows:
                    positions[stream_id] = stream_position
        if written:
            cursor.execute(*after_pending(f"{_NOTIFY}; COMMIT", self._channel, str(head)))
        else:
            cursor.execute("COMMIT")
        return head

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
            "SELECT global_position, stream_id, stream_position, event_id, type, data, metadata, "
            "created_at FROM bank_events WHERE global_position > %s ORDER BY global_position "
            "LIMIT %s",
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


class _Guess:
    """Rows for a commit planned on guesses: the store's head as this process left it, and
    each stream where its writer expects it. ``initial`` is what the INSERT must find."""

    def __init__(self, head: int | None) -> None:
        self.head = head
        self.initial: dict[str, int] = {}
        self._current: dict[str, int] = {}

    def plan(self, writes: list[Write]) -> list[BatchRow] | None:
        head = self.head
        if head is None:
            return None
        rows: list[BatchRow] = []
        for write in writes:
            if write.decide is not None:
                return None
            for request in write.requests:
                expected = request.expected
                if isinstance(expected, StreamState) and expected is not NO_STREAM:
                    return None  # ANY / STREAM_EXISTS: only a read can say where it is
                if request.stream_id not in self._current:
                    position = 0 if expected is NO_STREAM else int(expected)  # type: ignore[arg-type]
                    self.initial[request.stream_id] = self._current[request.stream_id] = position
            try:
                planned = write.plan(head, self._current.__getitem__, _no_tail)
            except ConcurrencyError:
                return None  # the writes contradict each other: the careful path says how
            for _, stream_id, stream_position, *_ in planned:
                self._current[stream_id] = stream_position
            if planned:
                head = planned[-1][0]
            rows.extend(planned)
        return rows or None


def _no_tail(stream_id: str, after: int) -> list[RecordedEvent]:  # pragma: no cover
    raise AssertionError("a guessed commit never decides")


def _columns(rows: Sequence[BatchRow], now: datetime) -> tuple[list[Any], ...]:
    """Rows as the INSERT's eight arrays, in the order of ``_WRITTEN``."""
    return (
        [row[0] for row in rows],
        [row[1] for row in rows],
        [row[2] for row in rows],
        [row[3] for row in rows],
        [row[4] for row in rows],
        [row[5] for row in rows],
        [now] * len(rows),
        [row[6] for row in rows],
    )


def _still_connected(conn: psycopg.Connection[Any]) -> None:
    """The pool's check of a connection it hands out, without a round trip: a connection the
    server closed (restart, idle timeout, termination) has said so on its socket, which is
    then readable; only then is the full check (an empty query) made."""
    if conn.closed or conn.pgconn.status != psycopg.pq.ConnStatus.OK:
        raise psycopg.OperationalError("the connection is closed")
    readable, _, _ = select.select([conn.fileno()], [], [], 0)
    if readable:
        ConnectionPool.check_connection(conn)


def _roll_back(conn: psycopg.Connection[Any]) -> None:
    """End a transaction a failure left open (the connection may be past saving)."""
    if conn.closed:
        return
    with suppress(psycopg.Error):
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            conn.execute("ROLLBACK")


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
