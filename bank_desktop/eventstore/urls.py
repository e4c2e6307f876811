"""Store URLs: the one place that picks an adapter, and the masking that keeps secrets out of logs.

Supported: ``memory://`` and ``sqlite:///absolute/path.db`` (or ``sqlite:relative/path.db``,
``sqlite:~/bank.db``). Adapters are imported only when their scheme is used, so a desk that
never talks to a server never loads a network driver.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from bank_desktop.eventstore.errors import StoreConfigError
from bank_desktop.eventstore.port import EventStore, SnapshotStore

SUPPORTED = (
    "memory://, sqlite:///absolute/path/bank.db, postgresql://user@host:5432/database, "
    "deltabase+https://host/event-store"
)
_DELTABASE = ("deltabase", "deltabase+http", "deltabase+https")
_SECRET_QUERY = re.compile(
    r"(?i)((?:api[_-]?key|apikey|key|token|auth[_-]?token|password|secret)=)[^&#]+"
)


_BARE_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^:@/?#]+@")
_USERINFO = re.compile(r"^(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:@/?#]*):(?P<password>.*)@")


def redact_url(url: str) -> str:
    """The URL with passwords and keys replaced by ``***``: safe to log and to show.

    Works on the raw text rather than a URL parser, because a password with an unescaped
    ``#``, ``?`` or ``/`` fools parsers into showing it. When in doubt it masks too much
    (everything up to the last ``@``), never too little.
    """
    masked = _USERINFO.sub(lambda m: f"{m['head']}:***@", url, count=1)
    if masked.lower().startswith("deltabase"):  # there a bare user part is the API key
        masked = _BARE_USERINFO.sub(r"\1***@", masked, count=1)
    return _SECRET_QUERY.sub(r"\1***", masked)


def sqlite_path(url: str) -> Path:
    """The file a ``sqlite:`` URL names."""
    rest = url[len("sqlite:") :]
    if "?" in rest or "#" in rest:
        raise StoreConfigError(f"SQLite URLs take no options: {redact_url(url)}")
    if rest.startswith("//"):
        parts = urlsplit(url)
        if parts.netloc:
            raise StoreConfigError(
                f"SQLite URL {redact_url(url)} names a host; use sqlite:///absolute/path.db"
            )
        # sqlite:///abs/path.db; the SQLAlchemy spelling sqlite:////abs/path.db works too
        raw = "/" + unquote(parts.path).lstrip("/")
    else:
        raw = unquote(rest)
    if not raw or raw.endswith("/"):
        raise StoreConfigError(f"SQLite URL {redact_url(url)} names no file.")
    return Path(os.path.expanduser(raw))


def open_store(url: str) -> EventStore:
    """Open the event store a URL names; raises StoreConfigError for anything unsupported."""
    if not isinstance(url, str) or not url.strip():
        raise StoreConfigError(f"No store URL given; supported: {SUPPORTED}")
    url = url.strip()
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme == "memory":
        from bank_desktop.eventstore.memory import MemoryEventStore

        return MemoryEventStore()
    if scheme == "sqlite":
        from bank_desktop.eventstore.sqlite import SqliteEventStore

        return SqliteEventStore(sqlite_path(url))
    if scheme in ("postgresql", "postgres"):
        from bank_desktop.eventstore.postgres import PostgresEventStore

        return PostgresEventStore(url)
    if scheme in _DELTABASE:
        from bank_desktop.eventstore.deltabase import open_deltabase

        return open_deltabase(url)
    raise StoreConfigError(f"Unsupported store URL {redact_url(url)!r}; supported: {SUPPORTED}")


def prepare_store(url: str) -> tuple[EventStore, bool]:
    """Open the store a URL names, creating its schema if needed (``bank-desktop deploy``).

    Returns the store and whether anything was created. SQLite files and memory stores
    prepare themselves on open; PostgreSQL gets its tables and index here.
    """
    scheme = url.strip().split(":", 1)[0].lower() if ":" in url else ""
    if scheme in ("postgresql", "postgres"):
        from bank_desktop.eventstore.postgres import PostgresEventStore

        store = PostgresEventStore(url.strip(), check_schema=False)
        try:
            created = store.prepare_schema()
        except BaseException:
            store.close()
            raise
        return store, created
    if scheme in _DELTABASE:
        from bank_desktop.eventstore.deltabase_deploy import prepare_deltabase

        return prepare_deltabase(url.strip())
    if scheme == "sqlite":
        existed = sqlite_path(url.strip()).exists()
        return open_store(url), not existed
    return open_store(url), False


def open_snapshot_store(store: EventStore, base_directory: Path) -> SnapshotStore:
    """Where projections of ``store`` keep snapshots: a folder per store under ``base``.

    Keyed by the store's own normalised URL (an absolute path for SQLite), so two spellings
    of one file share their snapshots and a relative path does not depend on the directory
    the app was started from.
    """
    from bank_desktop.eventstore.snapshots import FileSnapshotStore, MemorySnapshotStore

    if store.url.startswith("memory:"):
        return MemorySnapshotStore()
    key = hashlib.sha256(redact_url(store.url).encode()).hexdigest()[:16]
    return FileSnapshotStore(base_directory / "projections" / key)
