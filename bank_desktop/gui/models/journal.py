"""The journal dialog's tables: a day's lines, and the totals by kind."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from bank_desktop.application.journal import Journal, JournalLine
from bank_desktop.domain import format_money
from bank_desktop.gui.journal_files import HELD_KINDS, kind_label, line_time, total_label

LINE_HEADERS: Final = ("Time", "Account", "Customer", "Kind", "Amount", "Description", "Clerk")
TIME, ACCOUNT, CUSTOMER, KIND, AMOUNT, DESCRIPTION, CLERK = range(len(LINE_HEADERS))
TOTAL_HEADERS: Final = ("Kind", "Count", "Amount")
_RIGHT: Final = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_OUT: Final = QColor(170, 40, 40)
_HELD: Final = QColor(110, 110, 110)


def amount_text(line: JournalLine) -> str:
    """Money moved (signed), or for a hold line what it set aside or freed."""
    if line.held is not None:
        return f"{'held' if line.kind == 'hold_placed' else 'freed'} {format_money(line.held)}"
    return format_money(line.amount) if line.amount else ""


Index = QModelIndex | QPersistentModelIndex


class JournalLinesModel(QAbstractTableModel):
    """Every line of the journal shown, in time order; customers by name where registered."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._journal: Journal | None = None
        self._names: Mapping[str, str] = {}

    def set_journal(self, journal: Journal | None, names: Mapping[str, str]) -> None:
        self.beginResetModel()
        self._journal, self._names = journal, names
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() or self._journal is None else len(self._journal.lines)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(LINE_HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(LINE_HEADERS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return LINE_HEADERS[section]
        if role == Qt.ItemDataRole.TextAlignmentRole and section == AMOUNT:
            return _RIGHT
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        journal = self._journal
        if journal is None or not index.isValid() or not 0 <= index.row() < len(journal.lines):
            return None
        line = journal.lines[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole and 0 <= column < len(LINE_HEADERS):
            values = (
                line_time(journal, line),
                line.account_id,
                self._names.get(line.account_id, ""),
                kind_label(line.kind),
                amount_text(line),
                line.description,
                line.clerk_id or "",
            )
            return values[column]
        if role == Qt.ItemDataRole.TextAlignmentRole and column == AMOUNT:
            return _RIGHT
        if role == Qt.ItemDataRole.ForegroundRole and column == AMOUNT:
            if line.held is not None:
                return QBrush(_HELD)  # set aside or freed: no money moved
            return QBrush(_OUT) if line.amount < 0 else None
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"Event {line.event_id}; request {line.request_id or 'not recorded'}"
        return None


class JournalTotalsModel(QAbstractTableModel):
    """Count and amount per kind of line (every kind, zero ones too), then the transfers."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[tuple[str, str, str]] = []

    def set_journal(self, journal: Journal | None) -> None:
        self.beginResetModel()
        self._rows = []
        if journal is not None:
            for kind, total in journal.totals.items():
                held = " held" if kind in HELD_KINDS and total.count else ""
                self._rows.append(
                    (total_label(kind), f"{total.count:,}", f"{format_money(total.amount)}{held}")
                )
            self._rows.append(("Transfers taking part", f"{journal.transfers:,}", ""))
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(TOTAL_HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(TOTAL_HEADERS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return TOTAL_HEADERS[section]
        if role == Qt.ItemDataRole.TextAlignmentRole and section:
            return _RIGHT
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self._rows[index.row()][index.column()]
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column():
            return _RIGHT
        return None
