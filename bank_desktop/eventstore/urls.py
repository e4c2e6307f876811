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

SUPPORTED = "memory://, sqlite:///absolute/path/bank.db"
_SECRET_QUERY = re.compile(r"(?i)((?:api[_-]?key|key|token|password|secret)=)[^&]+")


def redact_url(url: str) -> str:
    """The URL with passwords and keys replaced by ``***``: safe to log and to show."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid url>"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:***@{host}" if ":" in userinfo else f"{user}@{host}"
    query = _SECRET_QUERY.sub(r"\1***", parts.query)
    rebuilt = f"{parts.scheme}://{netloc}{parts.path}" if parts.scheme else url
    if parts.scheme == "sqlite" and not url.startswith("sqlite://"):
        rebuilt = url.split("?", 1)[0]
    return f"{rebuilt}?{query}" if query else rebuilt


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
    raise StoreConfigError(f"Unsupported store URL {redact_url(url)!r}; supported: {SUPPORTED}")


def open_snapshot_store(store_url: str, base_directory: Path) -> SnapshotStore:
    """Where projections of this store keep snapshots: a per-store folder under ``base``."""
    from bank_desktop.eventstore.snapshots import FileSnapshotStore, MemorySnapshotStore

    if store_url.strip().lower().startswith("memory:"):
        return MemorySnapshotStore()
    key = hashlib.sha256(redact_url(store_url.strip()).encode()).hexdigest()[:16]
    return FileSnapshotStore(base_directory / "projections" / key)
