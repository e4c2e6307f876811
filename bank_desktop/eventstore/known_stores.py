"""What this computer remembers of each store it used, so a lost store is noticed, not restarted.

An event store only grows. A store file truncated to 0 bytes, deleted, swapped for another or
restored from an older backup would otherwise open as "0 accounts, $0.00" (or as an older
bank) and take new deposits as if nothing had happened. So beside its snapshots and settings
the application keeps, per store, a small record: the store's identity (the id of its first
event, a random UUID) and the last position it saw with the id of the event there. Opening a
store compares it with the record (three indexed reads at any size):

- the store is empty, missing (SQLite: the file is gone or 0 bytes; checked *before* opening
  it, so nothing is created or written in its place), another store, shorter than the position
  seen, or holds another event there → :class:`StoreRegressedError`, naming the store and
  what was seen when, and telling the clerk how to say the change is intended;
- ``accept_reset=True`` (``--accept-store-reset``) forgets the record and starts afresh;
- a store never used before has no record: it is simply new (and created, as always).

The record moves forward after every use; several processes may update it at once (writes
are atomic replacements; the later one may keep a slightly smaller position, which only
makes the next check a little less strict). It is not a security boundary: whoever may
write the data folder may edit the record, as they may edit the store.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from bank_desktop.eventstore.errors import EventStoreError, StoreRegressedError
from bank_desktop.eventstore.exact_json import decode_json, encode_json, format_timestamp, utc_now
from bank_desktop.eventstore.port import EventStore
from bank_desktop.private_files import make_private, make_private_dirs, write_atomically

_log = logging.getLogger(__name__)

#: The command-line flag by which the clerk says a store change is intended.
RESET_FLAG: Final = "--accept-store-reset"
_HINT: Final = (
    f"Nothing was done. If this is really intended, run the same command again with "
    f"{RESET_FLAG} (for the window: start bank-desktop {RESET_FLAG}); this computer then "
    "forgets what it saw there."
)


@dataclass(frozen=True, slots=True)
class StoreRecord:
    """What was last seen of one store."""

    shown: str  #: the store as the clerk may see it (a path, or a URL without secrets)
    identity: str | None  #: the id of its first event (None while it was empty)
    position: int  #: the highest global position seen
    position_event_id: str | None  #: the id of the event at ``position``
    seen_at: str  #: when (ISO-8601 UTC)

    def to_json(self) -> dict[str, Any]:
        return {
            "store": self.shown,
            "identity": self.identity,
            "position": self.position,
            "positionEventId": self.position_event_id,
            "seenAt": self.seen_at,
        }

    @classmethod
    def from_json(cls, value: Any) -> StoreRecord:
        if not isinstance(value, dict):
            raise TypeError("not an object")
        position = value["position"]
        if type(position) is not int or position < 0:
            raise ValueError(f"position {position!r}")
        return cls(
            str(value["store"]),
            None if value.get("identity") is None else str(value["identity"]),
            position,
            None if value.get("positionEventId") is None else str(value["positionEventId"]),
            str(value.get("seenAt", "?")),
        )

    @property
    def when(self) -> str:
        return self.seen_at.replace("T", " ")[:16] + " UTC"


def _events(count: int) -> str:
    return f"{count:,} event{'' if count == 1 else 's'}"


class KnownStores:
    """The records of the stores used from this data folder (``<data dir>/stores``)."""

    def __init__(self, data_directory: Path) -> None:
        self._directory = data_directory / "stores"
        make_private(data_directory)  # the application's own folder (an earlier version: 0755)

    @property
    def directory(self) -> Path:
        return self._directory

    def _file(self, key: str) -> Path:
        return self._directory / f"{hashlib.sha256(key.encode()).hexdigest()[:16]}.json"

    def record(self, key: str) -> StoreRecord | None:
        """The record of the store ``key`` names (its URL as the store spells it)."""
        path = self._file(key)
        try:
            return StoreRecord.from_json(decode_json(path.read_bytes()))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            _log.warning("Ignoring the unreadable store record %s: %s", path, exc)
            return None

    # ── checks ────────────────────────────────────────────────────────────────────────────

    def check_file(self, key: str, path: Path) -> None:
        """Before a SQLite file is opened (and created if missing): a file this computer saw
        holding events must still be there, and not be empty."""
        record = self.record(key)
        if record is None or record.position == 0:
            return
        if not path.exists():
            raise StoreRegressedError(
                f"The store file {path} is missing, but this computer last saw "
                f"{_events(record.position)} in it ({record.when}). It was deleted or moved; "
                f"no new store was created in its place. Restore it from a backup, or check the "
                f"path. {_HINT}"
            )
        if path.is_file() and path.stat().st_size == 0:
            raise StoreRegressedError(
                f"The store file {path} is empty (0 bytes), but this computer last saw "
                f"{_events(record.position)} in it ({record.when}). It was emptied or "
                f"replaced. Restore it from a backup. {_HINT}"
            )

    def check(self, key: str, store: EventStore) -> None:
        """The store must be the one last seen, at or beyond the position last seen."""
        record = self.record(key)
        if record is None or record.position == 0:
            return
        seen = f"this computer last saw {_events(record.position)} in it ({record.when})"
        head = store.head_position()
        if head == 0:
            raise StoreRegressedError(
                f"The store {record.shown} is empty, but {seen}. It was emptied or replaced by "
                f"an empty one. Restore it from a backup. {_HINT}"
            )
        first = store.read_all(limit=1, with_metadata=False)
        if record.identity is not None and first and first[0].event_id != record.identity:
            raise StoreRegressedError(
                f"The store {record.shown} is another store than the one used there before "
                f"(its first event differs), {seen}. It was replaced. Put the original back. "
                f"{_HINT}"
            )
        if head < record.position:
            raise StoreRegressedError(
                f"The store {record.shown} went backwards: it holds {_events(head)}, but "
                f"{seen}; the events after position {head:,} are missing. It may have been "
                f"restored from an older backup: restore the newest one. {_HINT}"
            )
        at = store.read_all(after=record.position - 1, limit=1, with_metadata=False)
        if record.position_event_id is not None and (
            not at or at[0].event_id != record.position_event_id
        ):
            raise StoreRegressedError(
                f"The store {record.shown} no longer holds the event this computer saw at "
                f"position {record.position:,} ({record.when}): its history was rewritten or "
                f"it was replaced. {_HINT}"
            )

    # ── updates ───────────────────────────────────────────────────────────────────────────

    def remember(self, key: str, store: EventStore, shown: str) -> None:
        """Record the store's identity and current end; never moves the record backwards.
        Best effort: a folder that cannot be written costs only the check, with a warning."""
        previous = self.record(key)
        head = store.head_position()
        if (
            previous is not None
            and previous.position >= head
            and (previous.identity is not None or head == 0)
        ):
            return  # nothing new since (an event store never shrinks by itself)
        first = store.read_all(limit=1, with_metadata=False) if head else []
        at = store.read_all(after=head - 1, limit=1, with_metadata=False) if head else []
        self._write(
            key,
            StoreRecord(
                shown,
                first[0].event_id if first else None,
                at[0].global_position if at else 0,
                at[0].event_id if at else None,
                format_timestamp(utc_now()),
            ),
        )

    def forget(self, key: str) -> StoreRecord | None:
        """Drop the record (the clerk accepted a reset); returns what was forgotten."""
        record = self.record(key)
        try:
            self._file(key).unlink(missing_ok=True)
        except OSError as exc:
            raise EventStoreError(f"Cannot forget the store record: {exc.strerror}.") from exc
        return record

    def _write(self, key: str, record: StoreRecord) -> None:
        try:
            make_private_dirs(self._directory)
            write_atomically(self._file(key), encode_json(record.to_json()).encode())
        except OSError as exc:
            _log.warning(
                "Cannot remember the store %s in %s (%s): a store that is emptied or replaced "
                "later will not be noticed",
                record.shown,
                self._directory,
                exc.strerror or exc,
            )
