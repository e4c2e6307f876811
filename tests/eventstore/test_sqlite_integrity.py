"""Damage to a SQLite store: found cheaply on open, remembered, and never written over.

Small files get SQLite's full ``quick_check`` on open; these tests lower the threshold to 0 so
the checks that cost the same at any size (header, schema, ends of the table and indexes) and
the damage marker are what protects the store, as on a desk with millions of events.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from bank_desktop.eventstore import NO_STREAM, StoreDamagedError
from bank_desktop.eventstore import sqlite as sqlite_module
from bank_desktop.eventstore.sqlite import APPLICATION_ID, SqliteEventStore
from tests.eventstore.contract import new


def _filled(path: Path, events: int = 2000) -> None:
    store = SqliteEventStore(path)
    try:
        for start in range(0, events, 100):
            store.append(
                f"s-{start}",
                [new(i=i, pad="x" * 300) for i in range(start, start + 100)],
                NO_STREAM,
            )
    finally:
        store.close()
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw.close()


def _page_size(path: Path) -> int:
    raw = sqlite3.connect(path)
    try:
        return int(raw.execute("PRAGMA page_size").fetchone()[0])
    finally:
        raw.close()


def _overwrite_page(path: Path, page: int, count: int = 8) -> None:
    """Overwrite ``count`` pages from ``page`` on: table and index pages are interleaved, so
    several consecutive ones are sure to hit the table a full read walks through."""
    size = _page_size(path)
    with path.open("r+b") as handle:
        for index in range(page, page + count):
            handle.seek(size * (index - 1) + 8)
            handle.write(b"\xff" * (size - 16))


@pytest.fixture
def cheap_checks_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_module, "FULL_CHECK_MAX_BYTES", 0)


def test_a_small_damaged_file_is_found_on_open(tmp_path: Path) -> None:
    path = tmp_path / "bank.db"
    _filled(path)
    _overwrite_page(path, path.stat().st_size // _page_size(path) // 2)
    store = SqliteEventStore(path)
    try:
        assert store.damage is not None
        assert any("damaged" in notice for notice in store.notices())
        with pytest.raises(StoreDamagedError, match="nothing was written"):
            store.append("new-stream", [new()], NO_STREAM)
    finally:
        store.close()
    assert Path(f"{path}-damaged").exists()


@pytest.mark.usefixtures("cheap_checks_only")
def test_a_truncated_file_of_ours_is_damaged_not_foreign(tmp_path: Path) -> None:
    path = tmp_path / "bank.db"
    _filled(path)
    with path.open("r+b") as handle:
        handle.truncate(path.stat().st_size - 3 * _page_size(path))
    with pytest.raises(StoreDamagedError) as info:  # SQLite compares its header with the size
        SqliteEventStore(path)
    assert str(path) in str(info.value)
    assert "not a Bank Desktop store" not in str(info.value)
    assert Path(f"{path}-damaged").exists()


@pytest.mark.usefixtures("cheap_checks_only")
def test_damage_met_later_refuses_writes_and_is_remembered(tmp_path: Path) -> None:
    path = tmp_path / "bank.db"
    _filled(path)
    backup = tmp_path / "backup.db"
    shutil.copyfile(path, backup)
    _overwrite_page(path, path.stat().st_size // _page_size(path) // 2)

    store = SqliteEventStore(path)
    try:
        assert store.damage is None  # the cheap checks do not read the middle of the file
        store.append("before-anyone-noticed", [new()], NO_STREAM)
        with pytest.raises(StoreDamagedError) as info:
            store.read_all(limit=100_000)
        assert str(path) in str(info.value)
        assert store.damage is not None
        with pytest.raises(StoreDamagedError, match="nothing was written"):
            store.append("after", [new()], NO_STREAM)
    finally:
        store.close()

    # Another process, later: the marker makes it check the whole file, so it refuses too.
    assert Path(f"{path}-damaged").exists()
    again = SqliteEventStore(path)
    try:
        assert again.damage is not None
        with pytest.raises(StoreDamagedError):
            again.append("after", [new()], NO_STREAM)
    finally:
        again.close()

    # Restored from the backup: the full check passes, the marker goes, writes work again.
    shutil.copyfile(backup, path)
    restored = SqliteEventStore(path)
    try:
        assert restored.damage is None
        assert restored.notices() == []
        restored.append("after", [new()], NO_STREAM)
    finally:
        restored.close()
    assert not Path(f"{path}-damaged").exists()


@pytest.mark.usefixtures("cheap_checks_only")
def test_a_healthy_large_store_opens_clean_and_marked(tmp_path: Path) -> None:
    path = tmp_path / "bank.db"
    _filled(path)
    store = SqliteEventStore(path)
    try:
        assert store.damage is None
        assert store.notices() == []
        assert store.append("more", [new()], NO_STREAM).stream_position == 1
    finally:
        store.close()
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    finally:
        raw.close()
