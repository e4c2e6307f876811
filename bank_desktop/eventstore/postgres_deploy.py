"""``bank-desktop deploy`` on PostgreSQL: a sequence of idempotent steps, each checked first.

Every step says what it makes, finds whether it is already there and as it should be, and
makes (or repairs) it only if not; ``deploy`` runs them in order in one transaction, under the
store's advisory lock, so two deploys of one store never interleave. A new requirement is one
more :class:`Step` appended to :data:`STEPS`.

What a store gets:

- the events table and its index (the schema the adapter reads and appends to);
- append-only guards: a trigger function and triggers refusing UPDATE, DELETE and TRUNCATE on
  the events, for everyone, the table's owner included, until someone drops them (the hash
  chain and ``bank-desktop verify`` catch what happens after that);
- the group role :data:`CLERK_ROLE` (``NOLOGIN``; clerks log in as their own roles that are
  members of it) with exactly what the application needs: connect to the database, use the
  schema, read and append events. Never UPDATE, DELETE or TRUNCATE. Roles belong to the
  server, not to a database: deploying a second database on the same server finds the role
  and reuses it (a deploy racing another on the role is fine too).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Literal

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql

#: The group role clerks' logins are members of.
CLERK_ROLE: Final = "bank_clerk"
TABLE: Final = "bank_events"
GUARD_FUNCTION: Final = "bank_events_refuse_change"
#: Trigger name → (timing and events, level).
GUARD_TRIGGERS: Final = {
    "bank_events_refuse_update_delete": ("BEFORE UPDATE OR DELETE", "ROW"),
    "bank_events_refuse_truncate": ("BEFORE TRUNCATE", "STATEMENT"),
}
_GUARD_BODY: Final = (
    "BEGIN RAISE EXCEPTION 'Bank Desktop events are append-only: % is refused', TG_OP; END"
)
#: What clerks may do on the events table, and what they must never be able to do.
CLERK_TABLE_PRIVILEGES: Final = ("SELECT", "INSERT")
FORBIDDEN_TABLE_PRIVILEGES: Final = ("UPDATE", "DELETE", "TRUNCATE")

Conn = psycopg.Connection[Any]
Outcome = Literal["created", "unchanged", "would create"]


@dataclass(frozen=True, slots=True)
class Step:
    """One thing a deployed store has: ``done`` checks for it, ``make`` creates or repairs it."""

    what: str
    done: Callable[[Conn], bool]
    make: Callable[[Conn], None]


@dataclass(frozen=True, slots=True)
class StepOutcome:
    what: str
    outcome: Outcome

    def __str__(self) -> str:
        return f"{self.outcome}: {self.what}"


def _one(conn: Conn, query: str, params: tuple[Any, ...] = ()) -> Any:
    row = conn.execute(query, params).fetchone()
    return None if row is None else row[0]


# ── the schema ────────────────────────────────────────────────────────────────────────────


def _table_exists(conn: Conn) -> bool:
    return _one(conn, "SELECT to_regclass(%s)", (TABLE,)) is not None


def _create_table(conn: Conn) -> None:
    conn.execute(
        """
        CREATE TABLE IF NOT EXISTS bank_events (
            global_position BIGINT      PRIMARY KEY,
            stream_id       TEXT        NOT NULL,
            stream_position BIGINT      NOT NULL,
            event_id        TEXT        NOT NULL,
            type            TEXT        NOT NULL,
            data            TEXT        NOT NULL,
            metadata        TEXT        NOT NULL,
            created_at      TIMESTAMPTZ NOT NULL,
            UNIQUE (stream_id, stream_position)
        )
        """
    )


def _index_exists(conn: Conn) -> bool:
    return _one(conn, "SELECT to_regclass('bank_events_by_type')") is not None


def _create_index(conn: Conn) -> None:
    conn.execute(
        "CREATE INDEX IF NOT EXISTS bank_events_by_type ON bank_events (type, global_position)"
    )


# ── append-only guards ────────────────────────────────────────────────────────────────────


def _function_current(conn: Conn) -> bool:
    body = _one(
        conn,
        "SELECT p.prosrc FROM pg_proc p WHERE p.proname = %s "
        "AND p.pronamespace = current_schema()::regnamespace",
        (GUARD_FUNCTION,),
    )
    return body is not None and " ".join(str(body).split()) == _GUARD_BODY


def _create_function(conn: Conn) -> None:
    conn.execute(
        f"CREATE OR REPLACE FUNCTION {GUARD_FUNCTION}() RETURNS trigger "
        f"LANGUAGE plpgsql AS $guard$ {_GUARD_BODY} $guard$"
    )


def guard_triggers_in_force(conn: Conn) -> dict[str, bool]:
    """Each guard trigger: whether it exists on the events table and is enabled."""
    found = dict(
        conn.execute(
            "SELECT tgname, tgenabled <> 'D' FROM pg_trigger "
            "WHERE tgrelid = to_regclass(%s) AND NOT tgisinternal",
            (TABLE,),
        ).fetchall()
    )
    return {name: bool(found.get(name, False)) for name in GUARD_TRIGGERS}


def _triggers_in_force(conn: Conn) -> bool:
    return all(guard_triggers_in_force(conn).values())


def _create_triggers(conn: Conn) -> None:
    for name, (timing, level) in GUARD_TRIGGERS.items():
        conn.execute(f"DROP TRIGGER IF EXISTS {name} ON {TABLE}")
        conn.execute(
            f"CREATE TRIGGER {name} {timing} ON {TABLE} FOR EACH {level} "
            f"EXECUTE FUNCTION {GUARD_FUNCTION}()"
        )


# ── the clerks' role ──────────────────────────────────────────────────────────────────────


def _role_exists(conn: Conn) -> bool:
    return _one(conn, "SELECT 1 FROM pg_roles WHERE rolname = %s", (CLERK_ROLE,)) is not None


def _create_role(conn: Conn) -> None:
    try:
        with conn.transaction():  # a savepoint: losing the race to another deploy is fine
            conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(CLERK_ROLE)))
    except (pg_errors.DuplicateObject, pg_errors.UniqueViolation):
        pass  # created a moment ago by a deploy of another database on this server


def clerk_privileges_wrong(conn: Conn) -> list[str]:
    """What the clerk role (and everyone, PUBLIC) may do that it must not, or lacks."""
    wrong: list[str] = []
    if not _table_exists(conn):
        return [f"the events table {TABLE} does not exist"]
    if not _role_exists(conn):
        return [f"the role {CLERK_ROLE} does not exist"]
    for privilege in CLERK_TABLE_PRIVILEGES:
        if not _one(conn, "SELECT has_table_privilege(%s, %s, %s)", (CLERK_ROLE, TABLE, privilege)):
            wrong.append(f"{CLERK_ROLE} may not {privilege} events")
    for privilege in FORBIDDEN_TABLE_PRIVILEGES:
        if _one(conn, "SELECT has_table_privilege(%s, %s, %s)", (CLERK_ROLE, TABLE, privilege)):
            wrong.append(f"{CLERK_ROLE} may {privilege} events")
    if not _one(conn, "SELECT has_schema_privilege(%s, current_schema(), 'USAGE')", (CLERK_ROLE,)):
        wrong.append(f"{CLERK_ROLE} may not use the schema")
    if not _one(
        conn, "SELECT has_database_privilege(%s, current_database(), 'CONNECT')", (CLERK_ROLE,)
    ):
        wrong.append(f"{CLERK_ROLE} may not connect to the database")
    return wrong


def _privileges_right(conn: Conn) -> bool:
    return not clerk_privileges_wrong(conn)


def _grant(conn: Conn) -> None:
    """Grant what is missing (and only that: two deploys granting on one database at once
    would update its row together, which PostgreSQL refuses), revoke what must not be."""
    role = sql.Identifier(CLERK_ROLE)
    table = sql.Identifier(TABLE)
    if not _one(
        conn, "SELECT has_database_privilege(%s, current_database(), 'CONNECT')", (CLERK_ROLE,)
    ):
        database = sql.Identifier(str(_one(conn, "SELECT current_database()")))
        conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(database, role))
    if not _one(conn, "SELECT has_schema_privilege(%s, current_schema(), 'USAGE')", (CLERK_ROLE,)):
        schema = sql.Identifier(str(_one(conn, "SELECT current_schema()")))
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, role))
    conn.execute(sql.SQL("GRANT SELECT, INSERT ON {} TO {}").format(table, role))
    conn.execute(
        sql.SQL("REVOKE UPDATE, DELETE, TRUNCATE ON {} FROM PUBLIC, {}").format(table, role)
    )


STEPS: Final = (
    Step(f"the events table {TABLE}", _table_exists, _create_table),
    Step("its index by event type", _index_exists, _create_index),
    Step(f"the append-only guard function {GUARD_FUNCTION}()", _function_current, _create_function),
    Step(
        "the append-only triggers (UPDATE, DELETE and TRUNCATE of events refused)",
        _triggers_in_force,
        _create_triggers,
    ),
    Step(f"the clerks' group role {CLERK_ROLE} (one per server)", _role_exists, _create_role),
    Step(
        f"the privileges of {CLERK_ROLE}: read and append events, nothing else",
        _privileges_right,
        _grant,
    ),
)


#: The advisory lock every deploy in one database takes first: deploys of separate stores
#: (schemas) of one database touch the same rows (the database's privileges), one at a time.
DEPLOY_LOCK: Final = int.from_bytes(
    hashlib.sha256(b"bank-desktop:deploy").digest()[:8], "big", signed=True
)


def deploy(conn: Conn, *, dry_run: bool = False) -> list[StepOutcome]:
    """Run :data:`STEPS` on ``conn`` (inside the caller's transaction, which must hold
    :data:`DEPLOY_LOCK`); what each did."""
    outcomes = []
    for step in STEPS:
        if step.done(conn):
            outcomes.append(StepOutcome(step.what, "unchanged"))
        elif dry_run:
            outcomes.append(StepOutcome(step.what, "would create"))
        else:
            step.make(conn)
            outcomes.append(StepOutcome(step.what, "created"))
    return outcomes
