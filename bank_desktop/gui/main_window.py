"""The clerk's window: accounts, the selected account's ledger and chart, the event log.

Only the GUI thread touches widgets and models. The read model loads on a worker (restoring its
snapshot and catching up), then the live feed delivers new events in pages that are applied
here, on the GUI thread, and announced to the models row by row. Commands run on workers
through the forms; nothing in a slot waits on the store.

All background work goes through one owner, ``BackgroundWork``: it decides whether an outcome
is still wanted, and hands the window every clerk's command outcome to announce, including
those whose form was closed while they were on their way. The window closes only once the
store has answered every command the clerk submitted (closing again quits at once).
"""

from __future__ import annotations

import gc
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

from PySide6.QtCore import (
    QItemSelectionModel,
    QModelIndex,
    QSettings,
    Qt,
    QThreadPool,
    QTimer,
)
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QMessageBox,
    QTabWidget,
    QToolBar,
    QWidget,
)

from bank_desktop import __version__
from bank_desktop.application import RecoveryReport, SubscriptionState, SubscriptionStatus
from bank_desktop.application.demo_data import fill_demo_data
from bank_desktop.application.history import read_history
from bank_desktop.application.projections import (
    Ledger,
    ReadModel,
    catch_up,
    load_ledger,
)
from bank_desktop.config import StoredSettings
from bank_desktop.domain import format_money
from bank_desktop.eventstore import (
    EventStoreError,
    RecordedEvent,
)
from bank_desktop.gui import assets
from bank_desktop.gui.accounts_page import AccountsPage
from bank_desktop.gui.context import AppContext
from bank_desktop.gui.event_log import EventLogWidget
from bank_desktop.gui.forms.account_forms import (
    CloseAccountForm,
    MoneyForm,
    OpenAccountForm,
    TransferForm,
)
from bank_desktop.gui.forms.base import CommandForm
from bank_desktop.gui.help_dialog import FORM_KEYS, ShortcutHelpDialog, mnemonic_keys
from bank_desktop.gui.live_feed import LiveFeed
from bank_desktop.gui.loading import Loaded, widest_texts
from bank_desktop.gui.messages import describe_error
from bank_desktop.gui.models.accounts import AccountsModel, AccountsProxy, search_keys_of
from bank_desktop.gui.models.ledger import LedgerModel
from bank_desktop.gui.settings import SettingsDialog
from bank_desktop.gui.statement_dialog import StatementDialog
from bank_desktop.gui.workers import BackgroundWork, Outcome

_log = logging.getLogger(__name__)

#: Snapshot the read model after loading when at least this many events had to be replayed.
SAVE_AFTER_EVENTS: Final = 1_000
RECOVERY_INTERVAL_MS: Final = 60_000
RECOVERY_MIN_AGE: Final = timedelta(seconds=30)
DEMO_EVENTS: Final = 20_000
#: Events per page from the live feed, and how long one turn of the event loop may spend
#: applying pages: small enough that typing and painting never wait more than a frame or two.
FEED_PAGE: Final = 250
SLICE_SECONDS: Final = 0.012
SPLITTERS_KEY: Final = "window/splitters"
RETRY_MS: Final = 3_000


def _as_list(value: object) -> list[object]:
    return list(value) if isinstance(value, list | tuple) else []


