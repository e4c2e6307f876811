"""The selected account's ledger: time, type, description, amount, running balance, clerk."""

from __future__ import annotations

from decimal import Decimal
from enum import IntEnum
from typing import Any, Final

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from bank_desktop.application.projections import Ledger, LedgerEntry
from bank_desktop.domain import format_money

# Money right after the type, so the figures stay in sight however narrow the pane is; the
# description takes the room that is left.
HEADERS: Final = ("Time", "Type", "Amount", "Balance", "Description", "Clerk", "Counterpart")


class Column(IntEnum):
    """The ledger table's columns, in order (their titles are :data:`HEADERS`)."""

    TIME = 0
    TYPE = 1
    AMOUNT = 2
    BALANCE = 3
    DESCRIPTION = 4
    CLERK = 5
    COUNTERPART = 6


TIME, TYPE, AMOUNT, BALANCE, DESCRIPTION, CLERK, COUNTERPART = Column
KIND_LABELS: Final = {
    "opened": "Opened",
    "deposit": "Deposit",
    "withdrawal": "Withdrawal",
    "transfer_in": "Transfer in",
    "transfer_out": "Transfer out",
    "reversal": "Reversal",
    "refused": "Refused",
    "closed": "Closed",
}
_OUT: Final = QColor(170, 40, 40)
_IN: Final = QColor(30, 120, 60)

Index = QModelIndex | QPersistentModelIndex


class LedgerModel(QAbstractTableModel):
    """Rows are the ledger's entries in stream order; new entries are appended live."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ledger: Ledger | None = None
        self._count = 0

    @property
    def account_id(self) -> str | None:
        return self._ledger.account_id if self._ledger else None

    @property
    def ledger(self) -> Ledger | None:
        return self._ledger

    def set_ledger(self, ledger: Ledger | None) -> None:
        self.beginResetModel()
        self._ledger = ledger
        self._count = len(ledger.entries) if ledger else 0
        self.endResetModel()

    def sync(self) -> None:
        """Announce entries the ledger gained since the last call."""
        if self._ledger is None:
            return
        total = len(self._ledger.entries)
        if total > self._count:
            self.beginInsertRows(QModelIndex(), self._count, total - 1)
            self._count = total
            self.endInsertRows()

    def entry(self, row: int) -> LedgerEntry:
        assert self._ledger is not None
        return self._ledger.entries[row]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else self._count

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return HEADERS[section] if 0 <= section < len(HEADERS) else None
        if role == Qt.ItemDataRole.TextAlignmentRole and section in (AMOUNT, BALANCE):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or self._ledger is None or not 0 <= index.row() < self._count:
            return None
        entry = self._ledger.entries[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return _display(entry, column)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (AMOUNT, BALANCE):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and column == AMOUNT and entry.amount:
            return QBrush(_OUT if entry.amount < 0 else _IN)
        if role == Qt.ItemDataRole.ToolTipRole:
            where = f"Event {entry.event_id} (position {entry.stream_position})"
            return f"{entry.description}\n{where}" if column == DESCRIPTION else where
        return None


def amount_text(amount: Decimal) -> str:
    """A ledger amount as shown: signed when money moved, empty for lines that move none."""
    if not amount:
        return ""
    return f"{'+' if amount > 0 else ''}{format_money(amount)}"


def _display(entry: LedgerEntry, column: int) -> str:
    match column:
        case Column.TIME:
            return entry.occurred_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
        case Column.TYPE:
            return KIND_LABELS.get(entry.kind, entry.kind)
        case Column.AMOUNT:
            return amount_text(entry.amount)
        case Column.BALANCE:
            return format_money(entry.balance)
        case Column.DESCRIPTION:
            return entry.description
        case Column.CLERK:
            return entry.clerk_id or ""
        case Column.COUNTERPART:
            return entry.counterparty_account_id or ""
    return ""
