"""The shortcut help (F1): every action of the window with the keys that trigger it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

NO_SHORTCUT = "—"
_SHORTCUT_MARGIN = 24  # pixels of air after the longest shortcut


def action_label(action: QAction) -> str:
    """The action's text as a clerk reads it: no ``&`` mnemonic marker, no trailing ellipsis."""
    text = action.text().replace("&&", "\0").replace("&", "").replace("\0", "&")
    return text.removesuffix("…").removesuffix("...").strip()


def shortcut_text(action: QAction) -> str:
    """The action's shortcuts in the platform's own notation, e.g. ``Ctrl+Shift+X``."""
    keys = [
        sequence.toString(QKeySequence.SequenceFormat.NativeText)
        for sequence in action.shortcuts()
        if not sequence.isEmpty()
    ]
    return ", ".join(keys) or NO_SHORTCUT


class ShortcutHelpDialog(QDialog):
    """A read-only table of the given actions and their shortcuts, in the order given.

    Separators and actions without text are skipped; ``more`` adds (what, keys) rows for keys
    that are not actions. Esc or Enter closes it; open it with ``open()``. Build it when it is
    shown, so it lists the shortcuts currently in effect.
    """

    def __init__(
        self,
        actions: Sequence[QAction],
        parent: QWidget | None = None,
        *,
        more: Sequence[tuple[str, str]] = (),
    ) -> None:
        super().__init__(parent)
        self.setObjectName("shortcutHelp")
        self.setWindowTitle("Keyboard shortcuts")

        rows = [
            (action_label(action), shortcut_text(action))
            for action in actions
            if not action.isSeparator() and action_label(action)
        ]
        rows.extend(more)  # keys that are not actions: tabs' mnemonics, keys inside forms
        self.table = QTableWidget(len(rows), 2)
        self.table.setObjectName("shortcutTable")
        self.table.setHorizontalHeaderLabels(["Action", "Shortcut"])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setTabKeyNavigation(False)
        self.table.verticalHeader().hide()
        self.table.setAlternatingRowColors(True)
        for row, (label, keys) in enumerate(rows):
            for column, text in enumerate((label, keys)):
                item = QTableWidgetItem(text)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                self.table.setItem(row, column, item)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.resizeColumnToContents(1)
        self.table.setColumnWidth(1, self.table.columnWidth(1) + _SHORTCUT_MARGIN)
        if rows:
            self.table.setCurrentCell(0, 0)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close = buttons.button(QDialogButtonBox.StandardButton.Close)
        close.setDefault(True)  # Enter anywhere in the dialog closes it
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.table.setFocus()
        self.resize(420, min(720, 120 + 30 * len(rows)))


#: Keys every form and date field understands (DESIGN §7: Tab / Enter / Esc alone).
FORM_KEYS: Final = (
    ("Next field in a form", "Tab"),
    ("Previous field in a form", "Shift+Tab"),
    ("Submit a form", "Enter"),
    ("Cancel a form", "Esc"),
    ("Calendar in a date field", "Alt+Down"),
)


def mnemonic_keys(texts: Sequence[str], what: str) -> list[tuple[str, str]]:
    """("Accounts tab", "Alt+A") for each text with an ``&`` mnemonic (``&Accounts``)."""
    rows = []
    for text in texts:
        at = text.replace("&&", "").find("&")
        if 0 <= at < len(text) - 1:
            label = text.replace("&&", "\0").replace("&", "").replace("\0", "&")
            rows.append((f"{label} {what}", f"Alt+{text.replace('&&', '')[at + 1].upper()}"))
    return rows
