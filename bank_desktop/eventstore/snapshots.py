"""Snapshot stores: a directory of atomically replaced files, or a dict for tests."""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from bank_desktop.eventstore.codec import decode_json, encode_json
from bank_desktop.eventstore.errors import StoreUnavailableError
from bank_desktop.eventstore.port import Snapshot
from bank_desktop.eventstore.private_files import make_private_dirs

_log = logging.getLogger(__name__)


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
        body = encode_json(
            {
                "name": snapshot.name,
                "version": snapshot.version,
                "checkpoint": snapshot.checkpoint,
                "checkpointEventId": snapshot.checkpoint_event_id,
                "state": snapshot.state,
            },
            checked=False,  # our own projection rows, not payloads from outside
        )
        try:
            make_private_dirs(self._directory)
            fd, tmp = tempfile.mkstemp(prefix=f".{snapshot.name}.", dir=self._directory)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(body)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            dir_fd = os.open(self._directory, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
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
        try:
            body: Any = decode_json(raw)
            return Snapshot(
                name=str(body["name"]),
                version=int(body["version"]),
                checkpoint=int(body["checkpoint"]),
                checkpoint_event_id=body.get("checkpointEventId"),
                state=body["state"],
            )
        except (ValueError, KeyError, TypeError) as exc:
            _log.warning("Ignoring damaged snapshot %s: %s", path, exc)
            return None


class MemorySnapshotStore:
    """Snapshots in a dict; for ``memory://`` stores and tests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snapshots: dict[str, tuple[Snapshot, str]] = {}

    def save(self, snapshot: Snapshot) -> None:
        # Stored as JSON text and decoded on every load, like a file: neither the saver nor
        # a loader can change what the next load returns by mutating shared objects.
        body = encode_json({"state": snapshot.state}, checked=False)
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
        )
