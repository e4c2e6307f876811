"""Holds from the window by keyboard: place (F6) and release (Shift+F6); every money form
shows the available balance live, and refusals name it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QListWidget
from pytestqt.qtbot import QtBot

from bank_desktop.gui.main_window import MainWindow
from bank_desktop.gui.models.accounts import AVAILABLE
from tests.gui.conftest import (
    SHIFT,
    active_dialog,
    focused,
    gone,
    open_account,
    press,
    type_text,
)


def available_cell(window: MainWindow, account: str) -> str:
    row = window.accounts_proxy.row_of(account)
    assert row is not None
    return str(window.accounts_proxy.index(row, AVAILABLE).data())


def label(dialog: object, name: str) -> QLabel:
    found = dialog.findChild(QLabel, name)  # type: ignore[attr-defined]
    assert found is not None, name
    return found


@pytest.mark.x11
def test_a_hold_lowers_what_may_be_withdrawn_and_releasing_it_frees_it(
    qtbot: QtBot, window: MainWindow
) -> None:
    account = open_account(qtbot, window, "cust-1", "100")

    press(qtbot, Qt.Key.Key_F6)
    form = active_dialog(qtbot)
    assert form.objectName() == "holdForm"
    assert label(form, "balanceInfo").text() == "$100.00"
    assert label(form, "availableInfo").text() == "$100.00"
    focused(qtbot, "amountEdit")
    type_text(qtbot, "25")
    press(qtbot, Qt.Key.Key_Tab)
    focused(qtbot, "reasonEdit")
    type_text(qtbot, "Cheque clearing")
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: gone(form), timeout=10_000)
    qtbot.waitUntil(lambda: available_cell(window, account) == "$75.00")
    assert "Hold of $25.00" in window.statusBar().currentMessage()

    press(qtbot, Qt.Key.Key_F3)  # the withdrawal form says what is available
    withdrawal = active_dialog(qtbot)
    assert label(withdrawal, "balanceInfo").text() == "$100.00"
    assert label(withdrawal, "availableInfo").text() == "$75.00"
    focused(qtbot, "amountEdit")
    type_text(qtbot, "80")
    press(qtbot, Qt.Key.Key_Return)
    error = label(withdrawal, "formError")
    qtbot.waitUntil(lambda: error.text() != "", timeout=10_000)
    assert error.text() == "Insufficient funds. Available: $75.00, Requested: $80.00"
    press(qtbot, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: gone(withdrawal))

    press(qtbot, Qt.Key.Key_F6, SHIFT)
    release = active_dialog(qtbot)
    assert release.objectName() == "releaseHoldForm"
    holds = focused(qtbot, "holdsList")
    assert isinstance(holds, QListWidget)
    assert holds.count() == 1
    assert holds.currentItem().text().startswith("$25.00 · Cheque clearing · placed ")
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: gone(release), timeout=10_000)
    qtbot.waitUntil(lambda: available_cell(window, account) == "$100.00")
    assert "available $100.00" in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: not window.teller.release_action.isEnabled())


def test_a_hold_with_an_expiry_and_one_refused_for_a_past_day(
    qtbot: QtBot, window: MainWindow
) -> None:
    account = open_account(qtbot, window, "cust-1", "100")
    press(qtbot, Qt.Key.Key_F6)
    form = active_dialog(qtbot)
    focused(qtbot, "amountEdit")
    type_text(qtbot, "10")
    press(qtbot, Qt.Key.Key_Tab)
    type_text(qtbot, "Card authorisation")
    press(qtbot, Qt.Key.Key_Tab)
    focused(qtbot, "expiresEdit")
    type_text(qtbot, (date.today() - timedelta(days=1)).isoformat())
    press(qtbot, Qt.Key.Key_Return)
    error = label(form, "formError")
    qtbot.waitUntil(lambda: "expiry must be in the future" in error.text(), timeout=10_000)
    focused(qtbot, "expiresEdit")  # the field to fix

    tomorrow = date.today() + timedelta(days=1)
    type_text(qtbot, tomorrow.isoformat())
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: gone(form), timeout=10_000)
    state = window._context.bank.get_account(account)
    (hold,) = state.holds
    assert hold.expires_at is not None
    assert hold.expires_at.astimezone().date() == tomorrow + timedelta(days=1)  # its end
    assert hold.expires_at.astimezone().hour == 0


def test_open_forms_follow_another_desks_hold(qtbot: QtBot, window: MainWindow) -> None:
    account = open_account(qtbot, window, "cust-1", "100")
    other = open_account(qtbot, window, "cust-2", "0")
    assert window.select_account(account)
    qtbot.waitUntil(lambda: window.selected_account() == account)
    press(qtbot, Qt.Key.Key_F4)
    transfer = active_dialog(qtbot)
    assert label(transfer, "availableInfo").text() == "$100.00"

    window._context.bank.place_hold(account, "40", "Another desk's hold")
    qtbot.waitUntil(lambda: label(transfer, "availableInfo").text() == "$60.00")
    assert label(transfer, "balanceInfo").text() == "$100.00"
    focused(qtbot, "targetAccountEdit")
    type_text(qtbot, other)
    press(qtbot, Qt.Key.Key_Tab)
    type_text(qtbot, "70")
    press(qtbot, Qt.Key.Key_Return)
    error = label(transfer, "formError")
    qtbot.waitUntil(lambda: "Available: $60.00" in error.text(), timeout=10_000)
