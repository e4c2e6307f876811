"""Identity on PostgreSQL, with two real logins on the real server: the database role recorded
on every event (and never forged), strict identity refusing a clerk id that is not the login,
clerks that can read and append and nothing else, and a second database on the same server.

One fresh database for the module; each test deploys a schema of its own in it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import errors as pg_errors

from bank_desktop.application import BankService
from bank_desktop.eventstore import (
    ANY,
    EventStoreError,
    IdentityMismatchError,
    NewEvent,
    deploy_postgres,
    open_store,
)
from bank_desktop.eventstore.postgres import PostgresEventStore
from bank_desktop.eventstore.postgres_deploy import (
    GUARD_TRIGGERS,
    ROLE_FUNCTION,
    ROLE_TRIGGER,
    STRICT_TRIGGER,
)
from tests.postgres_logins import Server, clerk_logins, deployed_server, fresh_database, url_for


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with deployed_server() as made:
        yield made


@pytest.fixture
def schema(server: Server) -> Iterator[str]:
    """A schema of this test's own in the module's database, deployed by its owner."""
    name = f"s_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server.url(), autocommit=True) as owner:
        owner.execute(f"CREATE SCHEMA {name}")
    deploy_postgres(server.url(schema=name))
    return name


def _clerk_session(
    server: Server, schema: str, login: str, clerk: str | None = None
) -> BankService:
    store = open_store(server.url(login, schema=schema))
    return BankService(store, clerk_id=clerk or login)


def _roles_by_event(server: Server, schema: str) -> list[tuple[str, str | None]]:
    """(clerk the event names, database role the store recorded), in global order, read
    through the application's own store."""
    store = PostgresEventStore(server.url(schema=schema))
    try:
        return [(str(e.metadata.get("clerkId")), e.db_role) for e in store.read_all(limit=1000)]
    finally:
        store.close()


def _raw_insert(conn: psycopg.Connection, clerk: str, db_role: str | None = None) -> None:  # type: ignore[type-arg]
    """An event written by hand (psql, a script), past the application, claiming ``db_role``."""
    head = conn.execute("SELECT coalesce(max(global_position), 0) FROM bank_events").fetchone()
    position = int(head[0]) + 1 if head else 1
    columns = (
        "global_position, stream_id, stream_position, event_id, type, data, metadata, created_at"
    )
    values = "%s, %s, 1, %s, 'note.added', '{}', %s, now()"
    params: list[object] = [position, f"note-{uuid.uuid4().hex}", uuid.uuid4().hex]
    params.append(f'{{"clerkId": "{clerk}"}}')
    if db_role is not None:
        columns += ", db_role"
        values += ", %s"
        params.append(db_role)
    conn.execute(f"INSERT INTO bank_events ({columns}) VALUES ({values})", params)


# ── the database role on every event ──────────────────────────────────────────────────────


def test_each_event_records_the_login_that_appended_it(server: Server, schema: str) -> None:
    alice = _clerk_session(server, schema, server.alice)
    bob = _clerk_session(server, schema, server.bob)
    try:
        account = alice.open_account("cust-1", "100")
        bob.deposit(account, "5")
        other = bob.open_account("cust-2")
        alice.transfer(account, other, "20")
        note = NewEvent("note.added", {}, {"clerkId": server.alice})
        appended = alice.store.append("note-x", [note], 0)
        assert [e.db_role for e in appended.events] == [server.alice]  # the append's answer too
        for event in bob.store.read_stream(account):
            assert event.db_role in {server.alice, server.bob}
    finally:
        alice.store.close()
        bob.store.close()
    recorded = _roles_by_event(server, schema)
    assert {role for _, role in recorded} == {server.alice, server.bob}
    assert all(clerk == role for clerk, role in recorded)  # each clerk worked as their login


def test_a_client_cannot_forge_the_recorded_role(server: Server, schema: str) -> None:
    with psycopg.connect(server.url(server.alice, schema=schema), autocommit=True) as alice:
        _raw_insert(alice, server.alice, db_role=server.bob)  # claims to be bob
        _raw_insert(alice, server.alice, db_role=None)
        with pytest.raises(pg_errors.InsufficientPrivilege):
            alice.execute("UPDATE bank_events SET db_role = %s", (server.bob,))
    with psycopg.connect(server.url(schema=schema), autocommit=True) as owner:
        _raw_insert(owner, "someone", db_role=server.alice)  # even the owner cannot
        with pytest.raises(pg_errors.RaiseException, match="append-only"):
            owner.execute("UPDATE bank_events SET db_role = %s", (server.alice,))
    assert [role for _, role in _roles_by_event(server, schema)] == [
        server.alice,
        server.alice,
        server.owner,
    ]


