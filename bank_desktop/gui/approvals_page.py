"""The Approvals tab (supervisors and admins) and the My requests tab (every clerk).

The Approvals page shows the live queue on the left (oldest first: a queue is worked from its
front) and, for the selected request, who asked, for what, on which account and customer, with
the account's recent history, on the right. The page owns its selection and emits
``request_selected``; the desk (:mod:`bank_desktop.gui.approvals`) enables its actions, loads
the history and hands it back. When the selected request leaves the queue (decided here or at
another desk) the next one is selected, so a supervisor works through the queue by keyboard.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from bank_desktop.application.projections import AccountBalance, Ledger
from bank_desktop.application.projections.approvals import ApprovalSummary
from bank_desktop.domain import format_money
from bank_desktop.gui.accounts_page import ID_COLUMN_CAP, LEDGER_SAMPLES, fit_column, table
from bank_desktop.gui.models import approvals as apm
from bank_desktop.gui.models import ledger as led
from bank_desktop.gui.models.approvals import ApprovalsModel
from bank_desktop.gui.models.ledger import LedgerModel, amount_text

QUEUE_SAMPLES: Final = (
    "2026-12-31 23:59:59",
    "clerk-00000",
    "$999,999.99",
    "Transfer to account-xxxxxxxxxxxx",
    "account-xxxxxxxxxxxx",
    None,
)
#: The selected request's details and its decision keys, beside the account's history.
DETAILS_WIDTH: Final = 470
MY_REQUEST_SAMPLES: Final = (
    "2026-12-31 23:59:59",
    "approval-xxxxxxxxxxxx",
    "Withdrawal",
    "account-xxxxxxxxxxxx",
    "$999,999.99",
    "Approved, but refused when carried out",
    "clerk-00000",
    None,
)
EMPTY_QUEUE: Final = "No request waits for approval."
NO_REQUEST: Final = "Select a request to see it and the account's recent history."


def _label(object_name: str, *, wrap: bool = False) -> QLabel:
    label = QLabel()
    label.setObjectName(object_name)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setWordWrap(wrap)
    return label


def _box(title: QLabel, view: QWidget) -> QWidget:
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(title)
    layout.addWidget(view, 1)
    return box


def moment(value: datetime) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S")


class ApprovalsPage(QWidget):
    """The live queue, the selected request's details and its account's recent history."""

    #: The approval id the supervisor selected (a str), or None when none is.
    request_selected = Signal(object)

    def __init__(
        self, queue: ApprovalsModel, history: LedgerModel, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("approvalsPage")
        self._queue = queue
        self._history_model = history
        self._selected: str | None = None
        self._removed_row: int | None = None

        self._build_widgets(queue, history)
        self._build_layout()

        selection = self.queue_table.selectionModel()
        selection.currentRowChanged.connect(self._current_moved)
        selection.selectionChanged.connect(self._selection_changed)
        queue.rowsAboutToBeRemoved.connect(self._rows_leaving)
        queue.rowsRemoved.connect(self._rows_left)
        queue.modelReset.connect(self._selection_changed)
        queue.rowsInserted.connect(self._queue_grew)
        self._show_count()
        self.show_request(None)

    def _build_widgets(self, queue: ApprovalsModel, history: LedgerModel) -> None:
        self.limit_label = _label("approvalLimit", wrap=True)
        self.queue_table = table("approvalsTable", queue, QUEUE_SAMPLES)
        self.queue_title = _label("approvalsQueueTitle")

        self.requester = _label("approvalRequester")
        self.kind = _label("approvalKind")
        self.account = _label("approvalAccount")
        self.customer = _label("approvalCustomer")
        self.amount = _label("approvalAmount")
        self.requested_at = _label("approvalRequestedAt")
        self.details = _label("approvalDetails", wrap=True)
        self.balance = _label("approvalBalance")
        self.detail_form = QFormLayout()
        for title, label in (
            ("Requested by:", self.requester),
            ("Kind:", self.kind),
            ("Account:", self.account),
            ("Customer:", self.customer),
            ("Amount:", self.amount),
            ("Requested at:", self.requested_at),
            ("Details:", self.details),
            ("Account now:", self.balance),
        ):
            self.detail_form.addRow(title, label)
        self.history_title = _label("approvalHistoryTitle")
        self.history_table = table("approvalHistoryTable", history, LEDGER_SAMPLES)

        self.approve_button = QPushButton("Approve (Ctrl+Enter)")
        self.approve_button.setObjectName("approveButton")
        self.reject_button = QPushButton("Reject… (Delete)")
        self.reject_button.setObjectName("rejectButton")
        for button in (self.approve_button, self.reject_button):
            button.setAutoDefault(False)
        self.note = _label("approvalNote", wrap=True)
        self.error = _label("approvalError", wrap=True)
        self.error.setVisible(False)
        self.status = _label("approvalStatus", wrap=True)

    def _build_layout(self) -> None:
        """The queue across the top; below it the selected request (and the decision keys)
        beside its account's history."""
        top = _box(self.queue_title, self.queue_table)
        buttons = QHBoxLayout()
        buttons.addWidget(self.approve_button)
        buttons.addWidget(self.reject_button)
        buttons.addStretch(1)
        details = QWidget()
        details_layout = QVBoxLayout(details)
        details_layout.setContentsMargins(0, 0, 0, 0)
        details_layout.addLayout(self.detail_form)
        details_layout.addLayout(buttons)
        details_layout.addWidget(self.note)
        details_layout.addWidget(self.error)
        details_layout.addWidget(self.status)
        details_layout.addStretch(1)
        bottom = QSplitter(Qt.Orientation.Horizontal)
        bottom.setObjectName("approvalDetailsSplitter")
        bottom.addWidget(details)
        bottom.addWidget(_box(self.history_title, self.history_table))
        bottom.setChildrenCollapsible(False)
        bottom.setStretchFactor(0, 0)
        bottom.setStretchFactor(1, 1)
        bottom.setSizes([DETAILS_WIDTH, 800])
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.setObjectName("approvalsSplitter")
        splitter.addWidget(top)
        splitter.addWidget(bottom)
        splitter.setChildrenCollapsible(False)
        splitter.setSizes([300, 400])
        layout = QVBoxLayout(self)
        layout.addWidget(self.limit_label)
        layout.addWidget(splitter, 1)
        QWidget.setTabOrder(self.queue_table, self.approve_button)
        QWidget.setTabOrder(self.approve_button, self.reject_button)
        QWidget.setTabOrder(self.reject_button, self.history_table)

    def set_actions(self, approve: QAction, reject: QAction) -> None:
        """The buttons trigger (and follow the state of) the desk's actions."""
        for button, action in ((self.approve_button, approve), (self.reject_button, reject)):
            button.clicked.connect(action.trigger)
            button.setToolTip(action.toolTip())
            action.enabledChanged.connect(button.setEnabled)
            button.setEnabled(action.isEnabled())

    # ── selection ─────────────────────────────────────────────────────────────────────────

    @property
    def selected_id(self) -> str | None:
        return self._selected

    def selected(self) -> ApprovalSummary | None:
        """The request the supervisor sees selected, or None."""
        row = self._queue.row_of(self._selected) if self._selected else None
        return None if row is None else self._queue.summary(row)

    def select(self, approval_id: str) -> bool:
        row = self._queue.row_of(approval_id)
        if row is None:
            return False
        self._select_row(row)
        return True

    def select_first_if_none(self) -> None:
        if self._selected is None and self._queue.rowCount() > 0:
            self._select_row(0)

    def _select_row(self, row: int) -> None:
        index = self._queue.index(row, 0)
        self.queue_table.setCurrentIndex(index)
        self.queue_table.scrollTo(index)

    def _current_moved(self, current: QModelIndex, _previous: QModelIndex) -> None:
        """The row the cursor moved to is the selected one (as in the accounts table)."""
        selection = self.queue_table.selectionModel()
        if current.isValid() and not selection.isRowSelected(current.row(), QModelIndex()):
            selection.select(
                current,
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows,
            )

    def _selection_changed(self, *_: object) -> None:
        rows = self.queue_table.selectionModel().selectedRows()
        chosen = self._queue.summary(rows[0].row()).approval_id if rows else None
        if chosen != self._selected:
            self._selected = chosen
            self.request_selected.emit(chosen)

    def _rows_leaving(self, _parent: QModelIndex, first: int, last: int) -> None:
        row = self._queue.row_of(self._selected) if self._selected else None
        self._removed_row = row if row is not None and first <= row <= last else None

    def _rows_left(self, *_: object) -> None:
        """The selected request left the queue (decided): select the one now in its place."""
        self._show_count()
        row, self._removed_row = self._removed_row, None
        if row is None:
            return
        count = self._queue.rowCount()
        if count:
            self._select_row(min(row, count - 1))
        self._selection_changed()

    def _queue_grew(self, *_: object) -> None:
        self._show_count()
        if self.queue_table.hasFocus():
            self.select_first_if_none()

    def _show_count(self) -> None:
        count = self._queue.rowCount()
        self.queue_title.setText(
            EMPTY_QUEUE
            if count == 0
            else f"{count} request{'s' if count != 1 else ''} waiting, oldest first"
        )

    # ── what is shown ─────────────────────────────────────────────────────────────────────

    def show_limit(self, text: str) -> None:
        self.limit_label.setText(text)

    def show_request(
        self,
        summary: ApprovalSummary | None,
        *,
        customer: str = "",
        row: AccountBalance | None = None,
    ) -> None:
        """The selected request's details (None: nothing selected) and the account's figures
        as the read model has them now."""
        if summary is None:
            for label in (
                self.requester,
                self.kind,
                self.account,
                self.customer,
                self.amount,
                self.requested_at,
                self.details,
                self.balance,
            ):
                label.setText("")
            self.history_title.setText(
                NO_REQUEST if self._queue.rowCount() else "Nothing to approve."
            )
            self.show_history(None)
            return
        self.requester.setText(summary.requested_by)
        self.kind.setText(apm.kind_text(summary))
        self.account.setText(summary.account_id)
        self.customer.setText(customer)
        self.amount.setText(format_money(summary.amount))
        self.requested_at.setText(moment(summary.requested_at))
        details = []
        if summary.description:
            details.append(f"“{summary.description}”")
        if summary.request_reason:
            details.append(f"reason: {summary.request_reason}")
        if summary.limit is not None:
            details.append(f"above the limit of {format_money(summary.limit)} when asked")
        self.details.setText("; ".join(details))
        self.show_account(row)

    def show_account(self, row: AccountBalance | None) -> None:
        """The selected request's account as it stands now (it follows every desk)."""
        if row is None:
            self.balance.setText("not in the read model")
            return
        available = row.available(datetime.now(UTC))
        figures = f"balance {format_money(row.balance)}"
        if available != row.balance:
            figures += f", available {format_money(available)}"
        if not row.is_open:
            figures += " · closed"
        self.balance.setText(figures)

    def show_history(self, ledger: Ledger | None, *, loading: str | None = None) -> None:
        """The account's history, newest at the bottom, in view."""
        self._history_model.set_ledger(ledger)
        if loading is not None:
            self.history_title.setText(loading)
        if ledger is None:
            return
        self.history_title.setText(f"Recent history of {ledger.account_id} (newest last)")
        self._fit_history(ledger)
        self.history_table.scrollToBottom()

    def history_grew(self) -> None:
        ledger = self._history_model.ledger
        if ledger is not None:
            self._history_model.sync()
            self._fit_history(ledger)
            self.history_table.scrollToBottom()

    def _fit_history(self, ledger: Ledger) -> None:
        entries = ledger.entries
        if not entries:
            return
        view = self.history_table
        amounts = [e.amount for e in entries]
        balances = [e.balance for e in entries]
        fit_column(view, led.AMOUNT, [amount_text(min(amounts)), amount_text(max(amounts))])
        fit_column(view, led.BALANCE, [format_money(min(balances)), format_money(max(balances))])
        fit_column(view, led.CLERK, {e.clerk_id or "" for e in entries}, cap=ID_COLUMN_CAP)

    def show_note(self, text: str) -> None:
        self.note.setText(text)

    def show_error(self, text: str) -> None:
        """A refusal the supervisor must see (empty: none)."""
        self.error.setText(text)
        self.error.setVisible(bool(text))

    def show_status(self, text: str) -> None:
        self.status.setText(text)

    def fit_columns(self) -> None:
        """Widen the queue's columns for the rows it holds (money never elides)."""
        fit_request_columns(self.queue_table, self._queue)


