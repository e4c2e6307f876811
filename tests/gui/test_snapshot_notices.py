"""A snapshot the session refused is rebuilt from the store, and the window says so."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pytestqt.qtbot import QtBot

from bank_desktop.application import BankService
from bank_desktop.application.read_model_session import ReadModelSession
from bank_desktop.eventstore import open_snapshot_store, open_store
from bank_desktop.gui.main_window import MainWindow


def test_a_tampered_snapshot_is_rebuilt_and_the_status_bar_says_why(
    qtbot: QtBot, tmp_path: Path, store_url: str, make_window: Callable[..., MainWindow]
) -> None:
    store = open_store(store_url)
    account = BankService(store, clerk_id="clerk-7").open_account("cust-1", "50.00")
    snapshots = open_snapshot_store(store, tmp_path / "data")
    ReadModelSession(store, snapshots, save_after=1).load()  # saves the snapshot
    store.close()
    (saved,) = Path(tmp_path / "data" / "projections").glob("*/read-model.snapshot.json")
    raw = saved.read_bytes()
    assert b'"cents":[5000]' in raw  # the balance, kept in cents
    saved.write_bytes(raw.replace(b'"cents":[5000]', b'"cents":[9900]'))

    window = make_window()

    qtbot.waitUntil(lambda: "rebuilt from the store" in window.statusBar().currentMessage())
    assert "integrity check" in window.statusBar().currentMessage()
    row = window.read_model.balances.get(account) if window.read_model else None
    assert row is not None
    assert str(row.balance) == "50.00"
