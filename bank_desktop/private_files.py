"""Folders and files that hold a bank's data are the user's only (0700 / 0600), and whole.

Balances, customer ids and clerk names are confidential: anything the application creates to
hold them must not be readable by other users of the machine, including the folders it makes
on the way (``mkdir(parents=True, mode=...)`` applies the mode to the last folder only). And a
file is replaced whole or not at all (:func:`write_atomically`): snapshots, the record of the
stores this computer used, statements. Used by the event store adapters and the window alike.
"""

from __future__ import annotations

import os
import stat
import tempfile
from contextlib import suppress
from pathlib import Path


def make_private_dirs(path: Path) -> None:
    """Create ``path`` and any missing parents, each 0700; folders that exist are left alone.

    Raises OSError as ``mkdir`` does (a parent that is a file, no permission).
    """
    missing: list[Path] = []
    current = path
    while not os.path.lexists(current) and current != current.parent:
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:  # another process made it a moment ago
            continue


def make_private(path: Path) -> bool:
    """Remove group and other permissions from ``path`` if it is ours; returns whether it
    changed. Best effort: a file we do not own or may not change is left as it is."""
    try:
        info = path.stat()
        if info.st_uid != os.geteuid() or not info.st_mode & 0o077:
            return False
        os.chmod(path, stat.S_IMODE(info.st_mode) & 0o700)
    except OSError:
        return False
    return True


def write_atomically(path: Path, data: bytes, *more: bytes) -> None:
    """Write ``data`` to ``path`` through a synced temporary file in the same folder, created
    for its owner only (``mkstemp``), then renamed over ``path``: a crash, a full disk or a
    reader at the wrong moment never sees half a file. Raises OSError; nothing is left behind.
    ``more`` follows ``data`` in the file (a header and a big body need not be joined first).
    """
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            for chunk in more:
                file.write(chunk)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable (POSIX)
        with suppress(OSError):
            dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
