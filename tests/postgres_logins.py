"""Real databases and real login roles on the test server, for identity tests.

Roles belong to the server, not to a database, so every name carries a fresh suffix and is
dropped afterwards: runs (and helpers running in parallel) never meet each other's logins.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import psycopg

from bank_desktop.eventstore import deploy_postgres
from bank_desktop.eventstore.postgres_deploy import CLERK_ROLE
from tests.conftest import POSTGRES_SERVER


def url_for(database: str, user: str | None = None, *, schema: str | None = None) -> str:
    """The test server's URL for ``database``, as ``user`` (default: the server's admin),
    with ``schema`` first on the search path."""
    parts = urlsplit(POSTGRES_SERVER)
    netloc = parts.netloc if user is None else f"{user}@{parts.netloc.split('@', 1)[-1]}"
    query = parts.query
    if schema is not None:
        query = "&".join(q for q in (query, f"options=-csearch_path%3D{schema}") if q)
    return urlunsplit((parts.scheme, netloc, f"/{database}", query, ""))


@dataclass(frozen=True, slots=True)
class Server:
    """A fresh database, deployed, and two clerks' logins in the clerks' role."""

    database: str
    alice: str
    bob: str
    owner: str  # the admin the tests connect as: the events table's owner

    def url(self, user: str | None = None, *, schema: str | None = None) -> str:
        return url_for(self.database, user, schema=schema)


@contextmanager
def fresh_database(prefix: str = "bank_identity") -> Iterator[str]:
    """A database of its own, dropped (connections and all) afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_SERVER, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f"CREATE DATABASE {name}")
        try:
            yield name
        finally:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextmanager
def clerk_logins(count: int) -> Iterator[list[str]]:
    """``count`` login roles in the clerks' role, as IT adds them (README), dropped after.
    The clerks' role must exist: a deploy creates it."""
    suffix = uuid.uuid4().hex[:8]
    names = [f"clerk_{chr(ord('a') + n)}_{suffix}" for n in range(count)]
    with psycopg.connect(POSTGRES_SERVER, autocommit=True, connect_timeout=5) as admin:
        try:
            for name in names:
                admin.execute(f"CREATE ROLE {name} LOGIN IN ROLE {CLERK_ROLE}")
            yield names
        finally:
            for name in names:
                admin.execute(f"DROP ROLE IF EXISTS {name}")


@contextmanager
def deployed_server() -> Iterator[Server]:
    """A fresh database deployed as its owner, and two clerks' logins."""
    with fresh_database() as database:
        deploy_postgres(url_for(database))
        with clerk_logins(2) as (alice, bob):
            owner = urlsplit(POSTGRES_SERVER).username or "postgres"
            yield Server(database, alice, bob, owner)
