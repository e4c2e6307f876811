"""Snapshot stores: exact round trips, atomic replacement, and damage that is survived."""

from __future__ import annotations

import os
import stat
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bank_desktop.eventstore import (
    Snapshot,
    SnapshotDamagedError,
    StoreUnavailableError,
    open_snapshot_store,
    open_store,
)
from bank_desktop.eventstore.snapshots import FileSnapshotStore, MemorySnapshotStore


def snapshot(name: str = "balances", checkpoint: int = 42, **state: Any) -> Snapshot:
    return Snapshot(
        name=name,
        version=3,
        checkpoint=checkpoint,
        checkpoint_event_id=f"event-{checkpoint}",
        state=state or {"accounts": {"acct-1": Decimal("120.35")}},
    )


STATE = {
    "accounts": {
        "acct-1": {"balance": Decimal("0.10"), "owner": "Åsa Öberg", "open": True},
        "acct-2": {"balance": Decimal("12345678901234.56"), "owner": None, "open": False},
    },
    "count": 2,
    "order": ["acct-2", "acct-1"],
    "fees": [Decimal("-0.01"), Decimal("100.00")],
}


@pytest.fixture
def files(tmp_path: Path) -> FileSnapshotStore:
    return FileSnapshotStore(tmp_path / "snaps" / "store-1")


def test_file_round_trip_is_exact(files: FileSnapshotStore) -> None:
    files.save(snapshot(**STATE))
    loaded = files.load("balances")
    assert loaded == snapshot(**STATE)
    accounts = loaded.state["accounts"]
    assert type(accounts["acct-1"]["balance"]) is Decimal
    assert str(accounts["acct-1"]["balance"]) == "0.10"
    assert str(accounts["acct-2"]["balance"]) == "12345678901234.56"
    assert [str(f) for f in loaded.state["fees"]] == ["-0.01", "100.00"]
    assert type(loaded.state["count"]) is int
    assert loaded.checkpoint_event_id == "event-42"


def test_file_save_replaces_and_keeps_names_apart(files: FileSnapshotStore) -> None:
    files.save(snapshot(checkpoint=1, v=1))
    files.save(snapshot(checkpoint=2, v=2))
    files.save(snapshot(name="transfers-v2_x", checkpoint=9, t=1))
    assert files.load("balances") == snapshot(checkpoint=2, v=2)
    assert files.load("transfers-v2_x") == snapshot(name="transfers-v2_x", checkpoint=9, t=1)
    assert sorted(p.name for p in files.directory.iterdir()) == [
        "balances.snapshot.json",
        "transfers-v2_x.snapshot.json",
    ]


def test_file_snapshot_without_event_id(files: FileSnapshotStore) -> None:
    empty = Snapshot("balances", 1, 0, None, {})
    files.save(empty)
    assert files.load("balances") == empty


def test_file_missing_is_none(tmp_path: Path) -> None:
    assert FileSnapshotStore(tmp_path / "never-created").load("balances") is None
    store = FileSnapshotStore(tmp_path)
    store.save(snapshot(name="other"))
    assert store.load("balances") is None


def test_file_permissions(files: FileSnapshotStore) -> None:
    files.save(snapshot())
    path = files.directory / "balances.snapshot.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(files.directory.stat().st_mode) == 0o700


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), RuntimeError("boom")])
def test_file_failed_replace_keeps_previous(
    files: FileSnapshotStore, monkeypatch: pytest.MonkeyPatch, error: BaseException
) -> None:
    files.save(snapshot(checkpoint=1, v="old"))

    def crash(src: Any, dst: Any) -> None:
        raise error

    monkeypatch.setattr(os, "replace", crash)
    expected = StoreUnavailableError if isinstance(error, OSError) else type(error)
    with pytest.raises(expected):
        files.save(snapshot(checkpoint=2, v="new"))
    monkeypatch.undo()
    assert files.load("balances") == snapshot(checkpoint=1, v="old")
    assert [p.name for p in files.directory.iterdir()] == ["balances.snapshot.json"]


def test_file_unencodable_state_writes_nothing(files: FileSnapshotStore) -> None:
    files.save(snapshot(v=1))
    with pytest.raises(TypeError):
        files.save(snapshot(v=object()))
    assert files.load("balances") == snapshot(v=1)
    assert [p.name for p in files.directory.iterdir()] == ["balances.snapshot.json"]


def test_file_unwritable_directory_is_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(StoreUnavailableError):
        FileSnapshotStore(blocker / "snaps").save(snapshot())


@pytest.mark.parametrize(
    "content",
    [
        b"{",
        b'{"name": "balances", "version": 3, "checkpoint": 42, "state": {"a": 1',
        b"{}",
        b'{"name": "balances", "version": 3, "checkpoint": 42, "state": {}}',
    ],
    ids=["brace", "truncated", "empty-object", "complete"],
)
def test_file_of_an_earlier_version_is_ignored(files: FileSnapshotStore, content: bytes) -> None:
    """Earlier versions wrote bare JSON without a digest: such a file is never trusted."""
    files.save(snapshot())
    (files.directory / "balances.snapshot.json").write_bytes(content)
    assert files.load("balances") is None
    files.save(snapshot(checkpoint=43))  # and it can be written over
    assert files.load("balances") == snapshot(checkpoint=43)


@pytest.mark.parametrize(
    "content",
    [b"", b"\xff\xfe\x00garbage", b"null", b"[1, 2, 3]", b'"text"', b"bank-desktop-snapshot 2"],
    ids=["empty", "binary", "null", "list", "string", "bare-header"],
)
def test_file_damaged_is_refused(files: FileSnapshotStore, content: bytes) -> None:
    files.save(snapshot())
    (files.directory / "balances.snapshot.json").write_bytes(content)
    with pytest.raises(SnapshotDamagedError, match=r"balances\.snapshot\.json"):
        files.load("balances")
    files.save(snapshot(checkpoint=43))
    assert files.load("balances") == snapshot(checkpoint=43)


