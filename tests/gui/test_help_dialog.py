"""The shortcut help lists the window's actions with their keys and closes from the keyboard."""

from __future__ import annotations

import sys

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialog, QTableWidget, QTableWidgetItem, QWidget
from pytestqt.qtbot import QtBot

from bank_desktop.gui.help_dialog import NO_SHORTCUT, ShortcutHelpDialog

# The window's default shortcuts (DESIGN §7), in menu order.
DEFAULTS = [
    ("&Open account…", "Ctrl+N", "Open account"),
    ("&Deposit…", "F2", "Deposit"),
    ("&Withdraw…", "F3", "Withdraw"),
    ("&Transfer…", "F4", "Transfer"),
    ("&Close account…", "Ctrl+Shift+X", "Close account"),
    ("&Filter accounts", "Ctrl+F", "Filter accounts"),
    ("&Resync", "F5", "Resync"),
    ("Keyboard &shortcuts", "F1", "Keyboard shortcuts"),
]


@pytest.fixture
def owner(qtbot: QtBot) -> QWidget:
    """Parent for the actions, so they live as long as the test."""
    widget = QWidget()
    qtbot.addWidget(widget)
    return widget


def _actions(owner: QWidget) -> list[QAction]:
    actions = []
    for text, keys, _label in DEFAULTS:
        action = QAction(text, owner)
        action.setShortcut(QKeySequence(keys))
        actions.append(action)
    return actions


def _open(qtbot: QtBot, actions: list[QAction]) -> ShortcutHelpDialog:
    dialog = ShortcutHelpDialog(actions)
    qtbot.addWidget(dialog)
    with qtbot.waitActive(dialog):
        dialog.open()
        dialog.activateWindow()
    return dialog


def _table(dialog: QDialog) -> QTableWidget:
    table = dialog.findChild(QTableWidget, "shortcutTable")
    assert table is not None
    return table


def _item(table: QTableWidget, row: int, column: int) -> QTableWidgetItem:
    item = table.item(row, column)
    assert item is not None
    return item


def _rows(dialog: QDialog) -> list[tuple[str, str]]:
    table = _table(dialog)
    return [
        (_item(table, row, 0).text(), _item(table, row, 1).text())
        for row in range(table.rowCount())
    ]


def test_it_lists_every_action_with_its_shortcut_in_the_given_order(
    qtbot: QtBot, owner: QWidget
) -> None:
    dialog = _open(qtbot, _actions(owner))

    native = QKeySequence.SequenceFormat.NativeText
    assert dialog.objectName() == "shortcutHelp"
    assert _rows(dialog) == [
        (label, QKeySequence(keys).toString(native)) for _text, keys, label in DEFAULTS
    ]


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS spells modifiers as symbols")
def test_shortcuts_read_as_a_clerk_types_them(qtbot: QtBot, owner: QWidget) -> None:
    dialog = _open(qtbot, _actions(owner))

    assert [keys for _label, keys in _rows(dialog)] == [keys for _t, keys, _l in DEFAULTS]


def test_separators_are_skipped_and_missing_or_extra_shortcuts_shown(
    qtbot: QtBot, owner: QWidget
) -> None:
    separator = QAction(owner)
    separator.setSeparator(True)
    about = QAction("&About Bank Desktop", owner)
    profit = QAction("Profit && loss", owner)
    profit.setShortcuts([QKeySequence("Ctrl+P"), QKeySequence("Ctrl+Shift+P")])

    dialog = _open(qtbot, [about, separator, profit])

    native = QKeySequence.SequenceFormat.NativeText
    both = ", ".join(QKeySequence(k).toString(native) for k in ("Ctrl+P", "Ctrl+Shift+P"))
    assert _rows(dialog) == [("About Bank Desktop", NO_SHORTCUT), ("Profit & loss", both)]


def test_the_table_is_read_only_and_has_focus(qtbot: QtBot, owner: QWidget) -> None:
    dialog = _open(qtbot, _actions(owner))
    table = _table(dialog)

    assert dialog.focusWidget() is table
    assert not _item(table, 0, 0).flags() & Qt.ItemFlag.ItemIsEditable


@pytest.mark.parametrize("key", [Qt.Key.Key_Escape, Qt.Key.Key_Return, Qt.Key.Key_Enter])
def test_escape_or_enter_closes_it(qtbot: QtBot, owner: QWidget, key: Qt.Key) -> None:
    dialog = _open(qtbot, _actions(owner))
    table = _table(dialog)
    QTest.keyClick(table, Qt.Key.Key_Down)  # moving around first does not matter

    with qtbot.waitSignal(dialog.finished):
        QTest.keyClick(table, key)

    assert not dialog.isVisible()
