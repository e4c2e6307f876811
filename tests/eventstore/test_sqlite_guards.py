"""Append-only guards of the SQLite store, and opening a store for verification."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from bank_desktop.eventstore import NO_STREAM, StoreUnavailableError
from bank_desktop.eventstore.sqlite import SCHEMA_VERSION, SqliteEventStore
from bank_desktop.eventstore.sqlite_guards import GUARDS
from tests.eventstore.contract import new
from tests.eventstore.test_sqlite_integrity import _filled, _overwrite_page, _page_size


def _store_with_events(path: Path) -> None:
    store = SqliteEventStore(path)
    try:
        store.append("s", [new(i=1), new(i=2)], NO_STREAM)
    finally:
        store.close()


def _sql(path: Path, *statements: str) -> None:
    raw = sqlite3.connect(path)
    try:
        for statement in statements:
            raw.execute(statement)
        raw.commit()
    finally:
        raw.close()


def _triggers(path: Path) -> set[str]:
    raw = sqlite3.connect(path)
    try:
        return {
            name for (name,) in raw.execute("SELECT name FROM sqlite_master WHERE type='trigger'")
        }
    finally:
        raw.close()


def _version(path: Path) -> int:
    raw = sqlite3.connect(path)
    try:
        return int(raw.execute("PRAGMA user_version").fetchone()[0])
    finally:
        raw.close()


def test_a_new_store_refuses_updates_and_deletes(tmp_path: Path) -> None:
    path = tmp_path / "bank.db"
    _store_with_events(path)
    assert _triggers(path) == set(GUARDS)
    assert _version(path) == SCHEMA_VERSION
    for statement in (
        "UPDATE events SET data = '{\"i\": 9}' WHERE stream_position = 1",
        "DELETE FROM events WHERE stream_position = 2",
    ):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            _sql(path, statement)
    store = SqliteEventStore(path)
    try:
        assert [e.data["i"] for e in store.read_stream("s")] == [1, 2]
        assert store.notices() == []
    finally:
        store.close()


def test_a_store_of_the_previous_schema_gets_its_guards_quietly(tmp_path: Path) -> None:
    path = tmp_path / "bank.db"
    _store_with_events(path)
    _sql(path, *(f"DROP TRIGGER {name}" for name in GUARDS), "PRAGMA user_version=1")
    store = SqliteEventStore(path)
    try:
        assert store.notices() == []  # an upgrade, not an incident
        store.append("s", [new(i=3)], 2)
    finally:
        store.close()
    assert _triggers(path) == set(GUARDS)
    assert _version(path) == SCHEMA_VERSION


@pytest.mark.parametrize(
    "tamper",
    [
        ["DROP TRIGGER events_refuse_delete"],
        [  # same name, a body that guards nothing
            "DROP TRIGGER events_refuse_update",
            "CREATE TRIGGER events_refuse_update BEFORE UPDATE ON events BEGIN SELECT 1; END",
        ],
    ],
)
def test_guards_someone_removed_are_put_back_and_the_clerk_told(
    tmp_path: Path, tamper: list[str]
) -> None:
    path = tmp_path / "bank.db"
    _store_with_events(path)
    _sql(path, *tamper)
    store = SqliteEventStore(path)
    try:
        (notice,) = store.notices()
        assert "append-only guards" in notice
        assert "were put back" in notice
        assert "bank-desktop verify" in notice
    finally:
        store.close()
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        _sql(path, "UPDATE events SET type = 'x'", "DELETE FROM events")
    reopened = SqliteEventStore(path)
    try:
        assert reopened.notices() == []
    finally:
        reopened.close()


def test_verification_never_creates_a_store(tmp_path: Path) -> None:
    path = tmp_path / "missing.db"
    with pytest.raises(StoreUnavailableError, match="no store file"):
        SqliteEventStore(path, verification=True)
    assert not path.exists()


def test_verification_reads_without_writing_and_reports_removed_guards(tmp_path: Path) -> None:
    path = tmp_path / "bank.db"
    _store_with_events(path)
    _sql(path, "DROP TRIGGER events_refuse_update", "UPDATE events SET type = 'x'")
    before = path.read_bytes()
    store = SqliteEventStore(path, verification=True)
    try:
        assert [e.type for e in store.read_stream("s")] == ["x", "x"]
        (finding,) = store.self_check()
        assert finding[0] is True
        assert "events_refuse_update" in finding[1]
    finally:
        store.close()
    assert path.read_bytes() == before
    assert "events_refuse_update" not in _triggers(path)  # nothing put back: evidence kept


def test_verification_of_a_store_from_before_the_guards_notes_it(tmp_path: Path) -> None:
    path = tmp_path / "bank.db"
    _store_with_events(path)
    _sql(path, *(f"DROP TRIGGER {name}" for name in GUARDS), "PRAGMA user_version=1")
    store = SqliteEventStore(path, verification=True)
    try:
        ((problem, text),) = store.self_check()
        assert problem is False
        assert "earlier version" in text
    finally:
        store.close()


def test_verification_opens_a_damaged_file_and_names_the_damage(tmp_path: Path) -> None:
    path = tmp_path / "bank.db"
    _filled(path)
    _overwrite_page(path, path.stat().st_size // _page_size(path) // 2)
    store = SqliteEventStore(path, verification=True)
    try:
        findings = store.self_check()
    finally:
        store.close()
    assert any(problem and "damaged" in text for problem, text in findings)
    assert not Path(f"{path}-damaged").exists()  # verification leaves no marker behind


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write any file")
def test_verification_of_a_read_only_file(tmp_path: Path) -> None:
    path = tmp_path / "bank.db"
    _store_with_events(path)
    path.chmod(0o400)
    store = SqliteEventStore(path, verification=True)
    try:
        assert len(store.read_stream("s")) == 2
    finally:
        store.close()
