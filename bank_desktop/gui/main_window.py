"""The clerk's window: its layout (accounts, the selected account's ledger and chart, the event
log) and its actions (menus, toolbar, shortcuts, the forms they open).

The live path is :class:`~bank_desktop.gui.session.WindowSession`'s: it loads the read model on
a worker and applies the live feed's pages; the window shows what each page changed. The
accounts page says which account is selected (``account_selected``); actions act on that one.
Every dialog opens through :meth:`MainWindow.open_dialog`. Commands run on workers through the
forms; nothing in a slot waits on the store.

All background work goes through one owner, ``BackgroundWork``: it decides whether an outcome
is still wanted, and hands the window every clerk's command outcome to announce, including
those whose form was closed while they were on their way. The window closes only once the
store has answered every command the clerk submitted (closing again quits at once).
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from PySide6.QtCore import (
    QSettings,
    QSize,
    Qt,
    QThreadPool,
    QTimer,
)
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
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
from bank_desktop.application.projections import AccountBalance, Ledger, ReadModel, load_ledger
from bank_desktop.application.read_model_session import SessionChanges
from bank_desktop.config import StoredSettings
from bank_desktop.domain import ApprovalRequired
from bank_desktop.eventstore import (
    EventStoreError,
    RecordedEvent,
)
from bank_desktop.gui import assets
from bank_desktop.gui.accounts_page import AccountsPage
from bank_desktop.gui.approvals import ApprovalsDesk
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
from bank_desktop.gui.live_fit import texts_to_fit
from bank_desktop.gui.loading import Loaded
from bank_desktop.gui.messages import describe_error
from bank_desktop.gui.models.accounts import AccountsModel, customer_text
from bank_desktop.gui.models.accounts_proxy import AccountsProxy
from bank_desktop.gui.models.ledger import LedgerModel
from bank_desktop.gui.session import WindowSession
from bank_desktop.gui.settings import SettingsDialog
from bank_desktop.gui.statement_dialog import StatementDialog
from bank_desktop.gui.teller_actions import TellerActions
from bank_desktop.gui.verification import Verification, VerifyHistoryDialog
from bank_desktop.gui.workers import BackgroundWork, Outcome

_log = logging.getLogger(__name__)

RECOVERY_INTERVAL_MS: Final = 60_000
RECOVERY_MIN_AGE: Final = timedelta(seconds=30)
DEMO_EVENTS: Final = 20_000
SPLITTERS_KEY: Final = "window/splitters"
#: How long the notices of a load (a snapshot refused and rebuilt) stay in the status bar.
NOTICE_MS: Final = 30_000


def _as_list(value: object) -> list[object]:
    return list(value) if isinstance(value, list | tuple) else []


#: The window's first size (before the clerk's own is saved): on a full-HD desk, room for
#: every column of the accounts and of the ledger; elsewhere the compact size everything is
#: laid out to fit (a smaller screen's window manager fits it to the screen, as before).
ROOMY_SIZE: Final = (1480, 860)
COMPACT_SIZE: Final = (1280, 820)
_SCREEN_MARGIN: Final = 40


def first_size(available: QSize | None) -> QSize:
    """The window's size at its first start on a screen with ``available`` room."""
    width, height = ROOMY_SIZE
    if (
        available is not None
        and available.width() >= width + _SCREEN_MARGIN
        and available.height() >= height + _SCREEN_MARGIN
    ):
        return QSize(width, height)
    return QSize(*COMPACT_SIZE)


EMPTY_STORE_HINT: Final = (
    "The store is empty: press Ctrl+N to open an account, or File › Fill with demo data."
)
#: The same hint for a store that holds events but no account yet (staff set up first).
NO_ACCOUNTS_HINT: Final = (
    "No accounts yet: press Ctrl+N to open an account, or File › Fill with demo data."
)


