"""The teller's-day actions of the window: customers, holds, reversals and "why", the journal,
the ledger as of a date.

Kept out of ``main_window.py``, which builds one :class:`TellerActions` and adds its actions
to its menus and toolbar. The actions follow what the window shows: the selected account
(``account_selected``), the selected ledger line, and every live page (another desk's hold
or a closing changes what can be done). Their forms open through the window's
``open_dialog`` and run through its one :class:`~bank_desktop.gui.workers.BackgroundWork`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QMenuBar, QToolBar

from bank_desktop.application.projections import AccountBalance
from bank_desktop.domain.holds import Hold
from bank_desktop.gui import assets
from bank_desktop.gui.context import AppContext
from bank_desktop.gui.customers import CustomerDirectory
from bank_desktop.gui.forms.customer_forms import CustomerDetailsForm
from bank_desktop.gui.forms.hold_forms import HoldForm, ReleaseHoldForm
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
        return [self.hold_action, self.release_action, self.customer_action]

    def add_to(
        self, bar: QMenuBar, toolbar: QToolBar, *, account_menu: QMenu, before: QAction
    ) -> None:
        """Holds in the Account menu, a Customers menu before ``before`` (Help's), and the
        toolbar's teller buttons."""
        account_menu.addSeparator()
        account_menu.addActions([self.hold_action, self.release_action])
        customers = QMenu("C&ustomers", bar)
        customers.addAction(self.customer_action)
        bar.insertMenu(before, customers)
        toolbar.addSeparator()
        toolbar.addActions([self.hold_action, self.customer_action])

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

    @staticmethod
    def _active_holds(row: AccountBalance | None) -> tuple[Hold, ...]:
        return row.active_holds(datetime.now(UTC)) if row is not None and row.holds else ()

    def _say(self, text: str) -> None:
        self._window.statusBar().showMessage(text, 8_000)

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
