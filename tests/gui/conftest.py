"""The window as a clerk gets it: a real SQLite store in a temp folder, driven by keyboard."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialog, QWidget
from pytestqt.qtbot import QtBot

from bank_desktop.gui.app import create_main_window
from bank_desktop.gui.display import display_problem
from bank_desktop.gui.main_window import MainWindow
from bank_desktop.gui.workers import running_count


@pytest.fixture(autouse=True, scope="session")
def _a_window_can_open() -> None:
    """Under a real X server (``scripts/test`` runs the ``x11`` tests so), stop at once with the
    reason when Qt could not open a window, instead of letting Qt abort the run."""
    if os.environ.get("QT_QPA_PLATFORM") == "xcb":
        problem = display_problem()
        if problem is not None:
            pytest.exit(f"X11 tests: {problem}", returncode=1)


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite://{tmp_path / 'bank.db'}"


@pytest.fixture
def make_window(
    qtbot: QtBot, tmp_path: Path, store_url: str
) -> Iterator[Callable[..., MainWindow]]:
    windows: list[MainWindow] = []

    def make(**options: object) -> MainWindow:
        window = create_main_window(
            store_url,
            clerk_id="clerk-7",
            data_dir=tmp_path / "data",
            **options,  # type: ignore[arg-type]
        )
        qtbot.addWidget(window)
        windows.append(window)
        with qtbot.waitActive(window):
            window.show()
            window.activateWindow()
        qtbot.waitUntil(lambda: window.connection_label.text() == "● live", timeout=10_000)
        return window

    yield make
    for window in windows:
        window.close()
    qtbot.waitUntil(lambda: running_count() == 0, timeout=10_000)


@pytest.fixture
def window(make_window: Callable[..., MainWindow]) -> MainWindow:
    return make_window()


def active_dialog(qtbot: QtBot) -> QDialog:
    """The dialog the last shortcut opened, once it has focus."""
    found: list[QDialog] = []

    def ready() -> bool:
        widget = QApplication.activeWindow()
        if isinstance(widget, QDialog) and widget.isVisible():
            found[:] = [widget]
            return True
        return False

    qtbot.waitUntil(ready, timeout=5_000)
    return found[0]


def focused(qtbot: QtBot, object_name: str) -> QWidget:
    """Wait until the widget named ``object_name`` has keyboard focus, and return it."""
    holder: list[QWidget] = []

    def ready() -> bool:
        widget = QApplication.focusWidget()
        if widget is not None and widget.objectName() == object_name:
            holder[:] = [widget]
            return True
        return False

    qtbot.waitUntil(ready, timeout=5_000)
    return holder[0]


def gone(widget: QWidget) -> bool:
    """Closed (and perhaps already deleted, as the window deletes finished forms)."""
    return not shiboken6.isValid(widget) or not widget.isVisible()


# ── a clerk's keys ───────────────────────────────────────────────────────────────────

CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier
ALT = Qt.KeyboardModifier.AltModifier


def press(
    qtbot: QtBot, key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier
) -> None:
    qtbot.waitUntil(lambda: QApplication.focusWidget() is not None, timeout=5_000)
    target = QApplication.focusWidget()
    assert target is not None
    qtbot.keyClick(target, key, modifier)


def type_text(qtbot: QtBot, text: str) -> None:
    target = QApplication.focusWidget()
    assert target is not None
    qtbot.keyClicks(target, text)


def replace_text(qtbot: QtBot, text: str) -> None:
    press(qtbot, Qt.Key.Key_A, CTRL)
    type_text(qtbot, text)


def balance(window: MainWindow, account_id: str) -> Decimal | None:
    row = window.accounts_model.projection.get(account_id)
    return row.balance if row else None


def open_account(qtbot: QtBot, window: MainWindow, customer: str, initial: str) -> str:
    before = set(window.accounts_model.projection._rows)
    press(qtbot, Qt.Key.Key_N, CTRL)
    active_dialog(qtbot)
    focused(qtbot, "customerIdEdit")
    type_text(qtbot, customer)
    press(qtbot, Qt.Key.Key_Tab)
    focused(qtbot, "initialBalanceEdit")
    replace_text(qtbot, initial)
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(window.accounts_model.projection) == len(before) + 1)
    (account,) = set(window.accounts_model.projection._rows) - before
    qtbot.waitUntil(lambda: window.selected_account() == account)
    qtbot.waitUntil(lambda: window.ledger_model.account_id == account)
    return account


def money(qtbot: QtBot, key: Qt.Key, amount: str, description: str = "") -> None:
    """Deposit (F2) or withdraw (F3) by keyboard, and wait for the store's answer: the form
    closed, or showing a refusal. (The balance can move before the form closes: the live
    feed may deliver the event before the command's own answer arrives.)"""
    press(qtbot, key)
    dialog = active_dialog(qtbot)
    focused(qtbot, "amountEdit")
    type_text(qtbot, amount)
    if description:
        press(qtbot, Qt.Key.Key_Tab)
        focused(qtbot, "descriptionEdit")
        type_text(qtbot, description)
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: gone(dialog) or not dialog.in_flight, timeout=10_000)  # type: ignore[attr-defined]
