"""The Event log on a PostgreSQL store with clerks' own logins: each event shows the login the
server recorded, and a clerk id the login does not back stands out in the Clerk column."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPlainTextEdit
from pytestqt.qtbot import QtBot

from bank_desktop.application import BankService
from bank_desktop.eventstore import open_store
from bank_desktop.gui.main_window import MainWindow
from bank_desktop.gui.models.event_log import CLERK
from tests.gui.conftest import focused, press
from tests.postgres_logins import Server, deployed_server


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with deployed_server() as made:
        yield made


@pytest.fixture
def store_url(server: Server) -> str:
    """The window works as alice's login (the conftest's window fixtures use this URL)."""
    return server.url(server.alice)


def _write_history(server: Server) -> None:
    """An account opened by alice, a deposit by bob, and one by alice claiming to be clerk-9
    (strict identity is off: the claim is recorded, and so is the login behind it)."""
    alice = open_store(server.url(server.alice))
    bob = open_store(server.url(server.bob))
    try:
        account = BankService(alice, clerk_id=server.alice).open_account("cust-1", "10")
        BankService(bob, clerk_id=server.bob).deposit(account, "2")
        BankService(alice, clerk_id="clerk-9").deposit(account, "3")
    finally:
        alice.close()
        bob.close()


def test_the_log_shows_the_recorded_login_of_every_event(
    qtbot: QtBot, make_window: Callable[..., MainWindow], server: Server
) -> None:
    _write_history(server)
    window = make_window()
    press(qtbot, Qt.Key.Key_L, Qt.KeyboardModifier.AltModifier)  # the Event log's mnemonic
    qtbot.waitUntil(lambda: window.tabs.currentWidget() is window.event_log)
    model = window.event_log.model
    qtbot.waitUntil(lambda: model.rowCount() == 3 and not model.loading)
    clerks = [model.index(row, CLERK).data() for row in range(3)]  # newest first
    assert clerks == [f"clerk-9 (login {server.alice})", server.bob, server.alice]

    window.event_log.table.setFocus()
    table = focused(qtbot, "eventLogTable")
    details = window.event_log.findChild(QPlainTextEdit, "eventDetails")
    assert details is not None
    qtbot.keyClick(table, Qt.Key.Key_Home)
    qtbot.waitUntil(lambda: "global #3" in details.toPlainText())
    lines = details.toPlainText().splitlines()
    assert lines[1] == f"database login: {server.alice} (recorded by the server)"
    assert '"clerkId": "clerk-9"' in details.toPlainText()
    qtbot.keyClick(table, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: "global #2" in details.toPlainText())
    assert f"database login: {server.bob} (recorded by the server)" in details.toPlainText()