def test_a_store_deployed_before_identity_keeps_working_and_deploy_upgrades_it(
    server: Server, schema: str
) -> None:
    with psycopg.connect(server.url(schema=schema), autocommit=True) as owner:
        owner.execute(f"DROP TRIGGER {ROLE_TRIGGER} ON bank_events")
        owner.execute(f"DROP FUNCTION {ROLE_FUNCTION}()")
        owner.execute(
            "ALTER TABLE bank_events DROP COLUMN db_role"
        )  # as an earlier version left it
    bank = _clerk_session(server, schema, server.alice)
    try:
        account = bank.open_account("cust-1", "10")
        assert [e.db_role for e in bank.store.read_stream(account)] == [None]
    finally:
        bank.store.close()
    old = PostgresEventStore(server.url(schema=schema), read_only=True)
    try:
        ((problem, text),) = old.self_check()
    finally:
        old.close()
    assert not problem  # a notice: not deployed yet, nothing undone
    assert "do not record the database role yet" in text

    upgraded = {what: outcome for outcome, what in deploy_postgres(server.url(schema=schema))}
    assert [what for what, outcome in upgraded.items() if outcome == "created"] == [
        next(what for what in upgraded if "column db_role" in what),
        next(what for what in upgraded if ROLE_TRIGGER in what),
    ]
    bank = _clerk_session(server, schema, server.bob)
    try:
        bank.deposit(account, "1")
    finally:
        bank.store.close()
    # Earlier events stay "before identity"; the deploying owner's role is on none of them.
    assert [role for _, role in _roles_by_event(server, schema)][-2:] == [None, server.bob]
    assert None in [role for _, role in _roles_by_event(server, schema)][:-1]
    assert server.owner not in [role for _, role in _roles_by_event(server, schema)]


def test_verify_names_a_removed_role_trigger(server: Server, schema: str) -> None:
    with psycopg.connect(server.url(schema=schema), autocommit=True) as owner:
        owner.execute(f"ALTER TABLE bank_events DISABLE TRIGGER {ROLE_TRIGGER}")
    checked = PostgresEventStore(server.url(schema=schema), read_only=True)
    try:
        ((problem, text),) = checked.self_check()
    finally:
        checked.close()
    assert problem
    assert ROLE_TRIGGER in text
    redeployed = {what: outcome for outcome, what in deploy_postgres(server.url(schema=schema))}
    assert redeployed[next(what for what in redeployed if ROLE_TRIGGER in what)] == "created"


# ── strict identity ───────────────────────────────────────────────────────────────────────


def test_strict_identity_refuses_a_clerk_id_that_is_not_the_login(
    server: Server, schema: str
) -> None:
    url = server.url(schema=schema)
    turned_on = {what: outcome for outcome, what in deploy_postgres(url, strict_identity=True)}
    assert turned_on[next(what for what in turned_on if "strict identity" in what)] == "created"
    honest = _clerk_session(server, schema, server.alice)
    posing = _clerk_session(server, schema, server.alice, clerk=server.bob)
    try:
        account = honest.open_account("cust-1", "100")
        head = honest.store.head_position()
        with pytest.raises(IdentityMismatchError) as refused:
            posing.deposit(account, "5")
        assert refused.value.login == server.alice
        assert refused.value.clerk_id == server.bob
        message = str(refused.value)
        assert f"your own database login ('{server.alice}')" in message
        assert f"the clerk id '{server.bob}'" in message
        assert "Nothing was recorded" in message
        assert posing.store.head_position() == head  # nothing written, claim included
        assert honest.deposit(account, "5") == 105
    finally:
        honest.store.close()
        posing.store.close()
    with (
        psycopg.connect(server.url(server.bob, schema=schema), autocommit=True) as bob,
        pytest.raises(pg_errors.InsufficientPrivilege, match="strict identity"),
    ):
        _raw_insert(bob, server.alice)  # by hand, past the application: refused the same
    assert {(clerk, role) for clerk, role in _roles_by_event(server, schema)} == {
        (server.alice, server.alice)
    }


def test_strict_identity_exempts_the_tables_owner(server: Server, schema: str) -> None:
    deploy_postgres(server.url(schema=schema), strict_identity=True)
    store = open_store(server.url(schema=schema))
    try:
        account = BankService(store, clerk_id="night-batch").open_account("cust-1", "1")
    finally:
        store.close()
    # Exempt, since the owner could drop the guard anyway; but the record says who it was.
    assert _roles_by_event(server, schema)[-1] == ("night-batch", server.owner)
    assert account


def test_an_event_naming_no_clerk_is_refused_under_strict_identity(
    server: Server, schema: str
) -> None:
    deploy_postgres(server.url(schema=schema), strict_identity=True)
    store = open_store(server.url(server.bob, schema=schema))
    try:
        with pytest.raises(IdentityMismatchError, match="no clerk id"):
            store.append("note-1", [NewEvent("note.added", {})], 0)
        store.append("note-1", [NewEvent("note.added", {}, {"clerkId": server.bob})], 0)
    finally:
        store.close()


