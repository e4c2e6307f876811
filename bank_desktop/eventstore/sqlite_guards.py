"""Append-only guards of a SQLite store: triggers that refuse UPDATE and DELETE on its events.

The application only ever inserts. The triggers make that a property of the file: a tool or
a script that tries to change or remove an event fails with a message that says why. They do
not stop whoever owns the file (``DROP TRIGGER`` is one statement away): the hash chain is
what catches them, and ``bank-desktop verify`` reports guards found missing or altered.

A store gets its guards when it is created; a store of the previous schema (1, no guards) gets
them the first time this version opens it for writing, and its ``user_version`` becomes
:data:`GUARDED_VERSION`. A store of that version found *without* them had them removed: they
are put back, and the clerk is told.
"""

from __future__ import annotations

import sqlite3
from typing import Final

#: ``PRAGMA user_version`` of stores that carry the guards.
GUARDED_VERSION: Final = 2

#: Trigger name → the statement that creates it (compared as stored in ``sqlite_master``).
GUARDS: Final = {
    "events_refuse_update": (
        "CREATE TRIGGER events_refuse_update BEFORE UPDATE ON events BEGIN "
        "SELECT RAISE(ABORT, 'Bank Desktop events are append-only: UPDATE is refused'); END"
    ),
    "events_refuse_delete": (
        "CREATE TRIGGER events_refuse_delete BEFORE DELETE ON events BEGIN "
        "SELECT RAISE(ABORT, 'Bank Desktop events are append-only: DELETE is refused'); END"
    ),
}


def installed(conn: sqlite3.Connection) -> dict[str, str]:
    """The triggers on the events table: name → their SQL as stored."""
    return {
        str(name): str(sql)
        for name, sql in conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'events'"
        )
    }


def _same(stored: str, wanted: str) -> bool:
    return " ".join(stored.split()) == " ".join(wanted.split())


def missing(conn: sqlite3.Connection) -> list[str]:
    """Guards that are absent or not as written here (an altered body guards nothing)."""
    present = installed(conn)
    return [
        name for name, sql in GUARDS.items() if name not in present or not _same(present[name], sql)
    ]


def install(conn: sqlite3.Connection) -> list[str]:
    """(Re)create the absent or altered guards inside the caller's write transaction; returns
    their names."""
    absent = missing(conn)
    for name in absent:
        conn.execute(f"DROP TRIGGER IF EXISTS {name}")
        conn.execute(GUARDS[name])
    return absent


def findings(conn: sqlite3.Connection, version: int) -> list[tuple[bool, str]]:
    """What ``verify`` reports about the guards: (is it a problem, what)."""
    absent = missing(conn)
    if not absent:
        return []
    names = ", ".join(absent)
    if version < GUARDED_VERSION:
        return [
            (
                False,
                "the store has no append-only guards yet (it was written by an earlier "
                "version); the next time Bank Desktop opens it for writing it adds them",
            )
        ]
    return [
        (
            True,
            f"the append-only guards ({names}) are missing or altered: someone with write "
            "access to the file removed them, and could have changed events since",
        )
    ]
