"""Snapshot stores: a directory of atomically replaced files, or a dict for tests.

A snapshot file is one header line, then the JSON body::

    bank-desktop-snapshot 2 sha256=<hex digest of the body> bytes=<length of the body>
    {"name": ..., "version": ..., "checkpoint": ..., "checkpointEventId": ...,
     "storeIdentity": ..., "state": ...}

The digest catches what atomic replacement cannot: a file edited by hand, a flipped bit, a copy
cut short. Such a file is refused with :class:`SnapshotDamagedError`, never half-trusted. (It is
not a signature: whoever may write the data folder may also write the store itself; what the
snapshot claims is checked against the store by its reader.) A file without the header was
written by an earlier version, which kept no digest: it is ignored, as if there were none.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from pathlib import Path
from typing import Any, Final

from bank_desktop.eventstore.errors import SnapshotDamagedError, StoreUnavailableError
from bank_desktop.eventstore.exact_json import decode_json, encode_json_bytes
from bank_desktop.eventstore.port import Snapshot
from bank_desktop.private_files import make_private_dirs, write_atomically

_log = logging.getLogger(__name__)

#: The first word of every snapshot file this version writes, and its format number.
MAGIC: Final = b"bank-desktop-snapshot"
FORMAT: Final = 2
_HEADER: Final = re.compile(rb"bank-desktop-snapshot 2 sha256=([0-9a-f]{64}) bytes=([0-9]{1,12})")


def check_snapshot_name(name: str) -> str:
    if (
        not isinstance(name, str)
        or not name.replace("-", "").replace("_", "").isascii()
        or not (name.replace("-", "").replace("_", "").isalnum())
    ):
        raise ValueError(f"Snapshot name {name!r} must be letters, digits, '-' or '_'.")
    return name


class FileSnapshotStore:
    """One JSON file per projection, replaced by write-fsync-rename so a crash never tears it."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self._directory = Path(directory)

    @property
    def directory(self) -> Path:
        return self._directory

    def _file(self, name: str) -> Path:
        return self._directory / f"{check_snapshot_name(name)}.snapshot.json"

    def save(self, snapshot: Snapshot) -> None:
        target = self._file(snapshot.name)
        body = encode_json_bytes(  # our own projection rows, not payloads from outside
            {
                "name": snapshot.name,
                "version": snapshot.version,
                "checkpoint": snapshot.checkpoint,
                "checkpointEventId": snapshot.checkpoint_event_id,
                "storeIdentity": snapshot.store_identity,
                "state": snapshot.state,
            }
        )
        header = (
            MAGIC
            + f" {FORMAT} sha256={hashlib.sha256(body).hexdigest()} bytes={len(body)}\n".encode()
        )
        try:
            make_private_dirs(self._directory)
            write_atomically(target, header, body)
        except OSError as exc:
            raise StoreUnavailableError(
                f"Cannot save the {snapshot.name} snapshot in {self._directory}: {exc.strerror}."
            ) from exc

    def load(self, name: str) -> Snapshot | None:
        path = self._file(name)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            _log.warning("Cannot read snapshot %s: %s", path, exc)
            return None
        if raw.startswith(b"{"):
            _log.info("Ignoring snapshot %s: written by an earlier version, without a digest", path)
            return None
        header, _, body = raw.partition(b"\n")
        match = _HEADER.fullmatch(header)
        if match is None:
            raise SnapshotDamagedError(f"The snapshot {path} is damaged: its header is unreadable.")
        if len(body) != int(match[2]):
            raise SnapshotDamagedError(
                f"The snapshot {path} is damaged: it holds {len(body):,} bytes where its header "
                f"says {int(match[2]):,} (cut short or added to)."
            )
        if hashlib.sha256(body).hexdigest().encode() != match[1]:
            raise SnapshotDamagedError(
                f"The snapshot {path} failed its integrity check: its content does not match "
                "its digest (edited or damaged)."
            )
        try:
            decoded: Any = decode_json(body)
            identity = decoded.get("storeIdentity")
            event_id = decoded.get("checkpointEventId")
            if not (
                type(decoded["name"]) is str
                and type(decoded["version"]) is int
                and type(decoded["checkpoint"]) is int
                and (identity is None or type(identity) is str)
                and (event_id is None or type(event_id) is str)
            ):
                raise TypeError("a header field has the wrong type")
            return Snapshot(
                name=decoded["name"],
                version=decoded["version"],
                checkpoint=decoded["checkpoint"],
                checkpoint_event_id=event_id,
                state=decoded["state"],
                store_identity=identity,
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise SnapshotDamagedError(f"The snapshot {path} is unreadable: {exc}.") from exc


class MemorySnapshotStore:
    """Snapshots in a dict; for ``memory://`` stores and tests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snapshots: dict[str, tuple[Snapshot, bytes]] = {}

    def save(self, snapshot: Snapshot) -> None:
        # Stored as JSON text and decoded on every load, like a file: neither the saver nor
        # a loader can change what the next load returns by mutating shared objects.
        body = encode_json_bytes({"state": snapshot.state})
        with self._lock:
            self._snapshots[check_snapshot_name(snapshot.name)] = (snapshot, body)

    def load(self, name: str) -> Snapshot | None:
        with self._lock:
            entry = self._snapshots.get(check_snapshot_name(name))
        if entry is None:
            return None
        snapshot, body = entry
        return Snapshot(
            snapshot.name,
            snapshot.version,
            snapshot.checkpoint,
            snapshot.checkpoint_event_id,
            decode_json(body)["state"],
            snapshot.store_identity,
        )
