"""The read-model session every front end uses: load, live application, ledgers, saving."""

from __future__ import annotations

from bank_desktop.application import BankService
from bank_desktop.application.read_model_session import ReadModelSession
from bank_desktop.eventstore import open_store
from bank_desktop.eventstore.snapshots import MemorySnapshotStore


def test_load_saves_once_enough_events_were_replayed_and_only_then() -> None:
    store = open_store("memory://")
    bank = BankService(store, clerk_id="clerk-7")
    account = bank.open_account("cust-1", "10")
    snapshots = MemorySnapshotStore()

    assert ReadModelSession(store, snapshots, save_after=5).load().replayed == 1
    assert snapshots.load("read-model") is None
    session = ReadModelSession(store, snapshots, save_after=1)
    session.load()
    assert snapshots.load("read-model") is not None
    assert not session.unsaved

    bank.deposit(account, "5")
    assert session.catch_up() == 1
    assert session.unsaved
    assert session.save(only_if_changed=True)
    assert not session.save(only_if_changed=True)


def test_live_events_reach_the_model_and_the_ledgers_kept() -> None:
    store = open_store("memory://")
    bank = BankService(store, clerk_id="clerk-7")
    account = bank.open_account("cust-1", "10")
    session = ReadModelSession(store, None)
    session.load()
    ledger = session.ledgers.topped_up(account)
    bank.deposit(account, "5")

    changes = session.apply(store.read_all(after=session.checkpoint))

    assert changes.model.changed_accounts == {account}
    assert changes.ledgers == {account}
    assert ledger.balance == session.model.balances.get(account).balance  # type: ignore[union-attr]
    lean = session.apply(store.read_all(after=0, with_metadata=False))
    assert lean.ledgers == set()  # a lean feed leaves ledgers to be topped up when read