def test_a_plain_deploy_keeps_strict_identity_and_only_the_flag_removes_it(
    server: Server, schema: str
) -> None:
    url = server.url(schema=schema)
    deploy_postgres(url, strict_identity=True)
    kept = deploy_postgres(url)
    assert {outcome for outcome, _ in kept} == {"unchanged"}
    assert any("strict identity" in what and "kept" in what for _, what in kept)
    assert _strict_refuses(server, schema)

    planned = deploy_postgres(url, strict_identity=False, dry_run=True)
    assert [o for o, what in planned if "strict identity" in what] == ["would remove"]
    assert _strict_refuses(server, schema)
    removed = deploy_postgres(url, strict_identity=False)
    assert [o for o, what in removed if "strict identity" in what] == ["removed"]
    assert not _strict_refuses(server, schema)
    again = deploy_postgres(url, strict_identity=False)
    assert {outcome for outcome, _ in again} == {"unchanged"}


def _strict_refuses(server: Server, schema: str) -> bool:
    store = open_store(server.url(server.alice, schema=schema))
    try:
        store.append("note-x", [NewEvent("note.added", {}, {"clerkId": "not-alice"})], ANY)
    except IdentityMismatchError:
        return True
    finally:
        store.close()
    return False


def test_verify_names_a_disabled_strict_guard(server: Server, schema: str) -> None:
    deploy_postgres(server.url(schema=schema), strict_identity=True)
    with psycopg.connect(server.url(schema=schema), autocommit=True) as owner:
        owner.execute(f"ALTER TABLE bank_events DISABLE TRIGGER {STRICT_TRIGGER}")
    checked = PostgresEventStore(server.url(schema=schema), read_only=True)
    try:
        ((problem, text),) = checked.self_check()
    finally:
        checked.close()
    assert problem
    assert STRICT_TRIGGER in text
    assert not _strict_refuses(server, schema)
    deploy_postgres(server.url(schema=schema))  # a plain deploy repairs the guard it finds
    assert _strict_refuses(server, schema)


# ── the clerks' privileges ────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE bank_events SET data = '{}'",
        "UPDATE bank_events SET db_role = 'someone'",
        "DELETE FROM bank_events",
        "TRUNCATE bank_events",
        f"DROP TRIGGER {ROLE_TRIGGER} ON bank_events",
        f"ALTER TABLE bank_events DISABLE TRIGGER {STRICT_TRIGGER}",
        *(f"DROP TRIGGER {name} ON bank_events" for name in GUARD_TRIGGERS),
        "ALTER TABLE bank_events DROP COLUMN db_role",
        f"CREATE OR REPLACE FUNCTION {ROLE_FUNCTION}() RETURNS trigger LANGUAGE plpgsql "
        "AS $$ BEGIN RETURN NEW; END $$",
    ],
)
def test_a_clerk_may_not_change_remove_or_unguard_events(
    server: Server, schema: str, statement: str
) -> None:
    deploy_postgres(server.url(schema=schema), strict_identity=True)
    bank = _clerk_session(server, schema, server.alice)
    try:
        bank.open_account("cust-1", "10", command_id="open-1")
    finally:
        bank.store.close()
    before = _roles_by_event(server, schema)
    with (
        psycopg.connect(server.url(server.bob, schema=schema), autocommit=True) as bob,
        pytest.raises((pg_errors.InsufficientPrivilege, pg_errors.DuplicateFunction)),
    ):
        bob.execute(statement)
    assert _roles_by_event(server, schema) == before == [(server.alice, server.alice)] * 2


def test_the_clerks_role_has_exactly_what_clerks_need(server: Server, schema: str) -> None:
    with psycopg.connect(server.url(schema=schema), autocommit=True) as owner:
        granted = {
            privilege
            for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES")
            if owner.execute(
                "SELECT has_table_privilege('bank_clerk', 'bank_events', %s)", (privilege,)
            ).fetchone()[0]  # type: ignore[index]
        }
        create = owner.execute(
            "SELECT has_schema_privilege('bank_clerk', current_schema(), 'CREATE')"
        ).fetchone()
    assert granted == {"SELECT", "INSERT"}
    assert create == (False,)


# ── roles are per server ──────────────────────────────────────────────────────────────────


def test_a_second_database_on_the_server_reuses_the_role_and_the_logins(server: Server) -> None:
    with fresh_database("bank_identity_second") as second:
        url = url_for(second)
        steps = {what: outcome for outcome, what in deploy_postgres(url, strict_identity=True)}
        assert steps[next(what for what in steps if "group role" in what)] == "unchanged"
        assert {"created"} == {o for w, o in steps.items() if "group role" not in w}
        store = open_store(url_for(second, server.bob))
        try:
            account = BankService(store, clerk_id=server.bob).open_account("cust-1", "3")
            assert {e.db_role for e in store.read_stream(account)} == {server.bob}
        finally:
            store.close()
        assert {o for o, _ in deploy_postgres(url)} == {"unchanged"}  # and again: nothing to do


def test_a_login_outside_the_clerks_role_is_told_what_it_lacks(server: Server, schema: str) -> None:
    with clerk_logins(1) as (stranger,):
        with psycopg.connect(server.url(), autocommit=True) as owner:
            owner.execute(f"REVOKE bank_clerk FROM {stranger}")
        with pytest.raises(EventStoreError, match=f"GRANT bank_clerk TO {stranger}"):
            open_store(server.url(stranger, schema=schema))