class MainWindow(QMainWindow):
    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._context = context
        self._read_model: ReadModel | None = None
        self._feed: LiveFeed | None = None
        self._ledger: Ledger | None = None
        self._selected: str | None = None
        self._open_forms: list[QWidget] = []
        self._jobs = BackgroundWork()  # no Qt parent: it outlives the window's C++ object
        self._jobs.command_finished.connect(self._announce)
        self._jobs.idle.connect(self._close_if_waiting)
        self._close_when_idle = False
        self._pending_pages: deque[tuple[LiveFeed | None, list[RecordedEvent]]] = deque()
        self._draining = False
        self.setWindowTitle(f"Bank Desktop – {context.clerk_id}")
        self.setWindowIcon(assets.app_icon())
        self.resize(1280, 820)

        self.accounts_model = AccountsModel(self)
        self.accounts_proxy = AccountsProxy(self)
        self.accounts_proxy.setSourceModel(self.accounts_model)
        self.ledger_model = LedgerModel(self)

        self._build_actions()
        self._build_central()
        self._build_menus_and_toolbar()
        self._build_status_bar()
        self._update_actions()

        self._recovery_timer = QTimer(self)
        self._recovery_timer.setInterval(RECOVERY_INTERVAL_MS)
        self._recovery_timer.timeout.connect(lambda: self._recover(RECOVERY_MIN_AGE))

    # ── building ──────────────────────────────────────────────────────────────────────────

    def _action(
        self, text: str, shortcut: QKeySequence | str, icon: str | None, slot: Callable[[], Any]
    ) -> QAction:
        action = QAction(assets.icon(icon), text, self) if icon else QAction(text, self)
        action.setShortcut(QKeySequence(shortcut))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setToolTip(f"{text.replace('&', '').rstrip('.…')} ({action.shortcut().toString()})")
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.open_account_action = self._action(
            "&Open account…", "Ctrl+N", "open-account", self.open_account_form
        )
        self.deposit_action = self._action("&Deposit…", "F2", "deposit", self.deposit_form)
        self.withdraw_action = self._action("&Withdraw…", "F3", "withdraw", self.withdraw_form)
        self.transfer_action = self._action("&Transfer…", "F4", "transfer", self.transfer_form)
        self.close_account_action = self._action(
            "&Close account…", "Ctrl+Shift+X", "close-account", self.close_account_form
        )
        self.filter_action = self._action("&Find account", "Ctrl+F", "filter", self.focus_filter)
        self.resync_action = self._action("&Resync", "F5", "resync", self.resync)
        self.statement_action = self._action(
            "Export &statement…", "Ctrl+E", "export-statement", self.statement_form
        )
        self.settings_action = self._action("S&ettings…", "Ctrl+,", "settings", self.settings_form)
        self.help_action = self._action("&Keyboard shortcuts", "F1", "help", self.show_help)
        self.demo_action = QAction("Fill with &demo data", self)
        self.demo_action.triggered.connect(lambda: self.fill_demo(DEMO_EVENTS))
        self.quit_action = self._action("&Quit", "Ctrl+Q", None, self.close)
        self.about_action = QAction("&About Bank Desktop", self)
        self.about_action.triggered.connect(self.show_about)

    def shortcut_actions(self) -> list[QAction]:
        return [
            self.open_account_action,
            self.deposit_action,
            self.withdraw_action,
            self.transfer_action,
            self.close_account_action,
            self.filter_action,
            self.resync_action,
            self.statement_action,
            self.settings_action,
            self.help_action,
            self.quit_action,
        ]

    def _build_central(self) -> None:
        page = AccountsPage(self.accounts_proxy, self.ledger_model)
        self.accounts_page = page
        page.restore_state(_as_list(QSettings().value(SPLITTERS_KEY)))
        self.account_filter = page.account_filter
        self.accounts_table = page.accounts_table
        self.ledger_table = page.ledger_table
        self.ledger_title = page.ledger_title
        self.chart = page.chart
        self.account_filter.textChanged.connect(self._filter_changed)
        selection = self.accounts_table.selectionModel()
        selection.currentRowChanged.connect(self._current_moved)
        selection.selectionChanged.connect(self._selection_changed)
        self.accounts_table.doubleClicked.connect(lambda _: self.deposit_form())
        self.event_log = EventLogWidget(jobs=self._jobs)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("mainTabs")
        self.tabs.addTab(page, "&Accounts")
        self.tabs.addTab(self.event_log, "Event &log")
        self.setCentralWidget(self.tabs)

    def _build_menus_and_toolbar(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addActions([self.statement_action, self.demo_action])
        file_menu.addSeparator()
        file_menu.addActions([self.settings_action])
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        account_menu = bar.addMenu("&Account")
        account_menu.addActions(
            [
                self.open_account_action,
                self.deposit_action,
                self.withdraw_action,
                self.transfer_action,
            ]
        )
        account_menu.addSeparator()
        account_menu.addAction(self.close_account_action)
        view_menu = bar.addMenu("&View")
        view_menu.addActions([self.filter_action, self.resync_action])
        help_menu = bar.addMenu("&Help")
        help_menu.addActions([self.help_action, self.about_action])

        toolbar = QToolBar("Actions")
        toolbar.setObjectName("mainToolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        toolbar.addActions(
            [
                self.open_account_action,
                self.deposit_action,
                self.withdraw_action,
                self.transfer_action,
                self.close_account_action,
            ]
        )
        toolbar.addSeparator()
        toolbar.addActions([self.statement_action, self.resync_action, self.help_action])
        self.addToolBar(toolbar)

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        self.store_label = QLabel(f"Store: {self._context.store_label}")
        self.store_label.setObjectName("storeLabel")
        self.store_label.setToolTip(self._context.store.url)  # the full path, secrets masked
        self.connection_label = QLabel("loading…")
        self.connection_label.setObjectName("connectionStatus")
        self.position_label = QLabel("Events: –")
        self.position_label.setObjectName("positionLabel")
        self.clerk_label = QLabel(f"Clerk: {self._context.clerk_id}")
        self.clerk_label.setObjectName("clerkLabel")
        for label in (self.store_label, self.connection_label, self.position_label):
            status.addPermanentWidget(label)
        status.addPermanentWidget(self.clerk_label)

    # ── loading and live updates ──────────────────────────────────────────────────────────

    def start(self) -> None:
        """Load the read model off the GUI thread, then go live."""
        self.connection_label.setText("loading…")
        self._jobs.run(
            self._load, receiver=self, on_success=self._loaded, on_failure=self._load_failed
        )

    def _load(self) -> Loaded:
        context = self._context
        store, snapshots = context.store, context.snapshots
        opened = None
        if context.problem is not None:  # not open yet: try again (raises while it fails)
            store, snapshots = opened = context.reopen()
        try:
            if context.demo_events and store.head_position() == 0:
                fill_demo_data(store, events=context.demo_events)
            model = ReadModel.restore(snapshots, store) or ReadModel()
            replayed = catch_up(model, store)
            if replayed >= SAVE_AFTER_EVENTS:
                model.save(snapshots)
        except BaseException:
            if opened is not None:
                store.close()
            raise
        # Built here, not on the GUI thread: the filter's keys and the widest figures.
        return Loaded(model, search_keys_of(model.balances), widest_texts(model), opened)

    def _loaded(self, loaded: Loaded) -> None:
        if loaded.opened is not None:
            self._context.adopt(*loaded.opened)
            self.statusBar().showMessage("The store is open.", 5_000)
        model, keys, (balances, ids, customers) = loaded.model, loaded.keys, loaded.widest
        self._read_model = model
        self.accounts_model.set_projection(model.balances, keys)
        self.accounts_page.fit_account_columns(balances, customers, ids)
        self.accounts_page.fit_accounts()
        # The loaded rows live as long as the window: keep the cyclic collector from walking
        # them on every full collection (a 50 ms pause at 100k accounts).
        gc.freeze()
        self._show_position(model.checkpoint)
        store = self._context.store
        self.event_log.start(
            model.checkpoint,
            lambda query, before, limit: read_history(store, query, before=before, limit=limit),
        )
        self._start_feed(model.checkpoint)
        self._update_actions()
        if len(model.balances) == 0:
            self.statusBar().showMessage(
                "The store is empty: press Ctrl+N to open an account, "
                "or File › Fill with demo data.",
                15_000,
            )
        self._recover(timedelta(0))
        self._recovery_timer.start()
        self.accounts_table.setFocus()

    def _load_failed(self, exc: BaseException) -> None:
        self.connection_label.setText(f"offline: {describe_error(exc)}")
        if self._context.problem is not None:
            self.statusBar().showMessage(
                f"The store cannot be opened: {describe_error(exc)} Choose another in "
                "File › Settings… (Ctrl+,); this window keeps trying."
            )
        QTimer.singleShot(RETRY_MS, self.start)  # the store may come back

    def store_problem(self) -> EventStoreError | None:
        """Why the store is not open yet, or None."""
        return self._context.problem

    def _start_feed(self, after: int) -> None:
        feed = LiveFeed(
            self._context.store, after=after, batch_size=FEED_PAGE, in_flight=8, parent=self
        )
        feed.events.connect(self._on_events)
        feed.status.connect(self._on_status)
        self._feed = feed
        feed.start()

    def _stop_feed(self) -> None:
        if self._feed is not None:
            feed, self._feed = self._feed, None
            feed.events.disconnect(self._on_events)
            feed.stop()
            feed.deleteLater()

    def _on_events(self, batch: list[RecordedEvent]) -> None:
        """Queue a page; pages are applied in slices so input and paints get turns between."""
        feed = self.sender()
        self._pending_pages.append((feed if isinstance(feed, LiveFeed) else None, batch))
        if not self._draining:
            self._draining = True
            QTimer.singleShot(0, self._drain)

    def _drain(self) -> None:
        deadline = time.perf_counter() + SLICE_SECONDS
        while self._pending_pages:
            feed, batch = self._pending_pages.popleft()
            if feed is None or feed is not self._feed:
                continue  # a stopped feed's page (resync, closing): the new feed reads it again
            try:
                if self._read_model is not None and batch:
                    self._apply(batch)
            finally:
                feed.batch_done()
            if time.perf_counter() >= deadline:
                break
        if self._pending_pages:
            QTimer.singleShot(0, self._drain)
        else:
            self._draining = False

    def _apply(self, batch: Sequence[RecordedEvent]) -> None:
        assert self._read_model is not None
        changes = self._read_model.apply(batch)
        self.accounts_model.sync(changes.changed_accounts)
        balances = self._read_model.balances
        rows = [r for a in changes.changed_accounts if (r := balances.get(a)) is not None]
        self.accounts_page.fit_account_columns(
            [format_money(r.balance) for r in rows],
            [r.customer_id for r in rows],
            [r.account_id for r in rows],
        )
        ledger = self._ledger
        if ledger is not None:
            added = []
            for event in batch:
                if event.stream_id != ledger.account_id:
                    continue
                try:
                    entry = ledger.apply(event)
                except LookupError:
                    self._load_ledger(ledger.account_id)  # missed an event: reload whole
                    break
                if entry is not None:
                    added.append(entry)
            if added:
                self.accounts_page.fit_ledger_columns(added)
                self.ledger_model.sync()
                self.chart.append_entries(added)
                self.ledger_table.scrollToBottom()
        self.event_log.append_events(batch)
        self._show_position(self._read_model.checkpoint)
        changed = changes.changed_accounts
        if changed and self._selected in changed:
            self._update_actions()
            self._update_ledger_title()
        for form in self._open_forms:
            if isinstance(form, CommandForm) and form.account_id in changed:
                row = self._read_model.balances.get(form.account_id)
                if row is not None:
                    form.balance_changed(row.balance, row.is_open)

    def _on_status(self, status: SubscriptionStatus) -> None:
        text = status.describe()
        if status.state is SubscriptionState.LIVE:
            text = "● live"
        self.connection_label.setText(text)
        self.connection_label.setProperty("state", status.state.value)
        self.connection_label.setToolTip(status.error or text)

    def _show_position(self, position: int) -> None:
        self.position_label.setText(f"Events: {position:,}")

    # ── selection and ledger ──────────────────────────────────────────────────────────────

    def selected_account(self) -> str | None:
        return self._selected

    def select_account(self, account_id: str) -> bool:
        """Select ``account_id`` in the table (clearing a filter that hides it)."""
        row = self.accounts_proxy.row_of(account_id)
        if row is None and self.account_filter.text():
            self.account_filter.clear()
            row = self.accounts_proxy.row_of(account_id)
        if row is None:
            return False
        index = self.accounts_proxy.index(row, 0)
        self.accounts_table.setCurrentIndex(index)
        self.accounts_table.scrollTo(index)
        return True

    def _current_moved(self, current: QModelIndex, _previous: QModelIndex) -> None:
        """Select the row the table's cursor moved to.

        Qt moves the cursor without selecting in places (Tab into the table marks the first
        row with a focus frame only); actions follow the visible selection, so the cursor's
        row is selected too: the row the clerk sees marked is the one F2 acts on.
        """
        selection = self.accounts_table.selectionModel()
        if current.isValid() and not selection.isRowSelected(current.row(), QModelIndex()):
            selection.select(
                current,
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows,
            )

    def _selection_changed(self, *_: object) -> None:
        rows = self.accounts_table.selectionModel().selectedRows()
        self._set_selected(self.accounts_proxy.account_id_at(rows[0].row()) if rows else None)

    def _set_selected(self, account_id: str | None, *, why_none: str | None = None) -> None:
        """The account actions target: only ever one the clerk sees selected in the table."""
        if account_id == self._selected:
            return
        self._selected = account_id
        self._update_actions()
        if account_id is None:
            self._show_ledger(None, why_none)
            return
        self.ledger_title.setText(f"{account_id} – loading…")
        self._load_ledger(account_id)

    def _load_ledger(self, account_id: str) -> None:
        store = self._context.store
        self._jobs.run(
            lambda: load_ledger(store, account_id),
            receiver=self,
            on_success=lambda ledger: self._ledger_loaded(account_id, ledger),
            on_failure=lambda exc: self.ledger_title.setText(
                f"{account_id}: {describe_error(exc)}"
            ),
        )

    def _ledger_loaded(self, account_id: str, ledger: Ledger) -> None:
        if account_id != self._selected:
            return  # the clerk moved on while it loaded
        row = self._read_model.balances.get(account_id) if self._read_model else None
        if row is not None and ledger.position < row.revision:
            self._load_ledger(account_id)  # events arrived while it loaded: read again
            return
        self._show_ledger(ledger)

    def _show_ledger(self, ledger: Ledger | None, why_none: str | None = None) -> None:
        self._ledger = ledger
        if ledger is not None:
            self.accounts_page.fit_ledger_columns(ledger.entries)
        self.ledger_model.set_ledger(ledger)
        self.chart.show_ledger(ledger)
        if ledger is None:
            self.ledger_title.setText(why_none or "Select an account to see its transactions.")
        else:
            self._update_ledger_title()
            self.ledger_table.scrollToBottom()

    def _update_ledger_title(self) -> None:
        """ "account · customer · balance $X", read from the balances projection each time, so
        it moves with every event (this desk's or another's) like the table does."""
        ledger = self._ledger
        if ledger is None or ledger.account_id != self._selected:
            return
        row = self._read_model.balances.get(ledger.account_id) if self._read_model else None
        if row is None:
            self.ledger_title.setText(
                f"{ledger.account_id} · balance {format_money(ledger.balance)}"
            )
            return
        state = "" if row.is_open else " · closed"
        self.ledger_title.setText(
            f"{row.account_id} · {row.customer_id} · balance {format_money(row.balance)}{state}"
        )

    def _filter_changed(self, text: str) -> None:
        """Keep the selection if the filter still shows it; never keep a hidden one.

        The proxy's reset clears the table's selection without a signal, so the selected
        account is settled here: still listed, it is selected again; a single match is
        selected; otherwise nothing is, and the pane says why.
        """
        selected = self._selected
        self.accounts_proxy.set_filter_text(text)
        if selected is not None and self.accounts_proxy.row_of(selected) is not None:
            self.select_account(selected)
        elif self.accounts_proxy.rowCount() == 1:
            self.accounts_table.setCurrentIndex(self.accounts_proxy.index(0, 0))
        else:
            self._set_selected(
                None,
                why_none=(
                    "No account selected: the filter hides the one you had. "
                    "Tab to the list to pick a match."
                    if selected is not None
                    else None
                ),
            )

    # ── actions ───────────────────────────────────────────────────────────────────────────

    def _update_actions(self) -> None:
        row = (
            self._read_model.balances.get(self._selected)
            if self._read_model and self._selected
            else None
        )
        is_open = row is not None and row.is_open
        for action in (self.deposit_action, self.withdraw_action, self.transfer_action):
            action.setEnabled(is_open)
        self.close_account_action.setEnabled(is_open)
        self.statement_action.setEnabled(row is not None)
        self.demo_action.setEnabled(
            self._read_model is not None and len(self._read_model.balances) == 0
        )

    def _balance(self) -> Any:
        row = (
            self._read_model.balances.get(self._selected)
            if self._read_model and self._selected
            else None
        )
        # A marked row's number ignores part of its history: the form shows no balance then.
        return row.balance if row and row.unrecognized is None else None

    def _show_form(
        self, form: CommandForm, on_success: Callable[[Any], None] | None = None
    ) -> CommandForm:
        """Open ``form``; the outcome of its command is announced by :meth:`_announce`."""
        if on_success is not None:
            form.succeeded.connect(on_success)
        form.finished.connect(lambda _: self._forget_form(form))
        self._open_forms.append(form)
        form.open()
        return form

    def _forget_form(self, form: QWidget) -> None:
        if form in self._open_forms:
            self._open_forms.remove(form)
        form.deleteLater()
        self.activateWindow()  # back to the window, so its shortcuts work at once
        self.accounts_table.setFocus()

    def open_account_form(self) -> CommandForm:
        def opened(account_id: str) -> None:
            QTimer.singleShot(0, lambda: self._select_when_listed(account_id, 40))

        form = OpenAccountForm(self._context.bank, jobs=self._jobs, parent=self)
        return self._show_form(form, opened)

    def _select_when_listed(self, account_id: str, tries: int) -> None:
        """Select a just-opened account as soon as the live feed has listed it."""
        if self.select_account(account_id) or tries <= 0:
            return
        QTimer.singleShot(25, lambda: self._select_when_listed(account_id, tries - 1))

    def deposit_form(self) -> CommandForm | None:
        return self._money_form(withdraw=False)

    def withdraw_form(self) -> CommandForm | None:
        return self._money_form(withdraw=True)

    def _money_form(self, *, withdraw: bool) -> CommandForm | None:
        account_id = self._selected
        if account_id is None or not self.deposit_action.isEnabled():
            return None
        form = MoneyForm(
            self._context.bank,
            account_id,
            withdraw=withdraw,
            balance=self._balance(),
            jobs=self._jobs,
            parent=self,
        )
        return self._show_form(form)

    def transfer_form(self) -> CommandForm | None:
        account_id = self._selected
        if account_id is None or not self.transfer_action.isEnabled() or not self._read_model:
            return None
        targets = [(r.account_id, r.customer_id) for r in self._read_model.balances if r.is_open]
        row = self._read_model.balances.get(account_id)
        form = TransferForm(
            self._context.bank,
            account_id,
            targets=targets,
            balance=row.balance if row else None,
            customer=row.customer_id if row else None,
            jobs=self._jobs,
            parent=self,
        )
        return self._show_form(form)

    def close_account_form(self) -> CommandForm | None:
        account_id = self._selected
        if account_id is None or not self.close_account_action.isEnabled():
            return None
        form = CloseAccountForm(
            self._context.bank, account_id, balance=self._balance(), jobs=self._jobs, parent=self
        )
        return self._show_form(form)

    def focus_filter(self) -> None:
        self.tabs.setCurrentIndex(0)
        self.account_filter.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.account_filter.selectAll()

    def resync(self) -> None:
        """Reconnect the live feed from the read model's checkpoint and reload the ledger."""
        if self._read_model is None:
            self.start()
            return
        self._stop_feed()
        self._start_feed(self._read_model.checkpoint)
        if self._selected:
            self._load_ledger(self._selected)
        self.statusBar().showMessage("Resynchronising with the store…", 3_000)

    def statement_form(self) -> StatementDialog | None:
        account_id = self._selected
        row = self._read_model.balances.get(account_id) if self._read_model and account_id else None
        if account_id is None or row is None:
            return None
        store = self._context.store
        dialog = StatementDialog(
            account_id,
            lambda: load_ledger(store, account_id),
            customer_id=row.customer_id,
            default_directory=Path.home(),
            jobs=self._jobs,
            parent=self,
        )
        dialog.exported.connect(
            lambda path: self.statusBar().showMessage(f"Statement saved to {path}.", 10_000)
        )
        dialog.finished.connect(lambda _: self._forget_form(dialog))
        self._open_forms.append(dialog)
        dialog.open()
        return dialog

    def settings_form(self) -> SettingsDialog:
        dialog = SettingsDialog(self, clerk_in_effect=self._context.clerk_id)
        dialog.saved.connect(self._settings_saved)
        dialog.finished.connect(lambda _: self._forget_form(dialog))
        self._open_forms.append(dialog)
        dialog.open()
        return dialog

    def _settings_saved(self, saved: StoredSettings) -> None:
        """A new clerk id applies at once (the next command records it); a new store after
        restarting."""
        if saved.clerk_id and saved.clerk_id != self._context.clerk_id:
            self._context.change_clerk(saved.clerk_id)
            self.clerk_label.setText(f"Clerk: {saved.clerk_id}")
            self.setWindowTitle(f"Bank Desktop – {saved.clerk_id}")
            self.statusBar().showMessage(
                f"Settings saved: you now work as {saved.clerk_id}; a changed store is used "
                "after restarting.",
                10_000,
            )
            return
        self.statusBar().showMessage(
            "Settings saved; a changed store is used after restarting.", 8_000
        )

    def show_help(self) -> ShortcutHelpDialog:
        tabs = [self.tabs.tabText(index) for index in range(self.tabs.count())]
        dialog = ShortcutHelpDialog(
            self.shortcut_actions(), self, more=[*mnemonic_keys(tabs, "tab"), *FORM_KEYS]
        )
        dialog.finished.connect(lambda _: self._forget_form(dialog))
        self._open_forms.append(dialog)
        dialog.open()
        return dialog

    def show_about(self) -> None:
        box = QMessageBox(
            QMessageBox.Icon.Information,
            "About Bank Desktop",
            f"Bank Desktop {__version__}\nStore: {self._context.store_label}\n"
            f"Clerk: {self._context.clerk_id}",
            QMessageBox.StandardButton.Ok,
            self,
        )
        box.open()

    def fill_demo(self, events: int) -> None:
        """Fill an empty store with sample history; the live feed shows it as it lands."""
        store = self._context.store
        self.demo_action.setEnabled(False)
        self.statusBar().showMessage(f"Writing {events:,} demo events…")
        self._jobs.run(
            lambda: fill_demo_data(store, events=events),
            receiver=self,
            on_success=lambda summary: self.statusBar().showMessage(
                f"Demo data: {summary.accounts:,} accounts, {summary.events:,} events.", 10_000
            ),
            on_failure=lambda exc: self.statusBar().showMessage(describe_error(exc), 10_000),
        )

    def _recover(self, older_than: timedelta) -> None:
        if self._read_model is None:
            return
        pending = {t.transfer_id: t.requested_at for t in self._read_model.transfers.unfinished()}
        if not pending:
            return
        bank = self._context.bank

        def recovered(report: RecoveryReport) -> None:
            if report.finished:
                self.statusBar().showMessage(
                    f"Finished {report.finished} interrupted transfer(s).", 8_000
                )

        self._jobs.run(
            lambda: bank.recover(older_than=older_than, candidates=pending),
            receiver=self,
            on_success=recovered,
        )

    # ── outcomes and closing ──────────────────────────────────────────────────────────────

    def _announce(self, outcome: Outcome) -> None:
        """Tell the clerk how a command ended. A refusal whose form is still open shows there;
        one whose form was closed (Esc while saving) gets a notice that stays until read."""
        if outcome.succeeded:
            detail = f"; {outcome.detail}" if outcome.detail else ""
            self.statusBar().showMessage(
                f"{outcome.label} saved{detail}.", 0 if outcome.detached else 10_000
            )
            return
        if not outcome.detached:
            return  # its form shows the reason, with the input kept
        assert outcome.error is not None
        reason = describe_error(outcome.error)
        self.statusBar().showMessage(f"{outcome.label} was not saved: {reason}")
        self._close_when_idle = False  # the clerk must see this before the window goes
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Not saved",
            f"{outcome.label} was not saved.",
            QMessageBox.StandardButton.Ok,
            self,
        )
        box.setObjectName("commandNotSaved")
        box.setInformativeText(reason)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def _close_if_waiting(self) -> None:
        if self._close_when_idle:
            self.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Close once the store has answered every command the clerk sent (a second close
        quits at once)."""
        pending = [job.label for job in self._jobs.in_flight() if job.label]
        if pending and not self._close_when_idle:
            event.ignore()
            self._close_when_idle = True
            self.statusBar().showMessage(
                f"Closing once the store confirms: {'; '.join(pending)}… (close again to quit now)."
            )
            return
        self._jobs.shut_down()
        self._recovery_timer.stop()
        self._stop_feed()
        model, snapshots = self._read_model, self._context.snapshots
        if model is not None and model.checkpoint:
            snapshot = model.snapshot()  # taken here: the GUI thread owns the model
            self._jobs.run(lambda: snapshots.save(snapshot))
        QThreadPool.globalInstance().waitForDone(5_000)
        QSettings().setValue("window/geometry", self.saveGeometry())
        QSettings().setValue(SPLITTERS_KEY, self.accounts_page.save_state())
        self._context.close()
        super().closeEvent(event)