def fit_request_columns(view: QTableView, model: ApprovalsModel) -> None:
    """Widen ``view``'s columns for the rows ``model`` holds: money whole, ids and names up to
    a cap (the rows are a queue or one clerk's requests: few enough to measure each)."""
    for column, which in enumerate(model.columns):
        texts = model.texts(column)
        fit_column(view, column, texts, cap=0 if which is apm.Column.AMOUNT else ID_COLUMN_CAP)


class MyRequestsPage(QWidget):
    """Every request this clerk made, newest first, and where each stands (live)."""

    def __init__(self, model: ApprovalsModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("myRequestsPage")
        self._model = model
        self.title = _label("myRequestsTitle", wrap=True)
        self.table = table("myRequestsTable", model, MY_REQUEST_SAMPLES)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.table, 1)
        for signal in (model.rowsInserted, model.rowsRemoved, model.modelReset, model.dataChanged):
            signal.connect(self._show_count)
        self._show_count()

    def fit_columns(self) -> None:
        fit_request_columns(self.table, self._model)

    def _show_count(self, *_: object) -> None:
        rows = self._model.summaries()
        waiting = sum(1 for s in rows if s.is_pending)
        if not rows:
            self.title.setText(
                "Requests you send for approval (a withdrawal, transfer or reversal above the "
                "approval limit) show here with the supervisor's decision."
            )
            return
        self.title.setText(
            f"{len(rows)} request{'s' if len(rows) != 1 else ''} you sent for approval, newest "
            f"first; {waiting} waiting for a supervisor."
        )

    def select_first_if_none(self) -> None:
        if not self.table.selectionModel().hasSelection() and self._model.rowCount():
            self.table.setCurrentIndex(self._model.index(0, 0))
