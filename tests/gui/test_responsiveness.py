"""The window never waits on the store: slow stores, dead stores, and which thread does IO."""

from __future__ import annotations

import threading
import time
from collections.abc import Collection, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from bank_desktop.application import BankService
from bank_desktop.eventstore import StoreUnavailableError, open_store
from bank_desktop.eventstore.port import (
    AppendResult,
    EventStore,
    ExpectedPosition,
    NewEvent,
    RecordedEvent,
)
from bank_desktop.eventstore.snapshots import MemorySnapshotStore
from bank_desktop.gui.app import application
from bank_desktop.gui.context import AppContext
from bank_desktop.gui.main_window import MainWindow
from bank_desktop.gui.workers import running_count
from tests.gui.conftest import active_dialog, focused, gone


class WatchedStore:
    """Delegates to a real store; records calls made on the GUI thread; can be slowed down."""

    def __init__(self, inner: EventStore) -> None:
        self.inner = inner
        self.delay = 0.0
        self.down = False
        self.gui_thread_calls: list[str] = []

    def _enter(self, name: str) -> None:
        if threading.current_thread() is threading.main_thread():
            self.gui_thread_calls.append(name)
        if self.down:
            raise StoreUnavailableError("connection refused")
        if self.delay:
            time.sleep(self.delay)  # the store is slow: this runs on a worker thread

    @property
    def url(self) -> str:
        return self.inner.url

    def append(
        self, stream_id: str, events: Sequence[NewEvent], expected: ExpectedPosition
    ) -> AppendResult:
        self._enter("append")
        return self.inner.append(stream_id, events, expected)

    def read_stream(
        self, stream_id: str, *, after: int = 0, limit: int | None = None
    ) -> list[RecordedEvent]:
        self._enter("read_stream")
        return self.inner.read_stream(stream_id, after=after, limit=limit)

    def stream_position(self, stream_id: str) -> int:
        self._enter("stream_position")
        return self.inner.stream_position(stream_id)

    def read_all(
        self,
        *,
        after: int = 0,
        limit: int = 1000,
        types: Collection[str] | None = None,
        with_metadata: bool = True,
    ) -> list[RecordedEvent]:
        self._enter("read_all")
        return self.inner.read_all(
            after=after, limit=limit, types=types, with_metadata=with_metadata
        )

    def head_position(self) -> int:
        self._enter("head_position")
        return self.inner.head_position()

    def wait_for_events(self, after: int, timeout: float) -> bool:
        self._enter("wait_for_events")
        return self.inner.wait_for_events(after, timeout)

    def close(self) -> None:
        self.inner.close()


Watched = TypeVar("Watched", bound=WatchedStore)


def watched_window(
    qtbot: QtBot,
    tmp_path: Path,
    *,
    store_type: type[Watched] = WatchedStore,  # type: ignore[assignment]
) -> tuple[MainWindow, Watched]:
    application()
    store = store_type(open_store(f"sqlite://{tmp_path / 'bank.db'}"))
    context = AppContext(
        store=store,  # type: ignore[arg-type]
        bank=BankService(store, clerk_id="clerk-7"),  # type: ignore[arg-type]
        snapshots=MemorySnapshotStore(),
        clerk_id="clerk-7",
        data_dir=tmp_path,
    )
    window = MainWindow(context)
    qtbot.addWidget(window)
    with qtbot.waitActive(window):
        window.show()
        window.activateWindow()
    window.start()
    return window, store


class Ticker:
    """Counts event-loop turns: if a slot blocked, the ticks would stop."""

    def __init__(self) -> None:
        self.ticks = 0
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self) -> None:
        self.ticks += 1


def test_a_slow_store_never_freezes_the_window(qtbot: QtBot, tmp_path: Path) -> None:
    window, store = watched_window(qtbot, tmp_path)
    qtbot.waitUntil(lambda: window.connection_label.text() == "● live", timeout=10_000)
    account = BankService(store.inner).open_account("cust-1", "10")  # type: ignore[arg-type]
    qtbot.waitUntil(lambda: window.select_account(account))
    qtbot.waitUntil(lambda: window.ledger_model.account_id == account)

    store.delay = 1.2  # every store call now takes over a second
    ticker = Ticker()
    qtbot.keyClick(window.accounts_table, Qt.Key.Key_F2)
    dialog = active_dialog(qtbot)
    amount = focused(qtbot, "amountEdit")
    qtbot.keyClicks(amount, "5")
    qtbot.keyClick(amount, Qt.Key.Key_Return)
    error = dialog.findChild(QLabel, "formError")
    assert error is not None
    qtbot.waitUntil(lambda: "Still waiting for the store" in error.text(), timeout=5_000)
    ticks_while_waiting = ticker.ticks
    assert ticks_while_waiting >= 20  # the event loop kept turning while the store dawdled
    assert not dialog.findChild(QLabel, "formError").isHidden()  # type: ignore[union-attr]
    store.delay = 0.0
    qtbot.waitUntil(lambda: gone(dialog), timeout=10_000)
    row = window.accounts_model.projection.get(account)
    qtbot.waitUntil(lambda: row is not None and row.balance == Decimal("15.00"), timeout=5_000)
    ticker.timer.stop()
    assert store.gui_thread_calls == []


def test_a_dead_store_shows_offline_and_recovers(qtbot: QtBot, tmp_path: Path) -> None:
    window, store = watched_window(qtbot, tmp_path)
    qtbot.waitUntil(lambda: window.connection_label.text() == "● live", timeout=10_000)
    store.down = True
    qtbot.waitUntil(
        lambda: window.connection_label.text().startswith("offline since"), timeout=10_000
    )
    assert "connection refused" in window.connection_label.text()
    store.down = False
    BankService(store.inner).open_account("cust-1", "10")  # type: ignore[arg-type]
    qtbot.waitUntil(lambda: window.connection_label.text() == "● live", timeout=15_000)
    qtbot.waitUntil(lambda: len(window.accounts_model.projection) == 1, timeout=5_000)
    assert store.gui_thread_calls == []


def test_no_store_access_from_the_gui_thread_during_a_session(qtbot: QtBot, tmp_path: Path) -> None:
    window, store = watched_window(qtbot, tmp_path)
    qtbot.waitUntil(lambda: window.connection_label.text() == "● live", timeout=10_000)
    bank = BankService(store.inner)  # type: ignore[arg-type]
    first = bank.open_account("cust-1", "100")
    second = bank.open_account("cust-2", "0")
    bank.transfer(first, second, "10")
    qtbot.waitUntil(lambda: window.select_account(second))
    qtbot.waitUntil(lambda: window.ledger_model.rowCount() == 2)
    window.resync()
    qtbot.waitUntil(lambda: window.connection_label.text() == "● live", timeout=10_000)
    window.close()
    qtbot.waitUntil(lambda: running_count() == 0, timeout=10_000)
    assert store.gui_thread_calls == []
