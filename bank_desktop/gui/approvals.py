"""Dual control in the window: the Approvals tab, My requests, and what a clerk is told.

Kept out of ``main_window.py``, which builds one :class:`ApprovalsDesk`, lets it add its tabs
and menu, and hands it a command's outcome that was sent for approval. The desk follows the
store through the window's own live feed (``WindowSession.applied``): it loads roles, the
approval limit and every request once the read model has loaded
(:func:`~bank_desktop.application.projections.dual_control.load_dual_control`, on a worker),
then folds each live page, so a request made at another desk is in the queue as soon as the
feed delivers it (a few tenths of a second), and a role granted or revoked at another desk
shows or hides the Approvals tab as fast. Nothing polls.

Decisions run through the window's :class:`~bank_desktop.gui.workers.BackgroundWork` as the
clerk's commands (the window waits for them before it closes and announces them); a refusal
(decided already at another desk, the clerk's own request, the rules refusing it when carried
out) shows in the page, in words, and the queue follows the store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Final

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QMainWindow, QMenu, QMenuBar, QTabWidget

from bank_desktop.application.ids import new_command_id
from bank_desktop.application.projections import Ledger
from bank_desktop.application.projections.approvals import ApprovalSummary
from bank_desktop.application.projections.dual_control import (
    DualControlChanges,
    DualControlView,
    load_dual_control,
)
from bank_desktop.application.read_model_session import SessionChanges
from bank_desktop.domain import ApprovalFailedError, ApprovalRequired, format_money
from bank_desktop.eventstore import RecordedEvent
from bank_desktop.gui.approvals_page import ApprovalsPage, MyRequestsPage
from bank_desktop.gui.context import AppContext
from bank_desktop.gui.forms.reject_form import RejectForm
from bank_desktop.gui.loading import Loaded
from bank_desktop.gui.messages import describe_error
from bank_desktop.gui.models.approvals import (
    MY_REQUEST_COLUMNS,
    QUEUE_COLUMNS,
    ApprovalsModel,
    describe_request,
    outcome_text,
)
from bank_desktop.gui.models.ledger import LedgerModel
from bank_desktop.gui.session import WindowSession
from bank_desktop.gui.workers import BackgroundWork, Outcome

APPROVALS_TAB: Final = "A&pprovals"
MY_REQUESTS_TAB: Final = "My &requests"
#: Roles that see the Approvals tab; only supervisors decide (admins see the queue and limit).
SEES_QUEUE: Final = frozenset({"supervisor", "admin"})
#: How soon a failed load of dual control is tried again.
RELOAD_MS: Final = 3_000
#: How long good news stays in the status bar; a refusal stays until the next message.
NEWS_MS: Final = 30_000


class ApprovalsDesk(QObject):
    """The window's dual control: the queue, the clerk's own requests, and the decisions."""

    #: A sentence for the status bar, and how long it stays (0: until the next one).
    message = Signal(str, int)

    def __init__(
        self,
        window: QMainWindow,
        context: AppContext,
        jobs: BackgroundWork,
        session: WindowSession,
        *,
        open_dialog: Callable[[QDialog], QDialog],
    ) -> None:
        super().__init__(window)
        self._window = window
        self._context = context
        self._jobs = jobs
        self._session = session
        self._open_dialog = open_dialog
        self._view: DualControlView | None = None
        #: Live pages that came while dual control was loading (applied once it has).
        self._waiting: list[list[RecordedEvent]] | None = None
        self._deciding: set[str] = set()
        self._tabs: QTabWidget | None = None
        self.queue_model = ApprovalsModel(
            QUEUE_COLUMNS, customer_of=self.customer_text, parent=self
        )
        self.mine_model = ApprovalsModel(MY_REQUEST_COLUMNS, parent=self)
        self.history_model = LedgerModel(self)
        self.page = ApprovalsPage(self.queue_model, self.history_model)
        self.requests_page = MyRequestsPage(self.mine_model)
        self._build_actions()
        self.page.set_actions(self.approve_action, self.reject_action)
        self.page.request_selected.connect(self._request_selected)
        session.loaded.connect(self._model_loaded)
        session.applied.connect(self._applied)
        self._show_limit()

    # ── building ──────────────────────────────────────────────────────────────────────────

    def _action(self, text: str, shortcuts: Sequence[str], slot: Callable[[], object]) -> QAction:
        action = QAction(text, self._window)
        action.setShortcuts([QKeySequence(key) for key in shortcuts])
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        keys = " or ".join(QKeySequence(key).toString() for key in shortcuts)
        action.setToolTip(f"{text.replace('&', '').rstrip('.…')} ({keys})")
        action.triggered.connect(slot)
        self._window.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.approve_action = self._action(
            "&Approve request", ("Ctrl+Return", "Ctrl+Enter"), self.approve_selected
        )
        self.approve_action.setObjectName("approveAction")
        self.reject_action = self._action(
            "&Reject request…", ("Ctrl+Backspace", "Delete"), self.reject_form
        )
        self.reject_action.setObjectName("rejectAction")
        self.show_queue_action = QAction("Approvals &queue", self._window)
        self.show_queue_action.triggered.connect(lambda: self._show_tab(self.page))
        self.show_mine_action = QAction("&My requests", self._window)
        self.show_mine_action.triggered.connect(lambda: self._show_tab(self.requests_page))
        self._update_actions()

    def shortcut_actions(self) -> list[QAction]:
        return [self.approve_action, self.reject_action]

    def add_to(self, tabs: QTabWidget, bar: QMenuBar, *, before: QAction | None = None) -> None:
        """Add the two tabs (the Approvals one shown to supervisors and admins only) and the
        Approvals menu (before ``before``, the Help menu's action)."""
        self._tabs = tabs
        tabs.addTab(self.page, APPROVALS_TAB)
        tabs.addTab(self.requests_page, MY_REQUESTS_TAB)
        tabs.currentChanged.connect(self._tab_changed)
        menu = QMenu("Approval&s", bar)
        menu.setObjectName("approvalsMenu")
        menu.addActions([self.approve_action, self.reject_action])
        menu.addSeparator()
        menu.addActions([self.show_queue_action, self.show_mine_action])
        if before is not None:
            bar.insertMenu(before, menu)
        else:
            bar.addMenu(menu)
        self._update_access()

    # ── what the clerk may do ─────────────────────────────────────────────────────────────

    @property
    def clerk_id(self) -> str:
        return self._context.clerk_id

    @property
    def view(self) -> DualControlView | None:
        """Dual control as this desk sees it (None until it has loaded)."""
        return self._view

    def roles(self) -> frozenset[str]:
        view = self._view
        return frozenset(view.roles_of(self.clerk_id)) if view is not None else frozenset()

    @property
    def sees_queue(self) -> bool:
        return bool(self.roles() & SEES_QUEUE)

    @property
    def decides(self) -> bool:
        return "supervisor" in self.roles()

    def _update_access(self) -> None:
        """Show the Approvals tab to supervisors and admins only (as the store says now)."""
        tabs = self._tabs
        allowed = self.sees_queue
        self.show_queue_action.setEnabled(allowed)
        if tabs is not None:
            index = tabs.indexOf(self.page)
            if not allowed and tabs.currentIndex() == index:
                tabs.setCurrentIndex(0)
            tabs.setTabVisible(index, allowed)
            tabs.setTabEnabled(index, allowed)
        self._show_limit()
        self._update_actions()

    def _update_actions(self) -> None:
        tabs = self._tabs
        on_page = tabs is not None and tabs.currentWidget() is self.page
        summary = self.page.selected()
        decides = self.decides
        own = summary is not None and summary.requested_by == self.clerk_id
        busy = summary is not None and summary.approval_id in self._deciding
        self.approve_action.setEnabled(
            on_page and decides and summary is not None and not own and not busy
        )
        self.reject_action.setEnabled(on_page and decides and summary is not None and not busy)
        if summary is None:
            note = ""
        elif not decides:
            note = "Only a supervisor approves or rejects requests."
        elif busy:
            note = "Sending your decision to the store…"
        elif own:
            note = (
                "You asked for this one: another supervisor must approve it (four eyes). "
                "You may reject it (Ctrl+Backspace)."
            )
        else:
            note = "Ctrl+Enter approves; Ctrl+Backspace or Delete rejects with a reason."
        self.page.show_note(note)

    def _show_limit(self) -> None:
        view = self._view
        roles = ", ".join(sorted(self.roles() - {"teller"})) or "teller"
        you = f"You are {self.clerk_id} ({roles})."
        if view is None:
            self.page.show_limit(f"Reading the approval limit and the queue… {you}")
        elif view.limit_unreadable:
            self.page.show_limit(
                "The approval policy holds a change this version does not know: every "
                f"withdrawal, transfer and reversal waits for approval. {you}"
            )
        elif view.approval_limit is None:
            self.page.show_limit(
                "No approval limit is set: nothing waits for approval (an admin sets one with "
                f"bank-desktop policy set-limit). {you}"
            )
        else:
            self.page.show_limit(
                f"Approval limit: {format_money(view.approval_limit)}. Withdrawals, transfers "
                "and reversals above it wait here for a supervisor other than the one who "
                f"asked. {you}"
            )

    def clerk_changed(self) -> None:
        """The clerk saved another id in Settings: their roles and their requests now."""
        self._update_access()
        self._show_requests()

    # ── following the store ───────────────────────────────────────────────────────────────

    def _model_loaded(self, _loaded: Loaded) -> None:
        self._load()

    def _load(self) -> None:
        """The read model is on screen: read dual control on a worker; pages that arrive
        meanwhile wait and are applied after it (repeats change nothing)."""
        self._waiting = []
        store = self._context.store
        self._jobs.run(
            lambda: load_dual_control(store),
            receiver=self,
            on_success=self._view_loaded,
            on_failure=self._load_failed,
        )

    def _load_failed(self, exc: BaseException) -> None:
        self.page.show_limit(f"The approval queue could not be read: {describe_error(exc)}")
        QTimer.singleShot(RELOAD_MS, self._reload)

    def _reload(self) -> None:
        if self._view is None and not self._context.closed:
            self._load()

    def _view_loaded(self, view: DualControlView) -> None:
        for batch in self._waiting or []:
            view.apply(batch)
        self._waiting = None
        self._view = view
        self._update_access()
        self._show_queue()
        self._show_requests()

    def _applied(self, changes: SessionChanges, batch: list[RecordedEvent]) -> None:
        view = self._view
        if view is None:
            if self._waiting is not None:  # held until the load is in (only what counts)
                self._waiting.append([e for e in batch if DualControlView.concerns(e)])
            return
        before = self.sees_queue, self.decides
        moved = view.apply(batch)
        if moved:
            self._follow(moved, before)
        self._account_moved(changes)

    def _follow(self, moved: DualControlChanges, before: tuple[bool, bool]) -> None:
        """Show what a live page changed; ``before``: what the clerk could do until now."""
        if self.clerk_id in moved.roles:
            self._update_access()
            self._tell_roles(before)
        elif moved.roles:
            self._update_actions()
        if moved.policy:
            self._show_limit()
        if moved.approvals:
            self._show_queue()
            if any(self._mine(approval_id) for approval_id in moved.approvals):
                self._show_requests()
                self._tell_outcomes(moved.approvals)

    def _mine(self, approval_id: str) -> bool:
        view = self._view
        summary = view.get(approval_id) if view is not None else None
        return summary is not None and summary.requested_by == self.clerk_id

    def _tell_roles(self, before: tuple[bool, bool]) -> None:
        now = self.sees_queue, self.decides
        if now == before:
            return
        if now[1]:
            text = "You are now a supervisor: the Approvals tab (Alt+P) shows the queue."
        elif now[0]:
            text = "You now see the approval queue (Alt+P); only supervisors decide."
        else:
            text = "You no longer approve requests: the Approvals tab is closed."
        self.message.emit(text, NEWS_MS)

    def _tell_outcomes(self, approval_ids: set[str]) -> None:
        """The clerk's own requests that were just decided (at any desk): say how."""
        view = self._view
        assert view is not None
        for approval_id in sorted(approval_ids):
            summary = view.get(approval_id)
            if summary is None or summary.requested_by != self.clerk_id:
                continue
            what = describe_request(summary)
            by = summary.decided_by or "a supervisor"
            if summary.status == "executed":
                text = (
                    f"Your request #{approval_id} was approved by {by} and carried out: "
                    f"{what}; {outcome_text(summary)}."
                )
                self.message.emit(text, NEWS_MS)
            elif summary.status == "rejected":
                self.message.emit(
                    f"Your request #{approval_id} was rejected by {by}: {summary.reason} ({what}).",
                    0,
                )
            elif summary.status == "failed":
                text = (
                    f"Your request #{approval_id} was approved by {by} but refused when "
                    f"carried out: {summary.reason} ({what}; nothing moved)."
                )
                self.message.emit(text, 0)

    def _show_queue(self) -> None:
        view = self._view
        if view is None:
            return
        pending = view.pending()
        self.queue_model.set_rows(pending)
        self.page.fit_columns()
        if self._tabs is not None and self._tabs.currentWidget() is self.page:
            self.page.select_first_if_none()
        self._show_selected()

    def _show_requests(self) -> None:
        view = self._view
        if view is not None:
            self.mine_model.set_rows(view.requested_by(self.clerk_id))
            self.requests_page.fit_columns()

    def _account_moved(self, changes: SessionChanges) -> None:
        """Keep the selected request's account figures and history current (any desk)."""
        if changes.model.changed_customers:
            self.queue_model.customers_changed()
            self.page.fit_columns()
        summary = self.page.selected()
        if summary is None:
            return
        account = summary.account_id
        if account in changes.model.changed_accounts or changes.model.changed_customers:
            self._show_selected()
        if account in changes.ledgers and self.history_model.account_id == account:
            ledgers = self._session.ledgers
            kept = ledgers.cached(account) if ledgers is not None else None
            if kept is self.history_model.ledger:
                self.page.history_grew()
            else:
                self._load_history(account)

    # ── the selected request ──────────────────────────────────────────────────────────────

    def customer_text(self, account_id: str) -> str:
        """The account's customer as the read model names them: "Ada Lovelace (cust-1)"."""
        model = self._session.model
        row = model.balances.get(account_id) if model is not None else None
        if row is None:
            return ""
        return f"{row.customer_name} ({row.customer_id})" if row.customer_name else row.customer_id

    def _show_selected(self) -> None:
        summary = self.page.selected()
        model = self._session.model
        row = model.balances.get(summary.account_id) if model and summary else None
        customer = self.customer_text(summary.account_id) if summary else ""
        self.page.show_request(summary, customer=customer, row=row)
        self._update_actions()

    def _request_selected(self, approval_id: str | None) -> None:
        # A refusal shown stays until the next decision: the queue may move on under it (the
        # request it names left the queue) before the supervisor has read it.
        self._show_selected()
        summary = self.page.selected()
        if summary is None:
            return
        if self.history_model.account_id != summary.account_id:
            self._load_history(summary.account_id)
        else:
            self.page.show_history(self.history_model.ledger)

    def _load_history(self, account_id: str) -> None:
        self.page.show_history(None, loading=f"{account_id} – loading its history…")
        session = self._session
        self._jobs.run(
            lambda: session.load_ledger(account_id),
            receiver=self.page,
            on_success=lambda ledger: self._history_loaded(account_id, ledger),
            on_failure=lambda exc: self.page.show_history(
                None, loading=f"{account_id}: {describe_error(exc)}"
            ),
        )

    def _history_loaded(self, account_id: str, ledger: Ledger) -> None:
        summary = self.page.selected()
        if summary is None or summary.account_id != account_id:
            return  # the supervisor moved on while it loaded
        model = self._session.model
        row = model.balances.get(account_id) if model is not None else None
        if row is not None and ledger.position < row.revision:
            self._load_history(account_id)  # events arrived while it loaded: read again
            return
        self.page.show_history(ledger)

    # ── tabs ──────────────────────────────────────────────────────────────────────────────

    def _show_tab(self, page: object) -> None:
        tabs = self._tabs
        if tabs is not None:
            index = tabs.indexOf(page)  # type: ignore[arg-type]
            if tabs.isTabEnabled(index):
                tabs.setCurrentIndex(index)

    def _tab_changed(self, _index: int) -> None:
        tabs = self._tabs
        assert tabs is not None
        if tabs.currentWidget() is self.page:
            self.page.select_first_if_none()
            QTimer.singleShot(0, self._focus_queue)
        elif tabs.currentWidget() is self.requests_page:
            self.requests_page.select_first_if_none()
            QTimer.singleShot(0, self.requests_page.table.setFocus)
        self._update_actions()

    def _focus_queue(self) -> None:
        tabs = self._tabs
        if tabs is not None and tabs.currentWidget() is self.page:
            self.page.queue_table.setFocus(Qt.FocusReason.OtherFocusReason)

    # ── deciding ──────────────────────────────────────────────────────────────────────────

    def approve_selected(self) -> None:
        summary = self.page.selected()
        if summary is not None and self.approve_action.isEnabled():
            self.approve(summary.approval_id)

    def approve(self, approval_id: str) -> None:
        """Approve ``approval_id`` on a worker (the service checks who may: a refusal shows
        in the page), and carry it out."""
        if approval_id in self._deciding:
            return
        bank, key = self._context.bank, new_command_id()
        view = self._view
        summary = view.get(approval_id) if view is not None else None
        what = describe_request(summary) if summary is not None else "request"
        self._deciding.add(approval_id)
        self.page.show_error("")
        self.page.show_status(f"Approving #{approval_id}…")
        self._update_actions()
        self._jobs.run(
            lambda: bank.approve(approval_id, command_id=key),
            receiver=self.page,
            on_success=lambda done: self._approved(approval_id, done),
            on_failure=lambda exc: self._refused(approval_id, exc),
            label=f"Approval of the {what} (#{approval_id})",
            describe=lambda done: f"carried out: {outcome_text(done)}",
        )

    def _approved(self, approval_id: str, done: ApprovalSummary) -> None:
        self._deciding.discard(approval_id)
        self.page.show_status(
            f"Approved #{approval_id} and carried out: {describe_request(done)}; "
            f"{outcome_text(done)}."
        )
        self._update_actions()

    def _refused(self, approval_id: str, exc: BaseException) -> None:
        self._deciding.discard(approval_id)
        reason = describe_error(exc)
        text = reason if isinstance(exc, ApprovalFailedError) else f"Not approved: {reason}"
        self.page.show_status("")
        self.page.show_error(text)
        self.message.emit(text, 0)
        self._update_actions()

    def reject_form(self) -> RejectForm | None:
        """Reject the selected request: a form asks why (the requester reads it)."""
        summary = self.page.selected()
        if summary is None or not self.reject_action.isEnabled():
            return None
        form = RejectForm(self._context.bank, summary, jobs=self._jobs, parent=self._window)
        form.succeeded.connect(
            lambda _done: self.page.show_status(
                f"Rejected #{summary.approval_id}: {describe_request(summary)}."
            )
        )
        self._open_dialog(form)
        form.finished.connect(lambda _result: QTimer.singleShot(0, self._focus_queue))
        return form

    # ── the clerk's own requests ──────────────────────────────────────────────────────────

    def sent_for_approval(self, outcome: Outcome) -> None:
        """A command of this clerk's was held for approval (its form has closed): say so."""
        exc = outcome.error
        assert isinstance(exc, ApprovalRequired)
        limit = _limit_of(exc)
        above = (
            f" is above the approval limit of {format_money(limit)}"
            if limit is not None
            else " waits for a supervisor"
        )
        self.message.emit(
            f"Sent for approval (#{exc.approval_id}): {outcome.label}{above}. No money has "
            "moved; the decision shows here and under My requests (Alt+R).",
            0,
        )


def _limit_of(exc: ApprovalRequired) -> Decimal | None:
    value = exc.details.get("approvalLimit")
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None
