"""The accounts table: a thin Qt model over the balances projection (its filter/sort proxy is
in :mod:`~bank_desktop.gui.models.accounts_proxy`).

The model holds no copy of the balances: it reads rows from the projection on demand (Qt asks
only for visible cells). It announces how many rows it has separately from the projection's
length, because the projection grows first and Qt must be told before it sees the new rows.
A registered customer is shown by name (an unregistered customer id stays shown as the id),
and the available balance (the balance less active holds) beside the balance.

The proxy filters and sorts in Python over precomputed keys instead of asking ``data()`` for
every row (a ``QSortFilterProxyModel`` does that through Python: ~340 ms per keystroke at
100,000 accounts, where this takes a few milliseconds). A filter matches an account by its id
or customer id, or by its customer's name or national id through the read side's customer
index (case and accents ignored; ``bench/accounts_filter.py``).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from decimal import Decimal
from enum import IntEnum
from operator import attrgetter
from typing import Any, Final, cast

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QModelRoleData,
    QModelRoleDataSpan,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QBrush, QColor

from bank_desktop.application.key_scan import KeyScan, mark, rows_of, union
from bank_desktop.application.projections import AccountBalance, BalancesProjection
from bank_desktop.application.projections.customers import CustomersProjection
from bank_desktop.application.search_text import fold
from bank_desktop.domain import format_money


class Column(IntEnum):
    """The accounts table's columns, in order (their titles are :data:`HEADERS`)."""

    ACCOUNT = 0
    CUSTOMER = 1
    BALANCE = 2
    AVAILABLE = 3
    STATUS = 4
    OPENED = 5
    LAST_ACTIVITY = 6


ACCOUNT, CUSTOMER, BALANCE, AVAILABLE, STATUS, OPENED, LAST_ACTIVITY = Column
HEADERS: Final = (
    "Account",
    "Customer",
    "Balance",
    "Available",
    "Status",
    "Opened",
    "Last activity",
)
MONEY_COLUMNS: Final = (BALANCE, AVAILABLE)
ACCOUNT_ID_ROLE: Final = Qt.ItemDataRole.UserRole + 1
HIGHLIGHT_SECONDS: Final = 1.5
FLUSH_MS: Final = 50
_HIGHLIGHT: Final = QColor(255, 236, 153)
_CLOSED: Final = QColor(120, 120, 120)
_HELD: Final = QColor(150, 80, 0)  #: an available balance that holds have lowered

Index = QModelIndex | QPersistentModelIndex
RoleData = QModelRoleDataSpan | QModelRoleData


def role_items(span: RoleData) -> Iterable[QModelRoleData]:
    """The roles ``multiData`` is asked for (a span iterates; its stub does not say so)."""
    return (span,) if isinstance(span, QModelRoleData) else cast(Iterable[QModelRoleData], span)


_POSITION: Final = attrgetter("position")
ANSWERED_ROLES: Final = frozenset(
    {
        Qt.ItemDataRole.DisplayRole,
        Qt.ItemDataRole.TextAlignmentRole,
        Qt.ItemDataRole.BackgroundRole,
        Qt.ItemDataRole.ForegroundRole,
        Qt.ItemDataRole.ToolTipRole,
        ACCOUNT_ID_ROLE,
    }
)


