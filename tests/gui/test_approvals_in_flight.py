"""A request sent for approval while its form was closed (Esc while saving) is announced as
sent for approval, never as "not saved"."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from bank_desktop.application import BankService
from bank_desktop.gui.main_window import MainWindow
from bank_desktop.gui.workers import running_count
from tests.gui.approval_desks import Desks
from tests.gui.test_in_flight import (
    SLOW_APPEND,
    SlowAppends,
    balance_of,
    selected_account,
    submit_then_escape,
)
from tests.gui.test_responsiveness import watched_window


@pytest.fixture
def slow(qtbot: QtBot, tmp_path: Path) -> Iterator[tuple[MainWindow, SlowAppends]]:
    window, store = watched_window(qtbot, tmp_path, store_type=SlowAppends)
    qtbot.waitUntil(lambda: window.connection_label.text() == "● live", timeout=10_000)
    yield window, store
    store.delay = 0
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)
    qtbot.waitUntil(lambda: running_count() == 0, timeout=10_000)


def test_escape_while_asking_still_says_sent_for_approval(
    qtbot: QtBot, slow: tuple[MainWindow, SlowAppends]
) -> None:
    window, store = slow
    Desks(store.inner)  # the limit is $5,000.00
    account = selected_account(qtbot, window, store)
    BankService(store.inner, clerk_id="clerk-9").deposit(account, "7000")
    qtbot.waitUntil(lambda: balance_of(window, account) == Decimal("7010.00"))
    store.delay = SLOW_APPEND

    submit_then_escape(qtbot, Qt.Key.Key_F3, "6000")

    message = window.statusBar().currentMessage
    qtbot.waitUntil(lambda: "Sent for approval (#approval-" in message(), timeout=5_000)
    assert f"Withdrawal of $6,000.00 from {account}" in message()
    assert not any(
        isinstance(widget, QMessageBox) and widget.isVisible()
        for widget in QApplication.topLevelWidgets()
    )
    qtbot.waitUntil(lambda: window.approvals.mine_model.rowCount() == 1)
    assert balance_of(window, account) == Decimal("7010.00")
