"""Every driver error becomes the right store error: one table per driver (eventsourcing's
recorder tests do the same). No sqlite3, psycopg or httpx exception leaves an adapter, and the
class decides what a caller does: retry later (unavailable), fix the setup (configuration),
ask IT (damaged), or report (any other store error).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg import errors as pg_errors
from psycopg_pool import PoolTimeout

from bank_desktop.eventstore import (
    EventStoreError,
    StoreConfigError,
    StoreDamagedError,
    StoreReadOnlyError,
    StoreUnavailableError,
)
from bank_desktop.eventstore.deltabase import DeltaBaseSettings, build_client
from bank_desktop.eventstore.deltabase._http import DeltaBaseHttp
from bank_desktop.eventstore.postgres import PostgresEventStore
from bank_desktop.eventstore.postgres_guard import StalledError
from bank_desktop.eventstore.sqlite import SqliteEventStore


def _coded(exc: sqlite3.Error, code: int) -> sqlite3.Error:
    exc.sqlite_errorcode = code  # what the driver sets on errors it raises
    return exc


SQLITE: list[tuple[sqlite3.Error, type[EventStoreError]]] = [
    (sqlite3.OperationalError("database is locked"), StoreUnavailableError),
    (sqlite3.OperationalError("database table is busy"), StoreUnavailableError),
    (sqlite3.OperationalError("disk I/O error"), StoreUnavailableError),
    (
        _coded(sqlite3.OperationalError("attempt to write a readonly database"), 8),
        StoreReadOnlyError,
    ),
    (sqlite3.OperationalError("no such table: events"), StoreConfigError),
    (sqlite3.OperationalError("no such column: stream_id"), StoreConfigError),
    (sqlite3.IntegrityError("UNIQUE constraint failed"), EventStoreError),
    (sqlite3.DataError("string or blob too big"), EventStoreError),
    (sqlite3.InterfaceError("bad parameter"), EventStoreError),
    (sqlite3.ProgrammingError("misuse"), EventStoreError),
    (_coded(sqlite3.DatabaseError("database disk image is malformed"), 11), StoreDamagedError),
]


@pytest.mark.parametrize(("driver_error", "store_error"), SQLITE, ids=lambda v: repr(v)[:40])
def test_sqlite_errors_become_store_errors(
    tmp_path: Path, driver_error: sqlite3.Error, store_error: type[EventStoreError]
) -> None:
    store = SqliteEventStore(tmp_path / "bank.db")
    try:
        with pytest.raises(EventStoreError) as raised, store._translated("read events"):
            raise driver_error
    finally:
        store.close()

    assert type(raised.value) is store_error
    assert raised.value.__cause__ is driver_error


POSTGRES: list[tuple[Exception, type[EventStoreError]]] = [
    (PoolTimeout("no connection"), StoreUnavailableError),
    (StalledError(10.0), StoreUnavailableError),
    (psycopg.OperationalError("server closed the connection"), StoreUnavailableError),
    (pg_errors.QueryCanceled("statement timeout"), StoreUnavailableError),
    (pg_errors.UndefinedTable("bank_events"), StoreConfigError),
    (pg_errors.InvalidSchemaName("no schema"), StoreConfigError),
    (pg_errors.InsufficientPrivilege("denied"), StoreConfigError),
    (pg_errors.UniqueViolation("duplicate key"), EventStoreError),
    (psycopg.DataError("bad data"), EventStoreError),
]


@pytest.mark.parametrize(("driver_error", "store_error"), POSTGRES, ids=lambda v: repr(v)[:40])
def test_psycopg_errors_become_store_errors(
    postgres_url: str, driver_error: Exception, store_error: type[EventStoreError]
) -> None:
    store = PostgresEventStore(postgres_url, check_schema=False)
    try:
        with pytest.raises(EventStoreError) as raised, store._translated("read events"):
            raise driver_error
    finally:
        store.close()

    assert type(raised.value) is store_error


CONNECTING: list[tuple[str, type[EventStoreError]]] = [
    ('FATAL:  password authentication failed for user "teller"', StoreConfigError),
    ('FATAL:  database "bank" does not exist', StoreConfigError),
    ("FATAL:  the database system is starting up", StoreUnavailableError),
    ("FATAL:  sorry, too many clients already", StoreUnavailableError),
    ("connection timeout expired", StoreUnavailableError),
    ("connection is bad: invalid connection option", StoreConfigError),
]


@pytest.mark.parametrize(("text", "store_error"), CONNECTING)
def test_psycopg_connection_refusals_become_store_errors(
    postgres_url: str, text: str, store_error: type[EventStoreError]
) -> None:
    store = PostgresEventStore(postgres_url, check_schema=False)
    try:
        found = store._connect_failure(psycopg.OperationalError(text))
    finally:
        store.close()

    assert type(found) is store_error


def _raises(exc: Exception) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return handler


def _answers(status: int, body: bytes = b"{}") -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(status, content=body)


HTTPX: list[tuple[Callable[[httpx.Request], httpx.Response], type[EventStoreError]]] = [
    (_raises(httpx.ConnectError("refused")), StoreUnavailableError),
    (_raises(httpx.ConnectTimeout("slow")), StoreUnavailableError),
    (_raises(httpx.PoolTimeout("full")), StoreUnavailableError),
    (_raises(httpx.ReadTimeout("silent")), StoreUnavailableError),
    (_raises(httpx.WriteTimeout("stuck")), StoreUnavailableError),
    (_raises(httpx.RemoteProtocolError("dropped")), StoreUnavailableError),
    (_raises(httpx.ReadError("reset")), StoreUnavailableError),
    (_raises(httpx.UnsupportedProtocol("ftp")), StoreConfigError),
    (_answers(401), StoreConfigError),
    (_answers(403), StoreConfigError),
    (_answers(404), StoreConfigError),
    (_answers(302), StoreConfigError),
    (_answers(400), EventStoreError),
    (_answers(422), EventStoreError),
    (_answers(429), StoreUnavailableError),
    (_answers(503), StoreUnavailableError),
    (_answers(200, b"<html>not json</html>"), StoreUnavailableError),
]


@pytest.mark.parametrize(("handler", "store_error"), HTTPX)
def test_httpx_errors_and_statuses_become_store_errors(
    handler: Callable[[httpx.Request], httpx.Response], store_error: type[EventStoreError]
) -> None:
    settings = DeltaBaseSettings(max_attempts=1, backoff_initial=0.0, backoff_max=0.0)
    client = build_client(settings, transport=httpx.MockTransport(handler))
    http = DeltaBaseHttp(settings, client, sleep=lambda _: None)
    try:
        with pytest.raises(EventStoreError) as raised:
            http.read_json(http.store_path("events"), action="read events")
    finally:
        client.close()

    assert type(raised.value) is store_error
