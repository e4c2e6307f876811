"""Requests for approval as tables: a supervisor's queue, and a clerk's own requests.

One model, two sets of columns. Rows are :class:`ApprovalSummary` values from the desk's fold
(:mod:`bank_desktop.application.projections.dual_control`); :meth:`ApprovalsModel.set_rows`
moves the table to a new list by removing, updating and inserting rows (never a reset while
the order holds), so a live change keeps the clerk's selection and scroll position.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import Enum
from typing import Any, Final, assert_never

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from bank_desktop.application.projections.approvals import ApprovalSummary
from bank_desktop.domain import format_money


class Column(Enum):
    """A column either table may show; the value is its title."""

    REQUESTED_AT = "Requested"
    REQUESTED_BY = "Requested by"
    KIND = "Kind"
    ACCOUNT = "Account"
    CUSTOMER = "Customer"
    AMOUNT = "Amount"
    STATUS = "Status"
    DECIDED_BY = "Decided by"
    OUTCOME = "Outcome"
    REQUEST = "Request"


QUEUE_COLUMNS: Final = (
    Column.REQUESTED_AT,
    Column.REQUESTED_BY,
    Column.AMOUNT,
    Column.KIND,
    Column.ACCOUNT,
    Column.CUSTOMER,
)
MY_REQUEST_COLUMNS: Final = (
    Column.REQUESTED_AT,
    Column.REQUEST,
    Column.KIND,
    Column.ACCOUNT,
    Column.AMOUNT,
    Column.STATUS,
    Column.DECIDED_BY,
    Column.OUTCOME,
)
#: Where a request stands, in a clerk's words.
STATUS_TEXT: Final = {
    "requested": "Waiting for a supervisor",
    "approved": "Approved, being carried out",
    "executed": "Approved and carried out",
    "rejected": "Rejected",
    "failed": "Approved, but refused when carried out",
}
KIND_TEXT: Final = {"withdrawal": "Withdrawal", "transfer": "Transfer", "reversal": "Reversal"}
#: The role that gives a row's approval id (tests and the page find rows by it).
APPROVAL_ID_ROLE: Final = Qt.ItemDataRole.UserRole
_GOOD: Final = QColor(30, 120, 60)
_BAD: Final = QColor(170, 40, 40)

Index = QModelIndex | QPersistentModelIndex


def kind_text(summary: ApprovalSummary) -> str:
    """ "Withdrawal", "Transfer to account-…", "Reversal"."""
    text = KIND_TEXT.get(summary.kind, summary.kind)
    if summary.kind == "transfer" and summary.to_account_id:
        return f"{text} to {summary.to_account_id}"
    return text


def outcome_text(summary: ApprovalSummary) -> str:
    """What became of a request: the balance after it, the transfer, or why not."""
    if summary.status == "executed":
        if summary.transfer_id:
            return f"transfer {summary.transfer_id}"
        if summary.balance is not None:
            return f"balance {format_money(summary.balance)}"
        return "carried out"
    if summary.status in ("rejected", "failed"):
        return summary.reason or ""
    return ""


def describe_request(summary: ApprovalSummary) -> str:
    """One line for a status bar: "withdrawal of $6,000.00 from account-…"."""
    money = format_money(summary.amount)
    if summary.kind == "transfer":
        return f"transfer of {money} from {summary.account_id} to {summary.to_account_id}"
    if summary.kind == "reversal":
        return f"reversal of {money} on {summary.account_id}"
    return f"withdrawal of {money} from {summary.account_id}"


class ApprovalsModel(QAbstractTableModel):
    """Requests in the order given to :meth:`set_rows` (the queue: oldest first)."""

    def __init__(
        self,
        columns: Sequence[Column],
        *,
        customer_of: Callable[[str], str] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._columns = tuple(columns)
        self._rows: list[ApprovalSummary] = []
        self._customer_of = customer_of or (lambda _account: "")

    @property
    def columns(self) -> tuple[Column, ...]:
        return self._columns

    def column(self, which: Column) -> int:
        """The index of ``which`` in this table (ValueError when it has no such column)."""
        return self._columns.index(which)

    def summary(self, row: int) -> ApprovalSummary:
        return self._rows[row]

    def summaries(self) -> list[ApprovalSummary]:
        return list(self._rows)

    def row_of(self, approval_id: str) -> int | None:
        for row, summary in enumerate(self._rows):
            if summary.approval_id == approval_id:
                return row
        return None

    def set_rows(self, rows: Sequence[ApprovalSummary]) -> None:
        """Show ``rows``: rows gone are removed, changed ones updated, new ones inserted where
        they belong (a reset only if the order of the kept rows changed)."""
        wanted = {summary.approval_id for summary in rows}
        for row in reversed(range(len(self._rows))):
            if self._rows[row].approval_id not in wanted:
                self.beginRemoveRows(QModelIndex(), row, row)
                del self._rows[row]
                self.endRemoveRows()
        kept = {summary.approval_id for summary in self._rows}
        if [s.approval_id for s in rows if s.approval_id in kept] != [
            s.approval_id for s in self._rows
        ]:
            self.beginResetModel()
            self._rows = list(rows)
            self.endResetModel()
            return
        last = len(self._columns) - 1
        for row, summary in enumerate(rows):
            if row < len(self._rows) and self._rows[row].approval_id == summary.approval_id:
                if self._rows[row] != summary:
                    self._rows[row] = summary
                    self.dataChanged.emit(self.index(row, 0), self.index(row, last))
                continue
            self.beginInsertRows(QModelIndex(), row, row)
            self._rows.insert(row, summary)
            self.endInsertRows()

    def texts(self, column: int) -> list[str]:
        """Every row's text in ``column`` (to size the column to them)."""
        which = self._columns[column]
        return [self._display(summary, which) for summary in self._rows]

    def customers_changed(self) -> None:
        """Customer names may have changed (registered or renamed at another desk)."""
        if Column.CUSTOMER in self._columns and self._rows:
            column = self.column(Column.CUSTOMER)
            self.dataChanged.emit(self.index(0, column), self.index(len(self._rows) - 1, column))

    # ── Qt's side ─────────────────────────────────────────────────────────────────────────

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._columns)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self._columns):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self._columns[section].value
        if role == Qt.ItemDataRole.TextAlignmentRole and self._columns[section] is Column.AMOUNT:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        summary = self._rows[index.row()]
        column = self._columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(summary, column)
        if role == APPROVAL_ID_ROLE:
            return summary.approval_id
        if role == Qt.ItemDataRole.TextAlignmentRole and column is Column.AMOUNT:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and column is Column.STATUS:
            if summary.status == "executed":
                return QBrush(_GOOD)
            if summary.status in ("rejected", "failed"):
                return QBrush(_BAD)
        if role == Qt.ItemDataRole.ToolTipRole:
            details = [f"Request {summary.approval_id}"]
            if summary.description:
                details.append(f"Description: {summary.description}")
            if summary.request_reason:
                details.append(f"Reason: {summary.request_reason}")
            if column is Column.OUTCOME and outcome_text(summary):
                details.append(outcome_text(summary))
            return "\n".join(details)
        return None

    def _display(self, summary: ApprovalSummary, column: Column) -> str:
        match column:
            case Column.REQUESTED_AT:
                return summary.requested_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
            case Column.REQUESTED_BY:
                return summary.requested_by
            case Column.KIND:
                return kind_text(summary)
            case Column.ACCOUNT:
                return summary.account_id
            case Column.CUSTOMER:
                return self._customer_of(summary.account_id)
            case Column.AMOUNT:
                return format_money(summary.amount)
            case Column.STATUS:
                return STATUS_TEXT.get(summary.status, summary.status)
            case Column.DECIDED_BY:
                return summary.decided_by or ""
            case Column.OUTCOME:
                return outcome_text(summary)
            case Column.REQUEST:
                return summary.approval_id
            case _:
                assert_never(column)