def _when(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M") if moment else ""


def customer_text(row: AccountBalance) -> str:
    """The customer as the table shows it: the registered name, else the id as opened."""
    return row.customer_name or row.customer_id


def available_now(row: AccountBalance) -> Decimal:
    """The row's available balance at this moment (its balance when it has no holds)."""
    return row.available(datetime.now(UTC)) if row.holds else row.balance


def holds_text(row: AccountBalance) -> str:
    """The active holds in words, for a tooltip: "$25.00 held: Cheque clearing (until …)"."""
    held = row.active_holds(datetime.now(UTC)) if row.holds else ()
    lines = [f"{row.account_id}: available {format_money(available_now(row))}"]
    for hold in held:
        until = f", until {_when(hold.expires_at)}" if hold.expires_at else ""
        lines.append(f"{format_money(hold.amount)} held: {hold.reason}{until}")
    return "\n".join(lines)


class AccountsModel(QAbstractTableModel):
    """Accounts in opening order; ``sync`` after the read model applied a batch.

    Besides Qt's signals it emits ``rows_changed`` with exactly the rows whose values moved,
    so the proxy re-sorts those and not the whole table, and keeps each row's search text
    (account and customer id, folded) and customer id, which never change once the account
    exists; names and national ids are searched in the customers projection's own index.
    """

    rows_changed = Signal(list)
    #: Rows whose customer's name changed (after ``rows_changed``): a filter may now find them
    #: or no longer find them.
    rows_renamed = Signal(list)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._balances = BalancesProjection()
        self._customers: CustomersProjection | None = None
        self._count = 0
        self._search: list[str] = []
        self._search_scan = KeyScan(self._search)
        self._owner_position: list[int] = []  #: per row, its customer's position (-1: none)
        self._positions_for = -1  #: how many customers ``_owner_position`` was found among
        self._owners: list[str] = []  #: per row, the customer id the account was opened for
        self._names: list[str | None] = []  #: per row, the customer's name as last announced
        self._renamed: set[int] = set()
        self._highlight_until: dict[str, float] = {}
        self._clock: Callable[[], float] = time.monotonic
        self._fade = QTimer(self)
        self._fade.setInterval(250)
        self._fade.timeout.connect(self._expire_highlights)
        self._dirty: set[int] = set()
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(FLUSH_MS)
        self._flush_timer.timeout.connect(self.flush)

    # ── feeding ───────────────────────────────────────────────────────────────────────────

    def set_projection(
        self,
        balances: BalancesProjection,
        search_keys: list[str] | None = None,
        customers: CustomersProjection | None = None,
        scan: KeyScan | None = None,
        owner_positions: list[int] | None = None,
    ) -> None:
        """Show another projection (once, when the read model has loaded). ``search_keys``
        may come precomputed from the loading worker (see :func:`search_keys`), and ``scan``
        over them, already joined, and ``owner_positions`` (see :meth:`_owner_positions`);
        ``customers`` (the same read model's) lets the filter find accounts by their
        customer's name."""
        self.beginResetModel()
        self._balances = balances
        self._customers = customers
        self._count = len(balances)
        self._search = search_keys if search_keys is not None else search_keys_of(balances)
        if scan is None or scan.keys is not self._search:
            scan = KeyScan(self._search)
        self._search_scan = scan
        self._owners = [row.customer_id for row in balances]
        self._owner_position, self._positions_for = [], -1
        if (
            customers is not None
            and owner_positions is not None
            and len(owner_positions) == len(self._owners)
        ):
            self._owner_position, self._positions_for = owner_positions, len(customers)
        self._names = [row.customer_name for row in balances]
        self._renamed.clear()
        self._highlight_until.clear()
        self._dirty.clear()
        self.endResetModel()

    def sync(self, changed: Iterable[str] = (), *, highlight: bool = True) -> None:
        """Announce accounts the projection gained (at once) and rows whose values changed
        (collected, and announced together at most every ``FLUSH_MS``: a burst of thousands
        of events then costs one re-sort and one repaint per flush instead of one per page).
        """
        total = len(self._balances)
        if total > self._count:
            for row in range(self._count, total):
                added = self._balances.at(row)
                self._search.append(search_key(added))
                self._owners.append(added.customer_id)
                self._names.append(added.customer_name)
            self.beginInsertRows(QModelIndex(), self._count, total - 1)
            self._count = total
            self.endInsertRows()
        until = self._clock() + HIGHLIGHT_SECONDS
        index_of = self._balances.index_of
        for account_id in changed:
            try:
                row = index_of(account_id)
            except KeyError:
                continue
            if row < self._count:
                self._dirty.add(row)
                name = self._balances.at(row).customer_name
                if name != self._names[row]:
                    self._names[row] = name
                    self._renamed.add(row)
                if highlight:
                    self._highlight_until[account_id] = until
        if self._dirty and not self._flush_timer.isActive():
            self._flush_timer.start()

    def flush(self) -> None:
        """Announce the changed rows now (the timer does this by itself)."""
        self._flush_timer.stop()
        if not self._dirty:
            return
        rows, self._dirty = sorted(self._dirty), set()
        self.rows_changed.emit(rows)
        if self._renamed:
            renamed, self._renamed = sorted(self._renamed), set()
            self.rows_renamed.emit(renamed)
        # From the customer on: a renamed customer changes rows as a deposit does.
        self.dataChanged.emit(self.index(rows[0], CUSTOMER), self.index(rows[-1], LAST_ACTIVITY))
        if self._highlight_until and not self._fade.isActive():
            self._fade.start()

    def _expire_highlights(self) -> None:
        now = self._clock()
        expired = [a for a, until in self._highlight_until.items() if until <= now]
        rows = []
        for account_id in expired:
            del self._highlight_until[account_id]
            rows.append(self._balances.index_of(account_id))
        if rows:  # one range: a view repaints what it shows, however wide the range
            self.dataChanged.emit(self.index(min(rows), 0), self.index(max(rows), len(HEADERS) - 1))
        if not self._highlight_until:
            self._fade.stop()

    # ── reading ───────────────────────────────────────────────────────────────────────────

    @property
    def projection(self) -> BalancesProjection:
        return self._balances

    def row_of(self, account_id: str) -> int | None:
        try:
            row = self._balances.index_of(account_id)
        except KeyError:
            return None
        return row if row < self._count else None

    def account_at(self, row: int) -> AccountBalance:
        return self._balances.at(row)

    def all_rows(self) -> list[int]:
        """Every row announced, ascending: the rows' own position ints (a list of 100,000
        fresh ones would cost 3 MB for as long as the proxy shows them)."""
        return list(map(_POSITION, itertools.islice(self._balances, self._count)))

    @property
    def search_scan(self) -> KeyScan:
        """The scan the filter matches ids with (joined on the loading worker)."""
        return self._search_scan

    @property
    def search_keys(self) -> list[str]:
        """Per row, "account customer" folded (what the filter matches besides names)."""
        return self._search

    def matching_rows(self, text: str) -> list[int]:
        """Source rows, ascending, whose account or customer id contains ``text``, or whose
        registered customer's name or national id matches it (every word, any case and
        accents: the customers projection's index)."""
        return rows_of(self.matching_mask(text))

    def matching_mask(self, text: str) -> bytearray:
        """Per source row, 1 when :meth:`matching_rows` finds it, else 0; built without a
        Python step per row: the ids by one scan of their joined text, the customers the
        index finds marked by position and looked up per row through ``map``."""
        needle = fold(text)
        count = len(self._search)
        if not needle:
            return bytearray(b"\x01") * count
        mask = mark(bytearray(count), self._search_scan.rows_with(needle))
        customers = self._customers
        if customers is None or not len(customers) or not text.strip() or 0 not in mask:
            return mask
        positions = customers.matching_positions(text)
        if not positions:
            return mask
        chosen = mark(bytearray(len(customers) + 1), positions)  # the last: "not registered"
        by_name = bytes(map(chosen.__getitem__, self._owner_positions(customers)))
        return union(mask, by_name)

    def _owner_positions(self, customers: CustomersProjection) -> list[int]:
        """Per row, its customer's position in the customers projection (-1: unregistered),
        kept while no customer is registered and extended for new rows."""
        owners, known = self._owners, self._owner_position
        if self._positions_for != len(customers):  # a new customer may own known rows
            known[:] = customers.positions_of(owners)
            self._positions_for = len(customers)
        elif len(known) < len(owners):
            known.extend(customers.positions_of(owners[len(known) :]))
        return known

    def customers_matching(self, text: str) -> set[str]:
        """Registered customers whose name or national id match ``text`` (none: none)."""
        customers = self._customers
        if customers is None or not len(customers) or not text.strip():
            return set()
        return set(customers.matching(text))

    def owner_of(self, row: int) -> str:
        """The customer id the account of source ``row`` was opened for."""
        return self._owners[row]

    def is_highlighted(self, account_id: str) -> bool:
        return self._highlight_until.get(account_id, 0.0) > self._clock()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else self._count

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(
        self,
        section: int,
        orientation: Qt.Orientation,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return HEADERS[section] if 0 <= section < len(HEADERS) else None
        if role == Qt.ItemDataRole.TextAlignmentRole and section in MONEY_COLUMNS:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # A view asks for about ten roles per visible cell on every repaint; the ones this
        # model never answers are turned away before any lookup.
        if role not in ANSWERED_ROLES or not index.isValid() or not 0 <= index.row() < self._count:
            return None
        return self.cell(index.row(), index.column(), role)

    def cell(self, source_row: int, column: int, role: int) -> Any:
        """What ``data`` answers for a valid row and column (the proxy asks here directly,
        without making a source index for each of a repaint's thousand questions)."""
        return self._answer(self._balances.at(source_row), column, role)

    def fill(self, source_row: int, column: int, span: RoleData) -> None:
        """Answer every role of ``span`` for a valid row and column at once: a view's delegate
        asks for seven roles per cell in one ``multiData`` call."""
        row = self._balances.at(source_row)
        answer = self._answer
        for item in role_items(span):
            role = item.role()
            value = answer(row, column, role) if role in ANSWERED_ROLES else None
            if value is None:
                item.clearData()
            else:
                item.setData(value)

    def _answer(self, row: AccountBalance, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return _display(row, column)
        if role == ACCOUNT_ID_ROLE:
            return row.account_id
        if role == Qt.ItemDataRole.TextAlignmentRole and column in MONEY_COLUMNS:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.BackgroundRole and self.is_highlighted(row.account_id):
            return QBrush(_HIGHLIGHT)
        if role == Qt.ItemDataRole.ForegroundRole:
            if not row.is_open:
                return QBrush(_CLOSED)
            if column == AVAILABLE and row.holds and available_now(row) != row.balance:
                return QBrush(_HELD)
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            return _tooltip(row, column)
        return None


def _tooltip(row: AccountBalance, column: int) -> str | None:
    if column in MONEY_COLUMNS:
        if row.unrecognized is not None:
            return f"{row.account_id}: this version cannot read its history ({row.unrecognized})"
        if column == AVAILABLE:
            return holds_text(row)
        return f"{row.account_id}: {format_money(row.balance)}"
    if column == CUSTOMER:
        if row.customer_name is None:
            return f"{row.customer_id} (not a registered customer)"
        return f"{row.customer_name} ({row.customer_id})"
    return None


def _display(row: AccountBalance, column: int) -> str:
    match column:
        case Column.ACCOUNT:
            return row.account_id
        case Column.CUSTOMER:
            return customer_text(row)
        case (
            Column.BALANCE
        ):  # a balance that ignores part of the history is shown as no number at all
            return format_money(row.balance) if row.unrecognized is None else "unknown"
        case Column.AVAILABLE:
            return format_money(available_now(row)) if row.unrecognized is None else "unknown"
        case Column.STATUS:
            return "Open" if row.is_open else "Closed"
        case Column.OPENED:
            return _when(row.opened_at)
        case Column.LAST_ACTIVITY:
            return _when(row.last_activity_at)
    return ""


def search_key(row: AccountBalance) -> str:
    return fold(f"{row.account_id} {row.customer_id}")


def search_keys_of(balances: BalancesProjection) -> list[str]:
    """Every row's search text; cheap enough for a worker thread, ~60 ms per 100k rows."""
    return [search_key(row) for row in balances]


def sort_key(row: AccountBalance, column: int) -> Any:
    match column:
        case Column.ACCOUNT:
            return row.account_id
        case Column.CUSTOMER:
            return fold(customer_text(row))
        case Column.BALANCE:
            return row.cents  # the row's own int: no Decimal made per row while sorted
        case Column.AVAILABLE:
            return available_now(row)
        case Column.STATUS:
            return row.is_open
        case Column.OPENED:
            return row.opened_at.timestamp()
        case Column.LAST_ACTIVITY:
            return row.last_activity_at.timestamp()
    return 0


def __getattr__(name: str) -> Any:
    """``AccountsProxy`` lives in :mod:`~bank_desktop.gui.models.accounts_proxy`; importing
    it from here still works (lazily: that module imports this one)."""
    if name == "AccountsProxy":
        from bank_desktop.gui.models.accounts_proxy import AccountsProxy

        return AccountsProxy
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