class MainWindow(QMainWindow):
    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._context = context
        self._open_forms: list[QDialog] = []
        self._select_on_arrival: str | None = None  #: an account just opened here
        self._jobs = BackgroundWork()  # no Qt parent: it outlives the window's C++ object
        self._jobs.command_finished.connect(self._announce)
        self._jobs.idle.connect(self._close_if_waiting)
        self._close_when_idle = False
        self.session = WindowSession(context, self._jobs, self)
        self.session.loaded.connect(self._loaded)
        self.session.load_failed.connect(self._load_failed)
        self.session.applied.connect(self._applied)
        self.session.status.connect(self._on_status)
        self.setWindowTitle(f"Bank Desktop – {context.clerk_id}")
        self.setWindowIcon(assets.app_icon())
        screen = QGuiApplication.primaryScreen()
        self.resize(first_size(screen.availableGeometry().size() if screen else None))

        self.accounts_model = AccountsModel(self)
        self.accounts_proxy = AccountsProxy(self)
        self.accounts_proxy.setSourceModel(self.accounts_model)
        self.ledger_model = LedgerModel(self)

        self._build_actions()
        self._build_central()
        self.teller = TellerActions(self, context, self._jobs)
        self.approvals = ApprovalsDesk(
            self, context, self._jobs, self.session, open_dialog=self.open_dialog
        )
        self.approvals.message.connect(self.statusBar().showMessage)
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
        self.verify_action = self._action(
            "&Verify history…", "Ctrl+Shift+V", "verify-history", self.verify_history
        )
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
            self.verify_action,
            self.quit_action,
            *self.teller.shortcut_actions(),
            *self.approvals.shortcut_actions(),
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
        page.account_selected.connect(self._account_selected)
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
        account_menu = bar.addMenu("A&ccount")
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
        help_menu.addActions([self.help_action, self.verify_action, self.about_action])
        self.approvals.add_to(self.tabs, bar, before=help_menu.menuAction())

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
        toolbar.addActions(
            [self.statement_action, self.resync_action, self.verify_action, self.help_action]
        )
        self.teller.add_to(
            bar,
            toolbar,
            file_menu=file_menu,
            account_menu=account_menu,
            before=help_menu.menuAction(),
        )
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
        self.verification_label = QLabel()
        self.verification = Verification(
            self._jobs,
            self.verification_label,
            url=self._context.url,
            shown=self._context.store_label,
            data_dir=self._context.data_dir,
            parent=self,
        )
        self.verification.load_last(self._context.store.url)
        status.addPermanentWidget(self.verification_label)
        for label in (self.store_label, self.connection_label, self.position_label):
            status.addPermanentWidget(label)
        status.addPermanentWidget(self.clerk_label)

    # ── the live path's news ──────────────────────────────────────────────────────────────

    def start(self) -> None:
        """Load the read model off the GUI thread, then go live."""
        self.connection_label.setText("loading…")
        self.session.start()

    @property
    def read_model(self) -> ReadModel | None:
        """The read model on screen (None until it has loaded)."""
        return self.session.model

    def _row(self, account_id: str | None) -> AccountBalance | None:
        model = self.session.model
        return model.balances.get(account_id) if model is not None and account_id else None

    def _loaded(self, loaded: Loaded) -> None:
        if loaded.opened is not None:
            self.statusBar().showMessage("The store is open.", 5_000)
        model, keys, (balances, ids, customers) = loaded.model, loaded.keys, loaded.widest
        self.accounts_model.set_projection(
            model.balances, keys, model.customers, loaded.scan, loaded.owner_positions
        )
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
        self._update_actions()
        if loaded.session.notices:  # a snapshot refused and rebuilt, or one not saved
            self.statusBar().showMessage(" ".join(loaded.session.notices), NOTICE_MS)
        elif len(model.balances) == 0:
            hint = EMPTY_STORE_HINT if model.checkpoint == 0 else NO_ACCOUNTS_HINT
            self.statusBar().showMessage(hint, 15_000)
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

    def store_problem(self) -> EventStoreError | None:
        """Why the store is not open yet, or None."""
        return self._context.problem

    def _applied(self, changes: SessionChanges, batch: list[RecordedEvent]) -> None:
        """Show what one live page changed: rows, the ledger, the event log, open forms."""
        model = self.session.model
        assert model is not None
        changed = changes.model.changed_accounts
        self.accounts_model.sync(changed)
        self.accounts_page.fit_account_columns(*texts_to_fit(model, changes.model))
        if changes.model.opened_accounts and self.statusBar().currentMessage() in (
            EMPTY_STORE_HINT,
            NO_ACCOUNTS_HINT,
        ):
            self.statusBar().clearMessage()  # an account arrived: the store is empty no more
        self._ledger_changed(changes.ledgers)
        self.event_log.append_events(batch)
        self._show_position(model.checkpoint)
        selected = self.selected_account()
        if changed and selected in changed:
            self._update_actions()
            self.accounts_page.update_ledger_title(self._row(selected))
        for form in self._open_forms:
            if isinstance(form, CommandForm) and form.account_id in changed:
                row = model.balances.get(form.account_id)
                if row is not None:
                    form.show_row(row)
        waiting = self._select_on_arrival
        if waiting is not None and waiting in changes.model.opened_accounts:
            self._select_on_arrival = None
            self.select_account(waiting)

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
        return self.accounts_page.selected

    def select_account(self, account_id: str) -> bool:
        """Select ``account_id`` in the table (clearing a filter that hides it)."""
        return self.accounts_page.select_account(account_id)

    def _account_selected(self, account_id: str | None) -> None:
        self._update_actions()
        if account_id is not None:
            self._load_ledger(account_id)

    def _load_ledger(self, account_id: str) -> None:
        session = self.session
        self._jobs.run(
            lambda: session.load_ledger(account_id),
            receiver=self,
            on_success=lambda ledger: self._ledger_loaded(account_id, ledger),
            on_failure=lambda exc: self.ledger_title.setText(
                f"{account_id}: {describe_error(exc)}"
            ),
        )

    def _ledger_loaded(self, account_id: str, ledger: Ledger) -> None:
        if account_id != self.selected_account():
            return  # the clerk moved on while it loaded
        row = self._row(account_id)
        if row is not None and ledger.position < row.revision:
            self._load_ledger(account_id)  # events arrived while it loaded: read again
            return
        self.accounts_page.show_ledger(ledger, row)

    def _ledger_changed(self, accounts: set[str]) -> None:
        """The live page moved kept ledgers: follow the shown one (or reload it, when it was
        dropped after a gap)."""
        shown = self.accounts_page.ledger
        if shown is None or shown.account_id not in accounts:
            return
        ledgers = self.session.ledgers
        kept = ledgers.cached(shown.account_id) if ledgers is not None else None
        if kept is shown:
            self.accounts_page.ledger_grew()
        else:
            self._load_ledger(shown.account_id)  # missed an event: reload whole

    # ── actions ───────────────────────────────────────────────────────────────────────────

    def _update_actions(self) -> None:
        row = self._row(self.selected_account())
        is_open = row is not None and row.is_open
        for action in (self.deposit_action, self.withdraw_action, self.transfer_action):
            action.setEnabled(is_open)
        self.close_account_action.setEnabled(is_open)
        self.statement_action.setEnabled(row is not None)
        model = self.session.model
        self.demo_action.setEnabled(model is not None and len(model.balances) == 0)

    def _balance(self) -> Decimal | None:
        row = self._row(self.selected_account())
        # A marked row's number ignores part of its history: the form shows no balance then.
        return row.balance if row and row.unrecognized is None else None

    def open_dialog(self, dialog: QDialog) -> QDialog:
        """Open ``dialog`` without blocking (``open()``), keep it while it is open (a live
        page updates the balance a command form shows), and bring the focus back to the
        accounts when it closes, so the window's shortcuts work at once."""
        dialog.finished.connect(lambda _: self._dialog_closed(dialog))
        if isinstance(dialog, CommandForm) and (row := self._row(dialog.account_id)):
            dialog.show_row(row)  # the live figures from the start
        self._open_forms.append(dialog)
        dialog.open()
        return dialog

    def _dialog_closed(self, dialog: QDialog) -> None:
        if dialog in self._open_forms:
            self._open_forms.remove(dialog)
        dialog.deleteLater()
        self.activateWindow()
        self.accounts_table.setFocus()

    def open_account_form(self) -> CommandForm:
        form = OpenAccountForm(
            self._context.bank, jobs=self._jobs, customers=self.teller.customers, parent=self
        )
        form.succeeded.connect(self._select_when_listed)
        self.open_dialog(form)
        return form

    def _select_when_listed(self, account_id: str) -> None:
        """Select a just-opened account: now if the live feed has listed it, else as soon as
        a page brings it (``_applied``)."""
        if not self.select_account(account_id):
            self._select_on_arrival = account_id

    def deposit_form(self) -> CommandForm | None:
        return self._money_form(withdraw=False)

    def withdraw_form(self) -> CommandForm | None:
        return self._money_form(withdraw=True)

    def _money_form(self, *, withdraw: bool) -> CommandForm | None:
        account_id = self.selected_account()
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
        self.open_dialog(form)
        return form

    def transfer_form(self) -> CommandForm | None:
        account_id = self.selected_account()
        model = self.session.model
        if account_id is None or not self.transfer_action.isEnabled() or model is None:
            return None
        targets = [(r.account_id, customer_text(r)) for r in model.balances if r.is_open]
        row = model.balances.get(account_id)
        form = TransferForm(
            self._context.bank,
            account_id,
            targets=targets,
            balance=row.balance if row else None,
            customer=customer_text(row) if row else None,
            jobs=self._jobs,
            parent=self,
        )
        self.open_dialog(form)
        return form

    def close_account_form(self) -> CommandForm | None:
        account_id = self.selected_account()
        if account_id is None or not self.close_account_action.isEnabled():
            return None
        form = CloseAccountForm(
            self._context.bank, account_id, balance=self._balance(), jobs=self._jobs, parent=self
        )
        self.open_dialog(form)
        return form

    def focus_filter(self) -> None:
        self.tabs.setCurrentIndex(0)
        self.account_filter.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.account_filter.selectAll()

    def resync(self) -> None:
        """Reconnect the live feed from the read model's checkpoint and reload the ledger."""
        if self.session.model is None:
            self.start()
            return
        self.session.resync()
        selected = self.selected_account()
        if selected:
            self._load_ledger(selected)
        self.statusBar().showMessage("Resynchronising with the store…", 3_000)

    def statement_form(self) -> StatementDialog | None:
        account_id = self.selected_account()
        row = self._row(account_id)
        if account_id is None or row is None:
            return None
        store = self._context.store
        dialog = StatementDialog(
            account_id,
            lambda: load_ledger(store, account_id),
            customer_id=(
                f"{row.customer_name} ({row.customer_id})" if row.customer_name else row.customer_id
            ),
            default_directory=Path.home(),
            jobs=self._jobs,
            parent=self,
        )
        dialog.exported.connect(
            lambda path: self.statusBar().showMessage(f"Statement saved to {path}.", 10_000)
        )
        self.open_dialog(dialog)
        return dialog

    def settings_form(self) -> SettingsDialog:
        dialog = SettingsDialog(self, clerk_in_effect=self._context.clerk_id)
        dialog.saved.connect(self._settings_saved)
        self.open_dialog(dialog)
        return dialog

    def _settings_saved(self, saved: StoredSettings) -> None:
        """A new clerk id applies at once (the next command records it); a new store after
        restarting."""
        if saved.clerk_id and saved.clerk_id != self._context.clerk_id:
            self._context.change_clerk(saved.clerk_id)
            self.approvals.clerk_changed()
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
        self.open_dialog(dialog)
        return dialog

    def verify_history(self) -> VerifyHistoryDialog:
        """Help, Verify history: verify on a worker; the dialog shows progress, then the
        report (:mod:`~bank_desktop.gui.verification`)."""
        dialog = self.verification.start()
        self.open_dialog(dialog)
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
            lambda: fill_demo_data(store, events=events, customers=True),
            receiver=self,
            on_success=lambda summary: self.statusBar().showMessage(
                f"Demo data: {summary.accounts:,} accounts, {summary.events:,} events.", 10_000
            ),
            on_failure=lambda exc: self.statusBar().showMessage(describe_error(exc), 10_000),
        )

    def _recover(self, older_than: timedelta) -> None:
        model = self.session.model
        if model is None:
            return
        # Approved requests nobody carried out are recovered too (read from the store).
        pending = {t.transfer_id: t.requested_at for t in model.transfers.unfinished()}
        bank = self._context.bank

        def recovered(report: RecoveryReport) -> None:
            if report.finished:
                self.statusBar().showMessage(
                    f"Finished {report.finished} interrupted transfer(s).", 8_000
                )
            if report.approvals_executed or report.approvals_failed:
                carried = len(report.approvals_executed) + len(report.approvals_failed)
                self.statusBar().showMessage(
                    f"Carried out {carried} approved request(s) left unfinished.", 8_000
                )

        self._jobs.run(
            lambda: bank.recover(older_than=older_than, candidates=pending),
            receiver=self,
            on_success=recovered,
        )

    # ── outcomes and closing ──────────────────────────────────────────────────────────────

    def _announce(self, outcome: Outcome) -> None:
        """Tell the clerk how a command ended. A refusal whose form is still open shows there;
        one whose form was closed (Esc while saving) gets a notice that stays until read.
        One held for a supervisor's approval is no refusal: the approvals desk says so."""
        if isinstance(outcome.error, ApprovalRequired):
            self.approvals.sent_for_approval(outcome)
            return
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
        self.session.stop()
        self.session.save_snapshot()  # taken here (the GUI thread owns it), saved on a worker
        QThreadPool.globalInstance().waitForDone(5_000)
        QSettings().setValue("window/geometry", self.saveGeometry())
        QSettings().setValue(SPLITTERS_KEY, self.accounts_page.save_state())
        self._context.close()
        super().closeEvent(event)
