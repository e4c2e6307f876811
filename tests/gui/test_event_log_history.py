"""The Event log pages the store's whole history, newest first, filtered in the store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit
from pytestqt.qtbot import QtBot

from bank_desktop.application import BankService
from bank_desktop.eventstore import open_store
from bank_desktop.gui.main_window import MainWindow
from tests.gui.conftest import ALT, focused, press, type_text


@pytest.fixture
def history(store_url: str) -> dict[str, str]:
    """33 events written before the window opens, by two clerks (and 90 more with ``long``)."""
    store = open_store(store_url)
    try:
        seven = BankService(store, clerk_id="clerk-7")
        nine = BankService(store, clerk_id="clerk-9")
        first = seven.open_account("cust-1", "100")
        second = nine.open_account("cust-2", "0")
        for n in range(1, 16):
            seven.deposit(first, str(n))
            nine.deposit(second, str(n))
        nine.withdraw(first, "1")
        assert store.head_position() == 33
    finally:
        store.close()
    return {"first": first, "second": second}


def positions(window: MainWindow) -> list[int]:
    model = window.event_log.model
    return [model.event_at(row).global_position for row in range(model.rowCount())]


def count_text(window: MainWindow) -> str:
    label = window.event_log.findChild(QLabel, "eventLogCount")
    assert label is not None
    return label.text()


def open_the_log(qtbot: QtBot, window: MainWindow) -> None:
    window.event_log.page_size = 10
    press(qtbot, Qt.Key.Key_L, ALT)  # the tab's mnemonic
    qtbot.waitUntil(lambda: window.tabs.currentWidget() is window.event_log)


@pytest.mark.x11
def test_the_log_pages_the_whole_history_newest_first(
    qtbot: QtBot, make_window: Callable[..., MainWindow], history: dict[str, str], store_url: str
) -> None:
    store = open_store(store_url)
    try:
        bank = BankService(store, clerk_id="clerk-7")
        for _ in range(90):
            bank.deposit(history["second"], "1")
    finally:
        store.close()
    window = make_window()
    window.resize(1280, 600)  # room for a dozen rows of the 123
    open_the_log(qtbot, window)
    model = window.event_log.model
    qtbot.waitUntil(lambda: len(positions(window)) >= 10 and not model.loading)
    assert positions(window)[:10] == list(range(123, 113, -1))  # the newest on top
    loaded = len(positions(window))
    assert loaded < 123  # what fills the view, not the whole store
    assert count_text(window) == f"{loaded} of 123 events"

    table = window.event_log.table
    table.setFocus()
    focused(qtbot, "eventLogTable")
    for _ in range(20):  # the clerk goes to the end, again: older pages load at the bottom
        press(qtbot, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
        qtbot.waitUntil(lambda: not model.loading)
        if len(positions(window)) == 123:
            break
    assert positions(window) == list(range(123, 0, -1))
    assert count_text(window) == "123 events"


def test_filters_reach_back_through_the_whole_history(
    qtbot: QtBot,
    make_window: Callable[..., MainWindow],
    history: dict[str, str],
    store_url: str,
) -> None:
    window = make_window()
    open_the_log(qtbot, window)
    qtbot.waitUntil(lambda: len(positions(window)) >= 10)
    log = window.event_log

    clerk = log.findChild(QLineEdit, "eventClerkFilter")
    assert clerk is not None
    clerk.setFocus()
    focused(qtbot, "eventClerkFilter")
    type_text(qtbot, "clerk-9")
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: count_text(window) == "17 matching events")  # 2 + 15 deposits
    model = log.model
    clerks = {model.event_at(r).metadata["clerkId"] for r in range(model.rowCount())}
    assert clerks == {"clerk-9"}

    press(qtbot, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    press(qtbot, Qt.Key.Key_Backspace)
    account = log.findChild(QLineEdit, "eventStreamFilter")
    assert account is not None
    account.setFocus()
    focused(qtbot, "eventStreamFilter")
    type_text(qtbot, history["first"])
    press(qtbot, Qt.Key.Key_Return)
    # opened, 15 deposits and one withdrawal on the first account, whoever recorded them
    qtbot.waitUntil(lambda: count_text(window) == "17 matching events")
    assert {model.event_at(r).stream_id for r in range(model.rowCount())} == {history["first"]}

    kinds = log.findChild(QComboBox, "eventTypeFilter")
    assert kinds is not None
    kinds.setCurrentIndex(kinds.findData("money.withdrawn"))
    qtbot.waitUntil(lambda: count_text(window) == "1 matching event")

    # A live event that matches goes on top; one that does not stays out.
    desk = open_store(store_url)
    try:
        BankService(desk, clerk_id="clerk-9").withdraw(history["first"], "2")
        BankService(desk, clerk_id="clerk-9").withdraw(history["second"], "2")
    finally:
        desk.close()
    qtbot.waitUntil(lambda: model.rowCount() == 2, timeout=3_000)
    assert model.event_at(0).global_position == 34
    assert model.event_at(0).stream_id == history["first"]


def test_reading_the_history_never_blocks_the_gui_thread(qtbot: QtBot, tmp_path: Path) -> None:
    from tests.gui.test_responsiveness import watched_window

    window, store = watched_window(qtbot, tmp_path)
    qtbot.waitUntil(lambda: window.connection_label.text() == "● live", timeout=10_000)
    bank = BankService(store.inner, clerk_id="clerk-9")  # type: ignore[arg-type]
    account = bank.open_account("cust-1", "10")
    for _ in range(5):
        bank.deposit(account, "1")
    qtbot.waitUntil(lambda: window.event_log.model.rowCount() >= 0)
    window.tabs.setCurrentWidget(window.event_log)
    qtbot.waitUntil(lambda: window.event_log.model.rowCount() == 6, timeout=5_000)
    window.event_log.set_query(window.event_log.query.__class__(stream_id=account))
    qtbot.waitUntil(lambda: window.event_log.model.rowCount() == 6, timeout=5_000)
    assert store.gui_thread_calls == []
