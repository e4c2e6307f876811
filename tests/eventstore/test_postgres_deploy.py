"""``deploy`` on PostgreSQL: append-only triggers, the clerks' role and its privileges, on two
databases of one server; clerks read and append and nothing else; the guards hold the owner
too, until dropped, and a verify of the store says so."""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import errors as pg_errors

from bank_desktop.application import BankService
from bank_desktop.eventstore import EventStoreError, deploy_postgres, open_store
from bank_desktop.eventstore.postgres import PostgresEventStore
from bank_desktop.eventstore.postgres_deploy import CLERK_ROLE
from tests.conftest import POSTGRES_SERVER


def _with_database(url: str, database: str, user: str | None = None) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc if user is None else f"{user}@{parts.netloc.split('@', 1)[-1]}"
    return urlunsplit((parts.scheme, netloc, f"/{database}", parts.query, ""))


@pytest.fixture
def two_databases() -> Iterator[tuple[str, str]]:
    """Two fresh databases on the test server: their URLs."""
    names = [f"bank_verify_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    with psycopg.connect(POSTGRES_SERVER, autocommit=True) as admin:
        for name in names:
            admin.execute(f"CREATE DATABASE {name}")
        try:
            yield (
                _with_database(POSTGRES_SERVER, names[0]),
                _with_database(POSTGRES_SERVER, names[1]),
            )
        finally:
            for name in names:
                admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def clerk_login() -> Iterator[str]:
    """A clerk's login role, as IT adds one (README): a member of the clerks' role."""
    name = f"clerk_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_SERVER, autocommit=True) as admin:
        deploy_postgres_role_exists(admin)
        admin.execute(f"CREATE ROLE {name} LOGIN IN ROLE {CLERK_ROLE}")
        try:
            yield name
        finally:
            admin.execute(f"DROP ROLE IF EXISTS {name}")


def deploy_postgres_role_exists(admin: psycopg.Connection) -> None:  # type: ignore[type-arg]
    """The clerks' role must exist before a login can join it (any deploy creates it)."""
    with contextlib.suppress(pg_errors.DuplicateObject):
        admin.execute(f"CREATE ROLE {CLERK_ROLE} NOLOGIN")


def test_two_databases_on_one_server_share_the_clerks_role(two_databases: tuple[str, str]) -> None:
    first, second = two_databases
    one = {what: outcome for outcome, what in deploy_postgres(first)}
    two = {what: outcome for outcome, what in deploy_postgres(second)}
    assert set(one) == set(two)
    role_step = next(what for what in one if "group role" in what)
    assert two[role_step] == "unchanged"  # the server's role, found and reused
    strict_step = next(what for what in one if "strict identity" in what)
    assert two[strict_step] == "unchanged"  # off, and left off: nothing asked for it
    made = [outcome for what, outcome in two.items() if what not in {role_step, strict_step}]
    assert made == ["created"] * 7
    again = deploy_postgres(first)
    assert {outcome for outcome, _ in again} == {"unchanged"}


def test_a_dry_run_changes_nothing(two_databases: tuple[str, str]) -> None:
    first, _ = two_databases
    planned = deploy_postgres(first, dry_run=True)
    assert "would create" in {outcome for outcome, _ in planned}
    assert [o for o, what in planned if "events table" in what] == ["would create"]
    assert [o for o, what in deploy_postgres(first) if "events table" in what] == ["created"]


def test_a_clerk_reads_and_appends_but_never_changes_or_removes(
    two_databases: tuple[str, str], clerk_login: str
) -> None:
    first, _ = two_databases
    deploy_postgres(first)
    as_clerk = _with_database(first, urlsplit(first).path.lstrip("/"), user=clerk_login)
    store = open_store(as_clerk)
    try:
        bank = BankService(store, clerk_id=clerk_login)
        account = bank.open_account("cust-1", "100")
        assert bank.deposit(account, "5") == 105
    finally:
        store.close()
    with psycopg.connect(as_clerk, autocommit=True) as clerk:
        for statement in (
            "UPDATE bank_events SET data = '{}'",
            "DELETE FROM bank_events",
            "TRUNCATE bank_events",
            "DROP TRIGGER bank_events_refuse_update_delete ON bank_events",
        ):
            with pytest.raises(pg_errors.InsufficientPrivilege):
                clerk.execute(statement)


def test_the_guards_hold_the_owner_until_dropped(two_databases: tuple[str, str]) -> None:
    first, _ = two_databases
    deploy_postgres(first)
    store = open_store(first)
    try:
        BankService(store).open_account("cust-1", "100")
    finally:
        store.close()
    with psycopg.connect(first, autocommit=True) as owner:
        for statement in (
            "UPDATE bank_events SET data = '{}'",
            "DELETE FROM bank_events",
            "TRUNCATE bank_events",
        ):
            with pytest.raises(pg_errors.RaiseException, match="append-only"):
                owner.execute(statement)
        owner.execute("ALTER TABLE bank_events DISABLE TRIGGER bank_events_refuse_update_delete")
        owner.execute("DROP TRIGGER bank_events_refuse_truncate ON bank_events")
    checked = PostgresEventStore(first, read_only=True)
    try:
        ((problem, text),) = checked.self_check()
    finally:
        checked.close()
    assert problem
    assert "bank_events_refuse_update_delete" in text
    assert "bank_events_refuse_truncate" in text
    repaired = {what: outcome for outcome, what in deploy_postgres(first)}
    assert repaired[next(w for w in repaired if "triggers" in w)] == "created"
    with psycopg.connect(first, autocommit=True) as owner, pytest.raises(pg_errors.RaiseException):
        owner.execute("DELETE FROM bank_events")


def test_a_read_only_store_cannot_write(two_databases: tuple[str, str]) -> None:
    first, _ = two_databases
    deploy_postgres(first)
    store = PostgresEventStore(first, read_only=True)
    try:
        assert store.self_check() == []
        with pytest.raises(EventStoreError, match="read-only"):
            BankService(store).open_account("cust-1", "1")
    finally:
        store.close()


def test_deploys_of_several_stores_of_one_database_at_once_all_succeed(
    two_databases: tuple[str, str],
) -> None:
    """Regression: two deploys granting on one database at the same moment made PostgreSQL
    fail one with "tuple concurrently updated"; deploys of a database now take turns."""
    first, _ = two_databases
    schemas = [f"s{index}" for index in range(4)]
    with psycopg.connect(first, autocommit=True) as admin:
        for schema in schemas:
            admin.execute(f"CREATE SCHEMA {schema}")
    failures: list[BaseException] = []
    start = threading.Barrier(len(schemas))

    def deploy_one(schema: str) -> None:
        try:
            start.wait()
            deploy_postgres(f"{first}?options=-csearch_path%3D{schema}")
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=deploy_one, args=(s,)) for s in schemas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    for schema in schemas:
        outcomes = deploy_postgres(f"{first}?options=-csearch_path%3D{schema}")
        assert {outcome for outcome, _ in outcomes} == {"unchanged"}
