"""Restoring the read model: a snapshot is used only when it passes every check.

The file's digest is one check (tests/eventstore/test_snapshots.py); these are the others: the
values themselves (a snapshot written with a valid digest may still say "NaN"), the store's
identity and the checkpoint. A failed check means a rebuild, and the loader says why.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bank_desktop.application import BankService
from bank_desktop.application.projections import (
    ReadModel,
    balances,
    catch_up,
    load_read_model,
    restore_read_model,
    transfers,
)
from bank_desktop.application.projections.read_model import SNAPSHOT_NAME
from bank_desktop.eventstore import (
    EventStore,
    NewEvent,
    Snapshot,
    StoreUnavailableError,
    open_store,
)
from bank_desktop.eventstore.snapshots import FileSnapshotStore, MemorySnapshotStore
from tests.application.conftest import StepClock


@pytest.fixture
def store() -> EventStore:
    store = open_store("memory://")
    bank = BankService(store, clock=StepClock())
    a = bank.open_account("cust-1", "100")
    b = bank.open_account("cust-2", "0")
    bank.transfer(a, b, "30")
    return store


def _saved(store: EventStore, snapshots: Any) -> Snapshot:
    model = ReadModel()
    catch_up(model, store)
    model.save(snapshots)
    loaded = snapshots.load(SNAPSHOT_NAME)
    assert loaded is not None
    return loaded  # type: ignore[no-any-return]


COLUMNS = {"balances": balances.COLUMNS, "transfers": transfers.COLUMNS}


def _with_row_value(snapshot: Snapshot, table: str, column: int, value: Any) -> Snapshot:
    """``snapshot`` with the value in ``column`` (counted from 0) of ``table``'s first row
    replaced (tables are kept as columns)."""
    state = {**snapshot.state}
    name = COLUMNS[table][column]
    state[table] = {**state[table], name: [value, *state[table][name][1:]]}
    return dataclasses.replace(snapshot, state=state)


@pytest.mark.parametrize(
    ("table", "column", "value"),
    [
        ("balances", 2, "NaN"),
        ("balances", 2, "-Infinity"),
        ("balances", 2, Decimal("1E+999999")),
        ("balances", 2, "70.00"),
        ("balances", 2, None),
        ("balances", 3, "yes"),
        ("balances", 4, "yesterday"),
        ("balances", 4, "2026-01-01T00:00:00"),  # no zone
        ("balances", 7, 0),
        ("balances", 0, ""),
        ("transfers", 3, "NaN"),
        ("transfers", 5, "lost"),
        ("transfers", 9, -1),
    ],
)
def test_a_snapshot_with_a_valid_digest_but_an_invalid_value_is_rebuilt(
    store: EventStore, tmp_path: Path, table: str, column: int, value: Any
) -> None:
    snapshots = FileSnapshotStore(tmp_path)
    good = _saved(store, snapshots)
    snapshots.save(_with_row_value(good, table, column, value))  # a fresh, valid digest
    model, problem = restore_read_model(snapshots, store)
    assert model is None
    assert problem is not None
    assert f"{table} row 1" in problem
    loaded = load_read_model(store, snapshots)
    assert not loaded.restored
    assert loaded.problems
    assert all(row.balance.is_finite() for row in loaded.model.balances)
    assert loaded.model.balances.total() == Decimal("100.00")
    # The rebuilt model replaced the bad snapshot.
    assert restore_read_model(snapshots, store)[1] is None


def test_a_snapshot_naming_another_store_is_rebuilt(store: EventStore) -> None:
    snapshots = MemorySnapshotStore()
    good = _saved(store, snapshots)
    snapshots.save(dataclasses.replace(good, store_identity="another-store's-first-event"))
    model, problem = restore_read_model(snapshots, store)
    assert model is None
    assert problem is not None
    assert "another store" in problem


def test_a_snapshot_without_its_store_identity_is_rebuilt(store: EventStore) -> None:
    snapshots = MemorySnapshotStore()
    good = _saved(store, snapshots)
    snapshots.save(dataclasses.replace(good, store_identity=None))
    assert restore_read_model(snapshots, store)[0] is None


def test_a_snapshot_beyond_the_store_is_rebuilt(store: EventStore) -> None:
    snapshots = MemorySnapshotStore()
    good = _saved(store, snapshots)
    snapshots.save(dataclasses.replace(good, checkpoint=good.checkpoint + 5))
    model, problem = restore_read_model(snapshots, store)
    assert model is None
    assert problem is not None
    assert "beyond" in problem


def test_a_good_snapshot_is_restored_silently(store: EventStore, tmp_path: Path) -> None:
    snapshots = FileSnapshotStore(tmp_path)
    good = _saved(store, snapshots)
    assert good.store_identity == store.read_all(limit=1)[0].event_id
    loaded = load_read_model(store, snapshots)
    assert loaded.restored
    assert (loaded.notices, loaded.problems, loaded.replayed) == ([], [], 0)


def test_a_snapshot_that_cannot_be_saved_is_a_notice_not_a_failure(store: EventStore) -> None:
    class Unwritable(MemorySnapshotStore):
        def save(self, snapshot: Snapshot) -> None:
            raise StoreUnavailableError("Cannot save: Permission denied.")

    loaded = load_read_model(store, Unwritable(), save_after=1)
    assert loaded.model.balances.total() == Decimal("100.00")
    assert loaded.problems == []
    assert len(loaded.notices) == 1
    assert "could not be saved" in loaded.notices[0]


def test_times_keep_their_exact_offset_through_a_saved_snapshot(tmp_path: Path) -> None:
    """The JSON encoder writes a datetime's offset in whole minutes: a time recorded with an
    offset of seconds (another tool's event) is saved as its ISO text instead, unchanged."""
    store = open_store("memory://")
    odd = "2026-11-02T10:00:00.250+05:30:15"
    opened = {"customerId": "c", "initialBalance": 1, "openedAt": odd}
    store.append("account-odd", [NewEvent("account.opened", opened)], 0)
    BankService(store, clock=StepClock()).open_account("cust-1", "5")
    snapshots = FileSnapshotStore(tmp_path)
    model = ReadModel()
    catch_up(model, store)
    model.save(snapshots)

    restored, problem = restore_read_model(snapshots, store)

    assert problem is None
    assert restored is not None
    for row in model.balances:
        again = restored.balances.get(row.account_id)
        assert again is not None
        assert (again.opened_at, again.last_activity_at) == (row.opened_at, row.last_activity_at)
        assert again.opened_at.utcoffset() == row.opened_at.utcoffset()
    assert restored.balances.get("account-odd").opened_at.isoformat() == (  # type: ignore[union-attr]
        "2026-11-02T10:00:00.250000+05:30:15"
    )


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_balances_are_kept_in_cents_and_fractions_of_a_cent_exactly(
    tmp_path: Path, kind: str
) -> None:
    """Rows keep cents as ints (what a clerk can enter); an amount another tool wrote with
    fractions of a cent is kept exactly, whichever way it was folded and through a snapshot."""
    store = open_store("memory://" if kind == "memory" else f"sqlite://{tmp_path / 'bank.db'}")
    opened = {"customerId": "c", "initialBalance": Decimal("10.50"), "openedAt": "2026-11-02"}
    store.append("account-a", [NewEvent("account.opened", opened)], 0)
    store.append("account-b", [NewEvent("account.opened", opened)], 0)
    at = "2026-11-02T10:00:00Z"
    for amount in (Decimal("0.001"), Decimal("2.25"), 7):
        deposited = NewEvent("money.deposited", {"amount": amount, "depositedAt": at})
        store.append("account-a", [deposited], store.stream_position("account-a"))
    withdrawn = NewEvent("money.withdrawn", {"amount": Decimal("0.50"), "withdrawnAt": at})
    store.append("account-b", [withdrawn], 1)

    bulk = ReadModel()
    catch_up(bulk, store)
    live = ReadModel()
    live.apply(store.read_all(limit=100))
    snapshots = FileSnapshotStore(tmp_path / "snapshots")
    bulk.save(snapshots)
    restored, problem = restore_read_model(snapshots, store)

    assert problem is None
    assert restored is not None
    for model in (bulk, live, restored):
        a, b = model.balances.get("account-a"), model.balances.get("account-b")
        assert a is not None
        assert b is not None
        assert (a.balance, a.cents) == (Decimal("19.751"), Decimal("1975.100"))
        assert (b.balance, b.cents, type(b.cents)) == (Decimal("10.00"), 1000, int)
        assert model.balances.total() == Decimal("29.751")
