"""The Accounts tab: filter and accounts on the left, the selected account's ledger and chart on
the right.

The page owns its selection, as Qt's address-book example does: the filter, the table's cursor
and a single match settle which account is selected (only ever one the clerk sees), and the
page emits ``account_selected`` with its id (None: none); the window connects to it to enable
its actions and load the ledger, which it hands back with :meth:`AccountsPage.show_ledger`.
With a date in the ledger panel's "As of" field the ledger, chart and title show the account
at the end of that day instead (:mod:`~bank_desktop.gui.as_of`); the page keeps the live
ledger all the same, so emptying the field shows it at once.

Columns are sized from the text they hold, never by measuring every row: each starts as wide
as a typical value (and its title), and :func:`fit_column` widens one as soon as a wider value
is shown, so money is never elided. A column never narrows by itself (the clerk may have
widened it). The ledger's description takes the room that is left.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Final

from PySide6.QtCore import (
    QByteArray,
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    Qt,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSplitter,
    QStyle,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from bank_desktop.application.projections import AccountBalance, Ledger, LedgerEntry
from bank_desktop.application.projections.as_of import AsOf
from bank_desktop.domain import format_money
from bank_desktop.gui.as_of import AsOfBar, cut
from bank_desktop.gui.chart import BalanceChart
from bank_desktop.gui.models import accounts as acc
from bank_desktop.gui.models import ledger as led
from bank_desktop.gui.models.accounts_proxy import AccountsProxy
from bank_desktop.gui.models.ledger import LedgerModel, amount_text

#: A typical widest value per column; None: the column stretches into the room left.
ACCOUNT_SAMPLES: Final = (
    "account-xxxxxxxxxxxx",
    "cust-00000000",
    "$999,999.99",
    "$999,999.99",
    "Closed",
    "2026-12-31 23:59",
    "2026-12-31 23:59",
)
LEDGER_SAMPLES: Final = (
    "2026-12-31 23:59:59",
    "Transfer out",
    "+$99,999.99",
    "$999,999.99",
    None,
    "clerk-00",
    "account-xxxxxxxxxxxx",
)
#: Ids can be any length: beyond this a customer or clerk column elides (money never does).
ID_COLUMN_CAP: Final = 280
DESCRIPTION_MIN: Final = 160
#: The most of the page the accounts take by default; the rest is the ledger's.
ACCOUNTS_SHARE: Final = 0.58
#: Pixels a cell needs beyond its text: the style sheet's item padding (4 px a side), the grid
#: line, and two of air so a figure never touches the line. Qt's focus-frame margin comes on
#: top (``text_width``).
_AIR: Final = 8 + 1 + 2
_SORT_INDICATOR: Final = 18
NO_SELECTION: Final = "Select an account to see its transactions."
FILTER_HID_IT: Final = (
    "No account selected: the filter hides the one you had. Tab to the list to pick a match."
)


class AccountsPage(QSplitter):
    """The accounts (filtered, sorted) and the selected account's ledger and chart."""

    #: The account the clerk selected (a str), or None when none is selected.
    account_selected = Signal(object)

    def __init__(
        self, accounts: AccountsProxy, ledger: LedgerModel, parent: QWidget | None = None
    ) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setObjectName("accountsSplitter")
        self._proxy = accounts
        self._ledger_model = ledger
        self._selected: str | None = None
        self._ledger: Ledger | None = None
        self._title_row: AccountBalance | None = None
        self._as_of: AsOf | None = None  #: the account at the as-of moment, while one is set
        self.account_filter = QLineEdit()
        self.account_filter.setObjectName("accountFilter")
        self.account_filter.setPlaceholderText("Find account or customer (Ctrl+F)")
        self.account_filter.setClearButtonEnabled(True)

        self.accounts_table = table("accountsTable", accounts, ACCOUNT_SAMPLES)
        self.accounts_table.setSortingEnabled(True)
        self.accounts_table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        self.ledger_table = table("transactionsTable", ledger, LEDGER_SAMPLES)
        self.ledger_title = QLabel(NO_SELECTION)
        self.ledger_title.setObjectName("ledgerTitle")
        self.ledger_title.setWordWrap(True)  # a long title wraps, the as-of field keeps room
        self.as_of_bar = AsOfBar()
        self.chart = BalanceChart()

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.account_filter)
        left_layout.addWidget(self.accounts_table)

        self.right = QSplitter(Qt.Orientation.Vertical)
        self.right.setObjectName("ledgerSplitter")
        self.right.addWidget(self._ledger_box())
        self.right.addWidget(self.chart)
        self.right.setSizes([460, 300])

        self.addWidget(left)
        self.addWidget(self.right)
        # The accounts get the room their columns need; a wider window widens the ledger.
        self.setStretchFactor(0, 0)
        self.setStretchFactor(1, 1)
        self.setChildrenCollapsible(False)
        self.restored = False  #: the clerk's own splitter positions were put back
        self.setSizes([self.accounts_width(), 680])
        QWidget.setTabOrder(self.account_filter, self.accounts_table)
        QWidget.setTabOrder(self.accounts_table, self.ledger_table)
        QWidget.setTabOrder(self.ledger_table, self.as_of_bar.field)
        self.as_of_bar.day_changed.connect(lambda _: self._show_as_of())
        self.as_of_bar.field.finished.connect(self.ledger_table.setFocus)
        self.account_filter.textChanged.connect(self._filter_changed)
        selection = self.accounts_table.selectionModel()
        selection.currentRowChanged.connect(self._current_moved)
        selection.selectionChanged.connect(self._selection_changed)

    def _ledger_box(self) -> QWidget:
        """The title with the as-of field, over the ledger."""
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        header = QHBoxLayout()
        header.addWidget(self.ledger_title, 1)
        header.addWidget(self.as_of_bar)
        layout.addLayout(header)
        layout.addWidget(self.ledger_table)
        return box

    # ── selection ─────────────────────────────────────────────────────────────────────────

    @property
    def selected(self) -> str | None:
        """The account the clerk sees selected (the one actions act on), or None."""
        return self._selected

    def select_account(self, account_id: str) -> bool:
        """Select ``account_id`` in the table (clearing a filter that hides it)."""
        row = self._proxy.row_of(account_id)
        if row is None and self.account_filter.text():
            self.account_filter.clear()
            row = self._proxy.row_of(account_id)
        if row is None:
            return False
        index = self._proxy.index(row, 0)
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
        self._set_selected(self._proxy.account_id_at(rows[0].row()) if rows else None)

    def _set_selected(self, account_id: str | None, *, why_none: str | None = None) -> None:
        """The account actions target: only ever one the clerk sees selected in the table."""
        if account_id == self._selected:
            return
        self._selected = account_id
        if account_id is None:
            self.show_ledger(None, why_none=why_none)
        else:
            self.ledger_title.setText(f"{account_id} – loading…")
        self.account_selected.emit(account_id)

    def _filter_changed(self, text: str) -> None:
        """Keep the selection if the filter still shows it; never keep a hidden one.

        The proxy's reset clears the table's selection without a signal, so the selected
        account is settled here: still listed, it is selected again; a single match is
        selected; otherwise nothing is, and the pane says why.
        """
        selected = self._selected
        self._proxy.set_filter_text(text)
        if selected is not None and self._proxy.row_of(selected) is not None:
            self.select_account(selected)
        elif self._proxy.rowCount() == 1:
            self.accounts_table.setCurrentIndex(self._proxy.index(0, 0))
        else:
            self._set_selected(None, why_none=FILTER_HID_IT if selected is not None else None)

    # ── the ledger pane ───────────────────────────────────────────────────────────────────

    @property
    def ledger(self) -> Ledger | None:
        """The ledger shown (the selected account's, once loaded)."""
        return self._ledger

    def show_ledger(
        self,
        ledger: Ledger | None,
        row: AccountBalance | None = None,
        *,
        why_none: str | None = None,
    ) -> None:
        """Show ``ledger`` (None: no account, and ``why_none``); ``row`` titles it. With an
        as-of day set, what is shown is the ledger at the end of that day."""
        self._ledger = ledger
        self._title_row = row
        shown = ledger
        self._as_of = None
        moment = self.as_of_bar.moment()
        if ledger is not None and moment is not None:
            shown, self._as_of = cut(ledger, moment)
        if shown is not None:
            self.fit_ledger_columns(shown.entries)
        self._ledger_model.set_ledger(shown)
        self.chart.show_ledger(shown)
        if ledger is None:
            self.ledger_title.setText(why_none or NO_SELECTION)
        else:
            self.update_ledger_title(row)
            self.ledger_table.scrollToBottom()

    def _show_as_of(self) -> None:
        """The as-of day changed: show the kept ledger at the new moment (or live)."""
        if self._ledger is not None:
            self.show_ledger(self._ledger, self._title_row)

    @property
    def as_of(self) -> AsOf | None:
        """The account at the as-of moment shown, or None while the panel is live."""
        return self._as_of

    def ledger_grew(self) -> None:
        """The shown ledger gained entries (live): show them (as of a day, cut again: a
        line recorded later can still belong before the end of that day)."""
        ledger = self._ledger
        if ledger is None:
            return
        if self._as_of is not None:
            self._show_as_of()
            return
        added = ledger.entries[self._ledger_model.rowCount() :]
        if added:
            self.fit_ledger_columns(added)
            self._ledger_model.sync()
            self.chart.append_entries(added)
            self.ledger_table.scrollToBottom()

    def update_ledger_title(self, row: AccountBalance | None) -> None:
        """ "account · customer · balance $X · available $Y" from the balances row (it moves
        with every event, this desk's or another's, like the table does)."""
        ledger = self._ledger
        if ledger is None or ledger.account_id != self._selected:
            return
        self._title_row = row
        if self._as_of is not None:
            self.ledger_title.setText(self._as_of_title(row))
            return
        if row is None:
            self.ledger_title.setText(
                f"{ledger.account_id} · balance {format_money(ledger.balance)}"
            )
            return
        state = "" if row.is_open else " · closed"
        available = acc.available_now(row)
        held = f" · available {format_money(available)}" if available != row.balance else ""
        self.ledger_title.setText(
            f"{row.account_id} · {acc.customer_text(row)} · balance "
            f"{format_money(row.balance)}{held}{state}"
        )

    def _as_of_title(self, row: AccountBalance | None) -> str:
        state, day = self._as_of, self.as_of_bar.day
        assert state is not None
        assert day is not None
        who = f" · {acc.customer_text(row)}" if row is not None else ""
        if state.status == "not_opened":
            return f"{state.account_id}{who} · as of the end of {day}: not opened yet"
        held = (
            f" · available {format_money(state.available_balance)}"
            if state.available_balance != state.balance
            else ""
        )
        closed = " · closed" if state.status == "closed" else ""
        return (
            f"{state.account_id}{who} · as of the end of {day}: balance "
            f"{format_money(state.balance)}{held}{closed}"
        )

    # ── column widths ─────────────────────────────────────────────────────────────────────

    def fit_account_columns(
        self, balances: Sequence[str], customers: Sequence[str], ids: Sequence[str]
    ) -> None:
        """Widen the accounts' columns for these texts (money never elides, ids up to a cap)."""
        view = self.accounts_table
        fit_column(view, acc.BALANCE, balances)
        fit_column(view, acc.AVAILABLE, balances)  # never more than the balance
        fit_column(view, acc.CUSTOMER, customers, cap=ID_COLUMN_CAP)
        fit_column(view, acc.ACCOUNT, ids, cap=ID_COLUMN_CAP)

    def fit_ledger_columns(self, entries: Sequence[LedgerEntry]) -> None:
        """Widen the ledger's columns for ``entries``: only the extremes can be the widest
        figures, so a long ledger costs a scan, not a text per entry."""
        if not entries:
            return
        view = self.ledger_table
        amounts = [e.amount for e in entries]
        balances = [e.balance for e in entries]
        fit_column(view, led.AMOUNT, [amount_text(min(amounts)), amount_text(max(amounts))])
        fit_column(view, led.BALANCE, [format_money(min(balances)), format_money(max(balances))])
        fit_column(view, led.CLERK, {e.clerk_id or "" for e in entries}, cap=ID_COLUMN_CAP)
        counterparts = {e.counterparty_account_id or "" for e in entries}
        fit_column(view, led.COUNTERPART, counterparts, cap=ID_COLUMN_CAP)

    def accounts_width(self) -> int:
        """What the accounts table needs to show every column without scrolling."""
        view = self.accounts_table
        columns = sum(view.columnWidth(c) for c in range(len(ACCOUNT_SAMPLES)))
        scrollbar = max(
            view.verticalScrollBar().sizeHint().width(),
            view.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent, None, view),
        )
        return columns + scrollbar + 2 * view.frameWidth() + 6  # the focus border is thicker

    def fit_accounts(self) -> None:
        """Give the accounts the room their columns need now (at most ``ACCOUNTS_SHARE`` of the
        page), unless the clerk's own splitter position was restored."""
        if self.restored:
            return
        total = sum(self.sizes())
        left = min(self.accounts_width(), int(total * ACCOUNTS_SHARE))
        self.setSizes([left, total - left])

    def save_state(self) -> list[QByteArray]:
        """Both splitters' positions, for QSettings."""
        return [self.saveState(), self.right.saveState()]

    def restore_state(self, states: Sequence[Any]) -> None:
        """Put both splitters back where the clerk left them (anything unreadable is ignored)."""
        for splitter, state in zip((self, self.right), states, strict=False):
            if isinstance(state, QByteArray | bytes) and splitter.restoreState(QByteArray(state)):
                self.restored = True


