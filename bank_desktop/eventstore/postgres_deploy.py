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
  and reuses it (a deploy racing another on the role is fine too);
- the database role that recorded each event, in the column :data:`ROLE_COLUMN`: its default
  is ``session_user`` and a BEFORE INSERT trigger sets it again whenever a client sent
  anything else, so no client can forge it (the login is the server's to say). A store
  deployed before this step gets the column with every earlier event at NULL: "recorded
  before identity";
- optionally (``--strict-identity``), a guard refusing events whose claimed clerk (metadata
  ``clerkId``) is not the database role appending them. The table's owner (and a superuser) is
  exempt: it can drop the guard anyway, so holding it would protect nothing, and it is who
  deploys, repairs and migrates; what it appends still carries its own role in
  :data:`ROLE_COLUMN`. A deploy without the option keeps a guard it finds; only
  ``--no-strict-identity`` removes it, so re-running a plain deploy never weakens a store.
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

#: The column holding the database role (``session_user``) that appended each event.
ROLE_COLUMN: Final = "db_role"
ROLE_FUNCTION: Final = "bank_events_record_role"
ROLE_TRIGGER: Final = "bank_events_record_role"
_ROLE_BODY: Final = "BEGIN NEW.db_role := session_user; RETURN NEW; END"
#: The function runs only when the row's db_role is not already the login: the column's
#: default makes it so for every ordinary insert, and a WHEN condition costs a fraction of a
#: PL/pgSQL call, so the append pays almost nothing (bench/postgres_identity.py).
_ROLE_WHEN: Final = "NEW.db_role IS DISTINCT FROM session_user"
#: The strict-identity guard: its function, trigger, and the constraint name its refusal
#: carries (``diag.constraint_name``), by which the adapter tells it from other refusals.
STRICT_FUNCTION: Final = "bank_events_strict_identity"
STRICT_TRIGGER: Final = "bank_events_strict_identity"
STRICT_REFUSAL: Final = "bank_events_strict_identity"
#: Likewise only a row whose clerk is not the login reaches the function (which then
#: exempts the owner or refuses).
_STRICT_WHEN: Final = "(NEW.metadata::json ->> 'clerkId') IS DISTINCT FROM session_user::text"
_STRICT_BODY: Final = (
    "DECLARE claimed text := NEW.metadata::json ->> 'clerkId'; "
    "BEGIN "
    "IF claimed IS DISTINCT FROM session_user::text AND NOT pg_has_role(session_user, "
    "(SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'MEMBER') THEN "
    "RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege', "
    "CONSTRAINT = 'bank_events_strict_identity', "
    "MESSAGE = format('Bank Desktop strict identity: the database role %I may append events "
    "only as clerk %s, not as %s', session_user, session_user, coalesce(claimed, '(none)')), "
    "DETAIL = json_build_object('clerk', claimed, 'role', session_user)::text; "
    "END IF; "
    "RETURN NEW; "
    "END"
)

Conn = psycopg.Connection[Any]
Outcome = Literal["created", "unchanged", "would create", "removed", "would remove"]


@dataclass(frozen=True, slots=True)
class Step:
    """One thing a deployed store has: ``done`` checks for it, ``make`` creates or repairs it
    (or, for a step that ``removes``, takes it away)."""

    what: str
    done: Callable[[Conn], bool]
    make: Callable[[Conn], None]
    removes: bool = False


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


# ── identity: the database role on every event ───────────────────────────────────────────


def _function_body(conn: Conn, name: str) -> str | None:
    body = _one(
        conn,
        "SELECT p.prosrc FROM pg_proc p WHERE p.proname = %s "
        "AND p.pronamespace = current_schema()::regnamespace",
        (name,),
    )
    return None if body is None else " ".join(str(body).split())


def _trigger_state(conn: Conn, name: str, *, conditional: bool = False) -> bool | None:
    """None: no such trigger on the events table; else whether it is enabled (and, when
    ``conditional``, still runs its function only under a WHEN condition on the login)."""
    found = conn.execute(
        "SELECT tgenabled <> 'D', tgqual IS NOT NULL, pg_get_triggerdef(oid) FROM pg_trigger "
        "WHERE tgrelid = to_regclass(%s) AND tgname = %s AND NOT tgisinternal",
        (TABLE, name),
    ).fetchone()
    if found is None:
        return None
    enabled, has_condition, definition = found
    if conditional and not (has_condition and "session_user" in str(definition).lower()):
        return False
    return bool(enabled)


def role_column_present(conn: Conn) -> bool:
    """Whether the events table has :data:`ROLE_COLUMN` (a store deployed before it has not)."""
    return bool(
        _one(
            conn,
            "SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass(%s) "
            "AND attname = %s AND NOT attisdropped)",
            (TABLE, ROLE_COLUMN),
        )
    )


def _role_column_right(conn: Conn) -> bool:
    default = _one(
        conn,
        "SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d JOIN pg_attribute a "
        "ON a.attrelid = d.adrelid AND a.attnum = d.adnum "
        "WHERE d.adrelid = to_regclass(%s) AND a.attname = %s",
        (TABLE, ROLE_COLUMN),
    )
    return role_column_present(conn) and str(default).lower() == "session_user"


def _add_role_column(conn: Conn) -> None:
    # Two statements on purpose: ADD COLUMN ... DEFAULT session_user would fill every earlier
    # event with the deploying role; added bare, they stay NULL ("before identity").
    conn.execute(f"ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS {ROLE_COLUMN} TEXT")
    conn.execute(f"ALTER TABLE {TABLE} ALTER COLUMN {ROLE_COLUMN} SET DEFAULT session_user")


def role_recording_in_force(conn: Conn) -> bool:
    """The trigger that sets :data:`ROLE_COLUMN` on every insert exists, is enabled and runs
    the body this version installs."""
    return (
        _function_body(conn, ROLE_FUNCTION) == _ROLE_BODY
        and _trigger_state(conn, ROLE_TRIGGER, conditional=True) is True
    )


def _create_role_recording(conn: Conn) -> None:
    conn.execute(
        f"CREATE OR REPLACE FUNCTION {ROLE_FUNCTION}() RETURNS trigger "
        f"LANGUAGE plpgsql AS $role$ {_ROLE_BODY} $role$"
    )
    conn.execute(f"DROP TRIGGER IF EXISTS {ROLE_TRIGGER} ON {TABLE}")
    conn.execute(
        f"CREATE TRIGGER {ROLE_TRIGGER} BEFORE INSERT ON {TABLE} FOR EACH ROW "
        f"WHEN ({_ROLE_WHEN}) EXECUTE FUNCTION {ROLE_FUNCTION}()"
    )


# ── strict identity: the claimed clerk is the login ──────────────────────────────────────


def strict_identity_state(conn: Conn) -> bool | None:
    """None: no strict-identity guard; True: in force as this version installs it; False:
    present but disabled or changed (a deploy repairs it)."""
    state = _trigger_state(conn, STRICT_TRIGGER, conditional=True)
    if state is None:
        return None
    return state and _function_body(conn, STRICT_FUNCTION) == " ".join(_STRICT_BODY.split())


def _create_strict_identity(conn: Conn) -> None:
    conn.execute(
        f"CREATE OR REPLACE FUNCTION {STRICT_FUNCTION}() RETURNS trigger "
        f"LANGUAGE plpgsql AS $strict$ {_STRICT_BODY} $strict$"
    )
    conn.execute(f"DROP TRIGGER IF EXISTS {STRICT_TRIGGER} ON {TABLE}")
    conn.execute(
        f"CREATE TRIGGER {STRICT_TRIGGER} BEFORE INSERT ON {TABLE} FOR EACH ROW "
        f"WHEN ({_STRICT_WHEN}) EXECUTE FUNCTION {STRICT_FUNCTION}()"
    )


def _drop_strict_identity(conn: Conn) -> None:
    conn.execute(f"DROP TRIGGER IF EXISTS {STRICT_TRIGGER} ON {TABLE}")
    conn.execute(f"DROP FUNCTION IF EXISTS {STRICT_FUNCTION}()")


_STRICT_WHAT: Final = (
    "strict identity: events whose clerk is not the database login are refused "
    "(the table's owner exempt)"
)


def identity_steps(strict: bool | None, found: bool | None) -> tuple[Step, ...]:
    """The strict-identity step for ``--strict-identity`` (True), ``--no-strict-identity``
    (False) or neither (None: a guard ``found`` is kept, and repaired if it needs it; none
    is added). ``found`` is :func:`strict_identity_state` before the deploy."""
    if strict is False:
        return (
            Step(
                "strict identity guard removed (clerk ids are no longer checked against logins)",
                lambda conn: strict_identity_state(conn) is None,
                _drop_strict_identity,
                removes=True,
            ),
        )
    if strict is None and found is None:
        return (
            Step(
                "strict identity is off (clerk ids are not checked against logins; "
                "--strict-identity turns it on)",
                lambda conn: True,
                lambda conn: None,
            ),
        )
    kept = " — kept (--no-strict-identity removes it)" if strict is None else ""
    return (
        Step(
            _STRICT_WHAT + kept,
            lambda conn: strict_identity_state(conn) is True,
            _create_strict_identity,
        ),
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
    Step(
        f"the column {ROLE_COLUMN}: the database role that recorded each event "
        "(earlier events: none, recorded before identity)",
        _role_column_right,
        _add_role_column,
    ),
    Step(
        f"the trigger {ROLE_TRIGGER}: {ROLE_COLUMN} is always the session's login, "
        "whatever a client sends",
        role_recording_in_force,
        _create_role_recording,
    ),
)


#: The advisory lock every deploy in one database takes first: deploys of separate stores
#: (schemas) of one database touch the same rows (the database's privileges), one at a time.
DEPLOY_LOCK: Final = int.from_bytes(
    hashlib.sha256(b"bank-desktop:deploy").digest()[:8], "big", signed=True
)


def deploy(
    conn: Conn, *, dry_run: bool = False, strict_identity: bool | None = None
) -> list[StepOutcome]:
    """Run :data:`STEPS` and the strict-identity step (:func:`identity_steps`) on ``conn``
    (inside the caller's transaction, which must hold :data:`DEPLOY_LOCK`); what each did."""
    outcomes = []
    found = strict_identity_state(conn)
    for step in (*STEPS, *identity_steps(strict_identity, found)):
        if step.done(conn):
            outcomes.append(StepOutcome(step.what, "unchanged"))
        elif dry_run:
            outcomes.append(
                StepOutcome(step.what, "would remove" if step.removes else "would create")
            )
        else:
            step.make(conn)
            outcomes.append(StepOutcome(step.what, "removed" if step.removes else "created"))
    return outcomes
