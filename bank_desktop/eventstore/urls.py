"""Store URLs: the one place that picks an adapter, and the masking that keeps secrets out of logs.

Supported: ``memory://``, ``sqlite:///absolute/path.db`` (or ``sqlite:relative/path.db``,
``sqlite:~/bank.db``), ``postgresql://…`` and ``deltabase+http(s)://…``. Adapters are imported
only when their scheme is used, so a desk that never talks to a server never loads a network
driver. Entry points open stores with :func:`open_known_store` (it checks the store is the one
this computer used before) and say where snapshots go with :func:`open_snapshot_store`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from bank_desktop.eventstore.errors import StoreConfigError
from bank_desktop.eventstore.port import EventStore, SnapshotStore, StoreWithNotices
from bank_desktop.private_files import make_private

if TYPE_CHECKING:
    from bank_desktop.eventstore.known_stores import KnownStores

_log = logging.getLogger(__name__)

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


def open_store_for_verification(url: str) -> EventStore:
    """Open the store a URL names for ``bank-desktop verify``: read-only, never created, and
    without the refusals of a normal open, so that a damaged or tampered store can still be
    read and named; nothing is written to it. See ``SqliteEventStore(verification=True)``."""
    if not isinstance(url, str) or not url.strip():
        raise StoreConfigError(f"No store URL given; supported: {SUPPORTED}")
    text = url.strip()
    scheme = text.split(":", 1)[0].lower() if ":" in text else ""
    if scheme == "sqlite":
        from bank_desktop.eventstore.sqlite import SqliteEventStore

        return SqliteEventStore(sqlite_path(text), verification=True)
    if scheme in ("postgresql", "postgres"):
        from bank_desktop.eventstore.postgres import PostgresEventStore

        return PostgresEventStore(text, read_only=True)
    return open_store(text)  # memory:// and DeltaBase: reading never writes there


def known_store_problem(store: EventStore, data_directory: Path) -> str | None:
    """What this computer remembers of ``store`` that it contradicts (emptied, replaced, gone
    backwards, rewritten at the position last seen), or None. Nothing is recorded or changed."""
    from bank_desktop.eventstore.errors import StoreRegressedError
    from bank_desktop.eventstore.known_stores import KnownStores

    if store.url.startswith("memory:") or not data_directory.exists():
        return None
    try:
        KnownStores(data_directory).check(store.url, store)
    except StoreRegressedError as exc:
        return str(exc).split(" Nothing was done.", 1)[0]
    return None


def open_known_store(
    url: str,
    data_directory: Path,
    *,
    accept_reset: bool = False,
    notify: Callable[[str], None] | None = None,
) -> EventStore:
    """Open the store a URL names, after checking it is the one this computer used before.

    The application's entry points (the CLI, ``serve``, the window) open stores this way:
    a store found emptied, missing, replaced or rolled back raises StoreRegressedError, unless
    ``accept_reset`` (the clerk's explicit ``--accept-store-reset``) forgets what was seen;
    what was forgotten is said through ``notify`` (default: a logged warning).
    See :mod:`bank_desktop.eventstore.known_stores`.
    """
    say = notify or (lambda text: _log.warning("%s", text))
    from bank_desktop.eventstore.known_stores import KnownStores

    text = url.strip() if isinstance(url, str) else url
    scheme = text.split(":", 1)[0].lower() if isinstance(text, str) and ":" in text else ""
    if scheme == "memory":
        return open_store(url)
    known = KnownStores(data_directory)
    if scheme == "sqlite":  # before opening: opening creates a missing file
        path = sqlite_path(text).absolute()
        if accept_reset:
            _forget(known, f"sqlite://{path}", say)
        else:
            known.check_file(f"sqlite://{path}", path)
    store = open_store(url)
    try:
        if accept_reset:
            _forget(known, store.url, say)
        else:
            known.check(store.url, store)
        known.remember(store.url, store, _shown(store))
    except BaseException:
        store.close()
        raise
    return store


def remember_store(store: EventStore, data_directory: Path) -> None:
    """Record how far ``store`` has got (call it before closing a store opened with
    :func:`open_known_store`); best effort: a store that fails now is not remembered."""
    from bank_desktop.eventstore.errors import EventStoreError
    from bank_desktop.eventstore.known_stores import KnownStores

    if store.url.startswith("memory:"):
        return
    try:
        KnownStores(data_directory).remember(store.url, store, _shown(store))
    except EventStoreError as exc:
        _log.info("Could not record the position of %s: %s", store.url, exc)


def _shown(store: EventStore) -> str:
    url = store.url
    return url[len("sqlite://") :] if url.startswith("sqlite:///") else url


def _forget(known: KnownStores, key: str, say: Callable[[str], None]) -> None:
    forgotten = known.forget(key)
    if forgotten is not None and forgotten.position > 0:
        say(
            f"As asked (--accept-store-reset), this computer forgot that it last saw "
            f"{forgotten.position:,} event(s) in {forgotten.shown} ({forgotten.when}); the "
            "store is taken as it is now."
        )


def store_notices(store: EventStore) -> list[str]:
    """What the clerk must be told about ``store`` (read-only, damaged); empty when all is well."""
    return store.notices() if isinstance(store, StoreWithNotices) else []


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
        from bank_desktop.eventstore.deltabase import prepare_deltabase

        return prepare_deltabase(url.strip())
    if scheme == "sqlite":
        existed = sqlite_path(url.strip()).exists()
        return open_store(url), not existed
    return open_store(url), False


def deploy_postgres(
    url: str, *, dry_run: bool = False, strict_identity: bool | None = None
) -> list[tuple[str, str]]:
    """``bank-desktop deploy`` on a PostgreSQL store: each step as (outcome, what), outcome
    being "created", "removed", "unchanged" or (``dry_run``) "would create" / "would remove".
    ``strict_identity``: True installs the guard tying clerk ids to logins, False removes it,
    None keeps whatever the store has."""
    from bank_desktop.eventstore.postgres import PostgresEventStore

    store = PostgresEventStore(url.strip(), check_schema=False)
    try:
        steps = store.deploy(dry_run=dry_run, strict_identity=strict_identity)
        return [(step.outcome, step.what) for step in steps]
    finally:
        store.close()


def is_postgres_url(url: str) -> bool:
    return url.strip().split(":", 1)[0].lower() in ("postgresql", "postgres")


def postgres_login(url: str) -> str | None:
    """The database login a PostgreSQL URL names (``postgresql://alice@host/bank`` or
    ``?user=alice``, the latter winning as in libpq); None when it names none (libpq then
    uses ``PGUSER``, else the operating-system user). Read from the text alone: no driver,
    no connection. That login is the session's ``session_user``, which every event on the
    store records and strict identity checks the clerk id against."""
    if not is_postgres_url(url):
        return None
    try:
        parts = urlsplit(url.strip())
        netloc_user = parts.username
    except ValueError:  # a malformed URL: opening it says what is wrong
        return None
    for pair in parts.query.split("&"):
        key, _, value = pair.partition("=")
        if unquote(key) == "user" and value:
            return unquote(value)
    return unquote(netloc_user) if netloc_user else None


def open_snapshot_store(store: EventStore, base_directory: Path) -> SnapshotStore:
    """Where projections of ``store`` keep snapshots: a folder per store under ``base``.

    Keyed by the store's own normalised URL (an absolute path for SQLite), so two spellings
    of one file share their snapshots and a relative path does not depend on the directory
    the app was started from.
    """
    from bank_desktop.eventstore.snapshots import FileSnapshotStore, MemorySnapshotStore

    if store.url.startswith("memory:"):
        return MemorySnapshotStore()
    make_private(base_directory)  # the application's own folder: an earlier version left it 0755
    key = hashlib.sha256(redact_url(store.url).encode()).hexdigest()[:16]
    return FileSnapshotStore(base_directory / "projections" / key)
