"""The selected account's ledger: time, type, description, amount, running balance, clerk.

A reversal and the line it undoes are linked in their descriptions ("reversed by …",
"reverses …"; the reversed line is greyed), and hold lines say how much they set aside.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import IntEnum
from typing import Any, Final

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont

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
    "hold_placed": "Hold placed",
    "hold_released": "Hold released",
}
_OUT: Final = QColor(170, 40, 40)
_IN: Final = QColor(30, 120, 60)
_UNDONE: Final = QColor(130, 130, 130)

Index = QModelIndex | QPersistentModelIndex


class LedgerModel(QAbstractTableModel):
    """Rows are the ledger's entries in stream order; new entries are appended live."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ledger: Ledger | None = None
        self._count = 0
        #: The entries taking part in a reversal (both sides), by event id.
        self._linked: dict[str, LedgerEntry] = {}

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
        self._linked = {}
        if ledger is not None and ledger.reversed_by:
            wanted = set(ledger.reversed_by) | set(ledger.reversed_by.values())
            self._linked = {e.event_id: e for e in ledger.entries if e.event_id in wanted}
        self.endResetModel()

    def sync(self) -> None:
        """Announce entries the ledger gained since the last call (and repaint a line a new
        reversal undid)."""
        if self._ledger is None:
            return
        entries = self._ledger.entries
        total = len(entries)
        if total > self._count:
            first = self._count
            self.beginInsertRows(QModelIndex(), first, total - 1)
            self._count = total
            self.endInsertRows()
            for entry in entries[first:total]:
                if entry.reverses_event_id is not None:
                    self._link(entry, first)

    def _link(self, reversal: LedgerEntry, before: int) -> None:
        """A new reversal: remember both sides and repaint the line it undoes."""
        self._linked[reversal.event_id] = reversal
        entries = self._ledger.entries if self._ledger is not None else []
        for row in range(min(before, len(entries)) - 1, -1, -1):
            if entries[row].event_id == reversal.reverses_event_id:
                self._linked[entries[row].event_id] = entries[row]
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(HEADERS) - 1))
                return

    def reversed_by(self, entry: LedgerEntry) -> LedgerEntry | None:
        """The reversal that undid ``entry`` (in this ledger), or None."""
        if self._ledger is None:
            return None
        undone = self._ledger.reversed_by.get(entry.event_id)
        return self._linked.get(undone) if undone else None

    def reverses(self, entry: LedgerEntry) -> LedgerEntry | None:
        """The line the reversal ``entry`` undoes (in this ledger), or None."""
        target = entry.reverses_event_id
        return self._linked.get(target) if target else None

    def description(self, entry: LedgerEntry) -> str:
        """The description as shown: the link between a reversal and the line it undoes
        first (so a narrow column still shows it), then the text, and for a hold line the
        amount it sets aside."""
        text = entry.description
        if entry.hold_amount is not None:
            until = f" until {_minute(entry.expires_at)}" if entry.expires_at else ""
            held = "held" if entry.kind == "hold_placed" else "freed"
            text += f" · {format_money(entry.hold_amount)} {held}{until}"
        links = []
        undone = self.reversed_by(entry)
        if undone is not None:
            links.append(f"Reversed by the reversal {_near(undone.occurred_at, entry)}")
        elif self._ledger is not None and entry.event_id in self._ledger.reversed_by:
            links.append("Reversed")
        if entry.reverses_event_id is not None:
            target = self.reverses(entry)
            links.append(
                f"Reverses the {KIND_LABELS.get(target.kind, target.kind).lower()} of "
                f"{format_money(abs(target.amount))} {_near(target.occurred_at, entry)}"
                if target is not None
                else f"Reverses {entry.reverses_event_id}"
            )
        return " · ".join([*links, text])

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
            return self.description(entry) if column == DESCRIPTION else _display(entry, column)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (AMOUNT, BALANCE):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        undone = entry.event_id in self._ledger.reversed_by
        if role == Qt.ItemDataRole.ForegroundRole:
            if undone and column in (AMOUNT, DESCRIPTION, TYPE):
                return QBrush(_UNDONE)
            if column == AMOUNT and entry.amount:
                return QBrush(_OUT if entry.amount < 0 else _IN)
            return None
        if role == Qt.ItemDataRole.FontRole and undone and column == AMOUNT:
            font = QFont()
            font.setStrikeOut(True)  # the money came back: the figure no longer counts
            return font
        if role == Qt.ItemDataRole.ToolTipRole:
            where = f"Event {entry.event_id} (position {entry.stream_position}); Ctrl+I: why"
            return f"{self.description(entry)}\n{where}" if column == DESCRIPTION else where
        return None


def _minute(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M") if moment else ""


def _near(moment: datetime, entry: LedgerEntry) -> str:
    """``at 09:12`` on the same local day as ``entry``, else ``on 2026-11-02 09:12``."""
    local = moment.astimezone()
    if local.date() == entry.occurred_at.astimezone().date():
        return f"at {local:%H:%M}"
    return f"on {local:%Y-%m-%d %H:%M}"


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
