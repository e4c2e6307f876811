"""The teller's-day actions of the window: customers, holds, reversals and "why", the journal,
the ledger as of a date.

Kept out of ``main_window.py``, which builds one :class:`TellerActions` and adds its actions
to its menus and toolbar. The actions follow what the window shows: the selected account
(``account_selected``), the selected ledger line, and every live page (another desk's hold
or a closing changes what can be done). Their forms open through the window's
``open_dialog`` and run through its one :class:`~bank_desktop.gui.workers.BackgroundWork`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QMenuBar, QTableView, QToolBar, QToolButton

from bank_desktop.application.journal import Journal, journal_from_store
from bank_desktop.application.projections import AccountBalance, LedgerEntry
from bank_desktop.application.projections.why import explain
from bank_desktop.domain.holds import Hold
from bank_desktop.gui import assets
from bank_desktop.gui.context import AppContext
from bank_desktop.gui.customers import CustomerDirectory
from bank_desktop.gui.forms.customer_forms import CustomerDetailsForm
from bank_desktop.gui.forms.hold_forms import HoldForm, ReleaseHoldForm
from bank_desktop.gui.forms.reversal_form import ReversalForm
from bank_desktop.gui.journal_dialog import JournalDialog
from bank_desktop.gui.models.accounts import customer_text
from bank_desktop.gui.why_dialog import WhyDialog
from bank_desktop.gui.workers import BackgroundWork

if TYPE_CHECKING:
    from bank_desktop.gui.main_window import MainWindow


class TellerActions(QObject):
    """Customers, holds, reversals, why, journal and as-of: actions, menus and their forms."""

    def __init__(self, window: MainWindow, context: AppContext, jobs: BackgroundWork) -> None:
        super().__init__(window)
        self._window = window
        self._context = context
        self._jobs = jobs
        self.customers = CustomerDirectory(lambda: window.session.model)
        self.customer_action = self._action(
            "C&ustomer details…", "Ctrl+Shift+C", "customer", self.customer_form
        )
        self.hold_action = self._action("&Hold funds…", "F6", "hold", self.hold_form)
        self.release_action = self._action(
            "Re&lease hold…", "Shift+F6", None, self.release_hold_form
        )
        self.reverse_action = self._action(
            "&Reverse line…", "Ctrl+R", "reverse", self.reversal_form
        )
        self.why_action = self._action("&Why this line?", "Ctrl+I", None, self.why)
        self.as_of_action = self._action("Ledger as &of a date…", "Ctrl+G", None, self.as_of)
        self.journal_action = self._action(
            "End-of-day &journal…", "Ctrl+J", "journal", self.journal_dialog
        )
        self._watch_ledger(window.ledger_table)
        window.accounts_page.account_selected.connect(lambda _: self.update())
        window.session.applied.connect(lambda *_: self.update())
        window.session.loaded.connect(lambda _: self.update())
        self.update()

    def _action(
        self, text: str, shortcut: str, icon: str | None, slot: Callable[[], Any]
    ) -> QAction:
        window = self._window
        action = QAction(assets.icon(icon), text, window) if icon else QAction(text, window)
        action.setShortcut(QKeySequence(shortcut))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setToolTip(f"{text.replace('&', '').rstrip('.…')} ({action.shortcut().toString()})")
        action.triggered.connect(slot)
        window.addAction(action)
        return action

    # ── menus ─────────────────────────────────────────────────────────────────────────────

    def shortcut_actions(self) -> list[QAction]:
        """The actions with shortcuts, for F1 and the menus."""
        return [
            self.hold_action,
            self.release_action,
            self.reverse_action,
            self.why_action,
            self.as_of_action,
            self.customer_action,
            self.journal_action,
        ]

    def add_to(
        self,
        bar: QMenuBar,
        toolbar: QToolBar,
        *,
        file_menu: QMenu,
        account_menu: QMenu,
        before: QAction,
    ) -> None:
        """The journal in the File menu (after the statements), holds in the Account menu,
        Ledger and Customers menus before ``before`` (Help's), and toolbar buttons for the
        day's most frequent (hold, reverse, journal; the rest have menus and keys)."""
        file_menu.insertAction(file_menu.actions()[1], self.journal_action)
        account_menu.addSeparator()
        account_menu.addActions([self.hold_action, self.release_action])
        ledger = QMenu("Le&dger", bar)  # (Alt+L is the Event log tab)
        ledger.addActions([self.reverse_action, self.why_action])
        ledger.addSeparator()
        ledger.addAction(self.as_of_action)
        bar.insertMenu(before, ledger)
        customers = QMenu("C&ustomers", bar)
        customers.addAction(self.customer_action)
        bar.insertMenu(before, customers)
        toolbar.addSeparator()
        for action in (self.hold_action, self.reverse_action, self.journal_action):
            toolbar.addAction(action)
            button = toolbar.widgetForAction(action)
            if isinstance(button, QToolButton):  # icons only: the row is full at 1280 px
                button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)

    # ── what the actions act on ───────────────────────────────────────────────────────────

    def _row(self) -> AccountBalance | None:
        model = self._window.session.model
        account = self._window.selected_account()
        return model.balances.get(account) if model is not None and account else None

    def update(self) -> None:
        """Enable what can be done on the selected account as it stands now."""
        row = self._row()
        self.customer_action.setEnabled(row is not None and row.customer_name is not None)
        is_open = row is not None and row.is_open
        self.hold_action.setEnabled(is_open)
        self.release_action.setEnabled(is_open and bool(self._active_holds(row)))
        line = self.selected_line()
        self.why_action.setEnabled(line is not None)
        self.reverse_action.setEnabled(is_open and line is not None)

    @staticmethod
    def _active_holds(row: AccountBalance | None) -> tuple[Hold, ...]:
        return row.active_holds(datetime.now(UTC)) if row is not None and row.holds else ()

    def _say(self, text: str) -> None:
        self._window.statusBar().showMessage(text, 8_000)

    # ── ledger lines ──────────────────────────────────────────────────────────────────────

    def _watch_ledger(self, table: QTableView) -> None:
        """The ledger's context menu (Menu key, right click) offers the line's actions; moving
        its cursor selects the row under it (Tab into the table selects the line it marks)."""
        table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        table.addActions([self.reverse_action, self.why_action])
        selection = table.selectionModel()
        selection.selectionChanged.connect(lambda *_: self.update())
        selection.currentRowChanged.connect(self._ledger_cursor_moved)
        model = table.model()
        model.modelReset.connect(self.update)

    def _ledger_cursor_moved(self, current: QModelIndex, _previous: QModelIndex) -> None:
        selection = self._window.ledger_table.selectionModel()
        if current.isValid() and not selection.isRowSelected(current.row(), QModelIndex()):
            selection.select(
                current,
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows,
            )

    def selected_line(self) -> LedgerEntry | None:
        """The ledger line the clerk has selected, or None."""
        rows = self._window.ledger_table.selectionModel().selectedRows()
        model = self._window.ledger_model
        if not rows or not 0 <= rows[0].row() < model.rowCount():
            return None
        return model.entry(rows[0].row())

    def reversal_form(self) -> ReversalForm | None:
        """Reverse the selected ledger line, with a reason."""
        line = self.selected_line()
        if line is None:
            self._say("Select a line in the ledger first (Tab from the accounts, then arrows).")
            return None
        if not self.reverse_action.isEnabled():
            return None
        form = ReversalForm(self._context.bank, line, jobs=self._jobs, parent=self._window)
        self._window.open_dialog(form)
        return form

    def why(self) -> WhyDialog | None:
        """Who, when, which request, and what the selected line reverses or was reversed by."""
        line = self.selected_line()
        ledger = self._window.ledger_model.ledger
        if line is None or ledger is None:
            self._say("Select a line in the ledger first (Tab from the accounts, then arrows).")
            return None
        dialog = WhyDialog(explain(ledger.entries, ledger.reversed_by, line.event_id), self._window)
        self._window.open_dialog(dialog)
        return dialog

    def as_of(self) -> None:
        """To the ledger panel's "As of" date (type a day, Esc for live)."""
        window = self._window
        window.tabs.setCurrentIndex(0)
        field = window.accounts_page.as_of_bar.field
        field.setFocus(Qt.FocusReason.ShortcutFocusReason)
        field.selectAll()

    # ── the journal ───────────────────────────────────────────────────────────────────────

    def journal_dialog(self) -> JournalDialog:
        """Today's journal (another day or one clerk's: type them and press Enter)."""
        context, window = self._context, self._window

        def read(day: date, clerk: str | None) -> Journal:
            return journal_from_store(context.store, day, None, clerk)

        def names(accounts: Iterable[str]) -> dict[str, str]:
            model = window.session.model
            if model is None:
                return {}
            rows = (model.balances.get(account) for account in accounts)
            return {row.account_id: customer_text(row) for row in rows if row is not None}

        dialog = JournalDialog(
            read, names, default_directory=Path.home(), jobs=self._jobs, parent=window
        )
        dialog.saved.connect(lambda path: self._say(f"Journal saved to {path}."))
        window.open_dialog(dialog)
        dialog.load()
        return dialog

    # ── holds ─────────────────────────────────────────────────────────────────────────────

    def hold_form(self) -> HoldForm | None:
        """Set money aside on the selected (open) account."""
        row = self._row()
        if row is None or not self.hold_action.isEnabled():
            return None
        form = HoldForm(self._context.bank, row.account_id, jobs=self._jobs, parent=self._window)
        self._window.open_dialog(form)
        return form

    def release_hold_form(self) -> ReleaseHoldForm | None:
        """Release one of the selected account's active holds."""
        row = self._row()
        holds = self._active_holds(row)
        if row is None or not holds or not self.release_action.isEnabled():
            return None
        form = ReleaseHoldForm(
            self._context.bank, row.account_id, holds, jobs=self._jobs, parent=self._window
        )
        self._window.open_dialog(form)
        return form

    # ── customers ─────────────────────────────────────────────────────────────────────────

    def customer_form(self) -> CustomerDetailsForm | None:
        """The selected account's customer's details, to change them (registered customers)."""
        row = self._row()
        if row is None:
            self._say("Select an account to see its customer.")
            return None
        customer = self.customers.get(row.customer_id)
        if customer is None:
            self._say(f"{row.customer_id} is not a registered customer: nothing to change.")
            return None
        form = CustomerDetailsForm(
            self._context.bank,
            customer,
            directory=self.customers,
            jobs=self._jobs,
            parent=self._window,
        )
        self._window.open_dialog(form)
        return form