def _every_single_byte_change(body: bytes) -> list[bytes]:
    """The file with each byte changed in turn (one digit, one letter, one bit)."""
    changed = []
    for index in range(len(body)):
        flipped = bytearray(body)
        flipped[index] ^= 0x01
        changed.append(bytes(flipped))
    return changed


def test_file_any_single_bit_flip_is_refused(files: FileSnapshotStore) -> None:
    files.save(snapshot(accounts={"acct-1": Decimal("120.35")}))
    path = files.directory / "balances.snapshot.json"
    original = path.read_bytes()
    for changed in _every_single_byte_change(original):
        path.write_bytes(changed)
        try:
            loaded = files.load("balances")
        except SnapshotDamagedError:
            continue
        # A flip may only ever make the file unrecognisable (read as having no snapshot).
        assert loaded is None, changed


def test_file_edited_value_is_refused_and_named(files: FileSnapshotStore) -> None:
    files.save(snapshot(accounts={"acct-1": Decimal("50.00")}))
    path = files.directory / "balances.snapshot.json"
    path.write_bytes(path.read_bytes().replace(b"50.00", b"1000100.00"))
    with pytest.raises(SnapshotDamagedError, match=r"integrity|bytes"):
        files.load("balances")


def test_file_keeps_the_store_identity(files: FileSnapshotStore) -> None:
    saved = Snapshot("balances", 1, 5, "e-5", {"x": 1}, store_identity="first-event")
    files.save(saved)
    assert files.load("balances") == saved


@pytest.mark.parametrize(
    "name", ["", "../evil", "a/b", "a.b", "with space", "..", "nul\x00", "-", "_-_"]
)
def test_file_invalid_names(files: FileSnapshotStore, name: str) -> None:
    with pytest.raises(ValueError, match="Snapshot name"):
        files.load(name)
    with pytest.raises(ValueError, match="Snapshot name"):
        files.save(snapshot(name=name))
    assert not files.directory.exists()


def test_memory_round_trip_is_exact() -> None:
    store = MemorySnapshotStore()
    assert store.load("balances") is None
    store.save(snapshot(**STATE))
    loaded = store.load("balances")
    assert loaded == snapshot(**STATE)
    assert type(loaded.state["accounts"]["acct-1"]["balance"]) is Decimal
    assert str(loaded.state["accounts"]["acct-2"]["balance"]) == "12345678901234.56"


def test_memory_save_copies_the_state() -> None:
    store = MemorySnapshotStore()
    state: dict[str, Any] = {"accounts": {"acct-1": [Decimal("1.00")]}}
    store.save(Snapshot("balances", 1, 5, "e-5", state))
    state["accounts"]["acct-1"].append(Decimal("2.00"))
    state["accounts"]["acct-2"] = []
    assert store.load("balances").state == {"accounts": {"acct-1": [Decimal("1.00")]}}


def test_memory_unencodable_state_is_refused() -> None:
    store = MemorySnapshotStore()
    with pytest.raises(TypeError):
        store.save(Snapshot("balances", 1, 5, None, {"x": object()}))
    assert store.load("balances") is None


def test_memory_load_does_not_share_state() -> None:
    store = MemorySnapshotStore()
    store.save(Snapshot("balances", 1, 5, "e-5", {"accounts": {"acct-1": 1}}))
    store.load("balances").state["accounts"]["acct-2"] = 2
    assert store.load("balances").state == {"accounts": {"acct-1": 1}}


class _NamedStore:
    """Just enough of a store for open_snapshot_store, which keys on the store's URL."""

    def __init__(self, url: str) -> None:
        self.url = url


def _for(url: str, base: Path) -> object:
    return open_snapshot_store(_NamedStore(url), base)  # type: ignore[arg-type]


def test_open_snapshot_store_for_memory(tmp_path: Path) -> None:
    assert isinstance(_for("memory://", tmp_path), MemorySnapshotStore)
    assert list(tmp_path.iterdir()) == []


def test_open_snapshot_store_per_store_directory(tmp_path: Path) -> None:
    first = _for("sqlite:///data/one.db", tmp_path)
    same = _for("sqlite:///data/one.db", tmp_path)
    other = _for("sqlite:///data/two.db", tmp_path)
    assert isinstance(first, FileSnapshotStore)
    assert isinstance(same, FileSnapshotStore)
    assert isinstance(other, FileSnapshotStore)
    assert first.directory.parent == tmp_path / "projections"
    assert other.directory.parent == tmp_path / "projections"
    assert first.directory == same.directory
    assert first.directory != other.directory

    first.save(snapshot(v="one"))
    assert same.load("balances") == snapshot(v="one")
    assert other.load("balances") is None


def test_two_spellings_of_one_sqlite_file_share_snapshots(tmp_path: Path) -> None:
    one = open_store(f"sqlite://{tmp_path / 'bank.db'}")
    two = open_store(f"sqlite:///{tmp_path / 'bank.db'}")
    try:
        assert open_snapshot_store(one, tmp_path).directory == (  # type: ignore[attr-defined]
            open_snapshot_store(two, tmp_path).directory  # type: ignore[attr-defined]
        )
    finally:
        one.close()
        two.close()


def test_open_snapshot_store_directory_names_no_secret(tmp_path: Path) -> None:
    store = _for("postgresql://bank:secret@db.example/bank", tmp_path)
    assert isinstance(store, FileSnapshotStore)
    assert "secret" not in str(store.directory)
    assert store.directory.parent == tmp_path / "projections"
