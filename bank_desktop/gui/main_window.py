"""The clerk's window: accounts, the selected account's ledger and chart, the event log.

Only the GUI thread touches widgets and models. The read model loads on a worker (restoring its
snapshot and catching up), then the live feed delivers new events in pages that are applied
here, on the GUI thread, and announced to the models row by row. Commands run on workers
through the forms; nothing in a slot waits on the store.
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

from PySide6.QtCore import QModelIndex, QSettings, Qt, QThreadPool, QTimer
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
from bank_desktop.application.projections import Ledger, ReadModel, catch_up, load_ledger
from bank_desktop.domain import format_money
from bank_desktop.eventstore import RecordedEvent
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
from bank_desktop.gui.help_dialog import ShortcutHelpDialog
from bank_desktop.gui.live_feed import LiveFeed
from bank_desktop.gui.messages import describe_error
from bank_desktop.gui.models.accounts import AccountsModel, AccountsProxy, search_keys_of
from bank_desktop.gui.models.ledger import LedgerModel
from bank_desktop.gui.settings import SettingsDialog
from bank_desktop.gui.statement_dialog import StatementDialog
from bank_desktop.gui.workers import run_in_background

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


class MainWindow(QMainWindow):
    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._context = context
        self._read_model: ReadModel | None = None
        self._feed: LiveFeed | None = None
        self._ledger: Ledger | None = None
        self._selected: str | None = None
        self._open_forms: list[QWidget] = []
        self._closing = False
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
        self.account_filter = page.account_filter
        self.accounts_table = page.accounts_table
        self.ledger_table = page.ledger_table
        self.ledger_title = page.ledger_title
        self.chart = page.chart
        self.account_filter.textChanged.connect(self._filter_changed)
        self.accounts_table.selectionModel().currentRowChanged.connect(self._current_changed)
        self.accounts_table.doubleClicked.connect(lambda _: self.deposit_form())
        self.event_log = EventLogWidget()
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
        run_in_background(self._load, on_success=self._loaded, on_failure=self._load_failed)

    def _load(self) -> tuple[ReadModel, list[str]]:
        context = self._context
        if context.demo_events and context.store.head_position() == 0:
            fill_demo_data(context.store, events=context.demo_events)
        model = ReadModel.restore(context.snapshots, context.store) or ReadModel()
        replayed = catch_up(model, context.store)
        if replayed >= SAVE_AFTER_EVENTS:
            model.save(context.snapshots)
        return model, search_keys_of(model.balances)  # built here, not on the GUI thread

    def _loaded(self, loaded: tuple[ReadModel, list[str]]) -> None:
        if self._closing:
            return
        model, keys = loaded
        self._read_model = model
        self.accounts_model.set_projection(model.balances, keys)
        # The loaded rows live as long as the window: keep the cyclic collector from walking
        # them on every full collection (a 50 ms pause at 100k accounts).
        gc.freeze()
        self._show_position(model.checkpoint)
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
        QTimer.singleShot(3_000, self.start)  # the store may come back

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
            try:
                if self._read_model is not None and batch and not self._closing:
                    self._apply(batch)
            finally:
                if feed is not None and feed is self._feed:
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
                self.ledger_model.sync()
                self.chart.append_entries(added)
                self.ledger_table.scrollToBottom()
        self.event_log.append_events(batch)
        self._show_position(self._read_model.checkpoint)
        if changes.changed_accounts and self._selected in changes.changed_accounts:
            self._update_actions()

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

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        account_id = self.accounts_proxy.account_id_at(current.row()) if current.isValid() else None
        if account_id == self._selected:
            return
        self._selected = account_id
        self._update_actions()
        if account_id is None:
            self._show_ledger(None)
            return
        self.ledger_title.setText(f"{account_id} – loading…")
        self._load_ledger(account_id)

    def _load_ledger(self, account_id: str) -> None:
        store = self._context.store
        run_in_background(
            lambda: load_ledger(store, account_id),
            on_success=lambda ledger: self._ledger_loaded(account_id, ledger),
            on_failure=lambda exc: self.ledger_title.setText(
                f"{account_id}: {describe_error(exc)}"
            ),
        )

    def _ledger_loaded(self, account_id: str, ledger: Ledger) -> None:
        if account_id != self._selected or self._closing:
            return
        row = self._read_model.balances.get(account_id) if self._read_model else None
        if row is not None and ledger.position < row.revision:
            self._load_ledger(account_id)  # events arrived while it loaded: read again
            return
        self._show_ledger(ledger)

    def _show_ledger(self, ledger: Ledger | None) -> None:
        self._ledger = ledger
        self.ledger_model.set_ledger(ledger)
        self.chart.show_ledger(ledger)
        if ledger is None:
            self.ledger_title.setText("Select an account to see its transactions.")
        else:
            row = self._read_model.balances.get(ledger.account_id) if self._read_model else None
            customer = f" · {row.customer_id}" if row else ""
            self.ledger_title.setText(
                f"{ledger.account_id}{customer} · balance {format_money(ledger.balance)}"
            )
            self.ledger_table.scrollToBottom()

    def _filter_changed(self, text: str) -> None:
        selected = self._selected
        self.accounts_proxy.set_filter_text(text)
        if selected is not None and self.accounts_proxy.row_of(selected) is not None:
            self.select_account(selected)
        elif self.accounts_proxy.rowCount() == 1:
            self.accounts_table.setCurrentIndex(self.accounts_proxy.index(0, 0))

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

    def _show_form(self, form: CommandForm, on_success: Callable[[Any], None]) -> CommandForm:
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
            self.statusBar().showMessage(f"Opened {account_id}.", 8_000)
            QTimer.singleShot(0, lambda: self._select_when_listed(account_id, 40))

        return self._show_form(OpenAccountForm(self._context.bank, self), opened)

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
            self._context.bank, account_id, withdraw=withdraw, balance=self._balance(), parent=self
        )
        verb = "Withdrew from" if withdraw else "Deposited into"
        return self._show_form(
            form,
            lambda balance: self.statusBar().showMessage(
                f"{verb} {account_id}; balance {format_money(balance)}.", 8_000
            ),
        )

    def transfer_form(self) -> CommandForm | None:
        account_id = self._selected
        if account_id is None or not self.transfer_action.isEnabled() or not self._read_model:
            return None
        targets = [(r.account_id, r.customer_id) for r in self._read_model.balances if r.is_open]
        form = TransferForm(self._context.bank, account_id, targets=targets, parent=self)
        return self._show_form(
            form,
            lambda transfer_id: self.statusBar().showMessage(
                f"Transfer {transfer_id} completed.", 8_000
            ),
        )

    def close_account_form(self) -> CommandForm | None:
        account_id = self._selected
        if account_id is None or not self.close_account_action.isEnabled():
            return None
        form = CloseAccountForm(
            self._context.bank, account_id, balance=self._balance(), parent=self
        )
        return self._show_form(
            form, lambda closed: self.statusBar().showMessage(f"Closed {closed}.", 8_000)
        )

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
        dialog = SettingsDialog(self)
        dialog.saved.connect(
            lambda _: self.statusBar().showMessage(
                "Settings saved; a changed store is used after restarting.", 8_000
            )
        )
        dialog.finished.connect(lambda _: self._forget_form(dialog))
        self._open_forms.append(dialog)
        dialog.open()
        return dialog

    def show_help(self) -> ShortcutHelpDialog:
        dialog = ShortcutHelpDialog(self.shortcut_actions(), self)
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
        run_in_background(
            lambda: fill_demo_data(store, events=events),
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

        run_in_background(
            lambda: bank.recover(older_than=older_than, candidates=pending), on_success=recovered
        )

    # ── closing ───────────────────────────────────────────────────────────────────────────

    def closeEvent(self, event: QCloseEvent) -> None:
        self._closing = True
        self._recovery_timer.stop()
        self._stop_feed()
        model, snapshots = self._read_model, self._context.snapshots
        if model is not None and model.checkpoint:
            snapshot = model.snapshot()  # taken here: the GUI thread owns the model
            run_in_background(lambda: snapshots.save(snapshot))
        QThreadPool.globalInstance().waitForDone(5_000)
        QSettings().setValue("window/geometry", self.saveGeometry())
        self._context.close()
        super().closeEvent(event)