def text_width(view: QTableView, text: str) -> int:
    """The column width ``text`` needs in ``view`` to show without eliding (Qt's item view
    keeps a focus-frame margin plus one pixel on each side of the text)."""
    margin = view.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, view) + 1
    return view.fontMetrics().horizontalAdvance(text) + 2 * margin + _AIR


def fit_column(view: QTableView, column: int, texts: Iterable[str], *, cap: int = 0) -> None:
    """Widen ``column`` until every text fits (up to ``cap`` when given); never narrows."""
    widest = max((text_width(view, text) for text in texts if text), default=0)
    if cap:
        widest = min(widest, cap)
    if widest > view.columnWidth(column):
        view.setColumnWidth(column, widest)


def table(object_name: str, model: Any, samples: Sequence[str | None]) -> QTableView:
    """A read-only, row-selecting table as every list in the window uses it."""
    view = QTableView()
    view.setObjectName(object_name)
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setAlternatingRowColors(True)
    view.setWordWrap(False)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setDefaultSectionSize(24)
    header = view.horizontalHeader()
    header.setHighlightSections(False)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    view.setTabKeyNavigation(False)
    titles = header.fontMetrics()
    stretch = None
    for column, sample in enumerate(samples):
        title = str(model.headerData(column, Qt.Orientation.Horizontal) or "")
        width = titles.horizontalAdvance(title) + _SORT_INDICATOR + _AIR
        if sample is None:
            stretch = column
            width = max(width, DESCRIPTION_MIN)
        else:
            width = max(width, text_width(view, sample))
        view.setColumnWidth(column, width)
    if stretch is None:
        header.setStretchLastSection(True)
    elif stretch == len(samples) - 1:  # nothing after it to hide
        header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    else:
        RoomyColumn(view, stretch, DESCRIPTION_MIN)
    return view


class RoomyColumn(QObject):
    """A column in the middle of a table (a ledger's description) that takes the room the
    others leave, but never less than ``minimum``: the columns after it scroll into view
    instead. (Qt's Stretch mode shrinks such a column to a sliver once the others fill the
    view, and a transaction's description then cannot be read.) A width the clerk drags it
    to holds until the view or another column changes size."""

    def __init__(self, view: QTableView, column: int, minimum: int) -> None:
        super().__init__(view)
        self._view = view
        self._column = column
        self._minimum = minimum
        self._fitting = False
        view.viewport().installEventFilter(self)
        view.horizontalHeader().sectionResized.connect(self._resized)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:
            self.fit()
        return False

    def _resized(self, column: int, _old: int, _new: int) -> None:
        if column != self._column:
            self.fit()

    def fit(self) -> None:
        if self._fitting:
            return
        view, column = self._view, self._column
        header = view.horizontalHeader()
        others = sum(
            header.sectionSize(at)
            for at in range(header.count())
            if at != column and not header.isSectionHidden(at)
        )
        width = max(self._minimum, view.viewport().width() - others)
        if header.sectionSize(column) != width:
            self._fitting = True
            try:
                header.resizeSection(column, width)
            finally:
                self._fitting = False
