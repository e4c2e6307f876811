"""The accounts table: a thin Qt model over the balances projection, and its filter/sort proxy.

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

import bisect
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from decimal import Decimal
from enum import IntEnum
from itertools import compress, repeat
from operator import itemgetter
from typing import Any, Final

from PySide6.QtCore import (
    QAbstractProxyModel,
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QBrush, QColor
from sortedcontainers import SortedList

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
_SOURCE_ROW: Final = itemgetter(1)  #: of a sorted entry (key, source row)
_ANSWERED_ROLES: Final = frozenset(
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
    ) -> None:
        """Show another projection (once, when the read model has loaded). ``search_keys``
        may come precomputed from the loading worker (see :func:`search_keys`); ``customers``
        (the same read model's) lets the filter find accounts by their customer's name."""
        self.beginResetModel()
        self._balances = balances
        self._customers = customers
        self._count = len(balances)
        self._search = search_keys if search_keys is not None else search_keys_of(balances)
        self._owners = [row.customer_id for row in balances]
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

    @property
    def search_keys(self) -> list[str]:
        """Per row, "account customer" folded (what the filter matches besides names)."""
        return self._search

    def matching_rows(self, text: str) -> list[int]:
        """Source rows, ascending, whose account or customer id contains ``text``, or whose
        registered customer's name or national id matches it (every word, any case and
        accents: the customers projection's index, one scan per word)."""
        needle = fold(text)
        keys = self._search
        rows = range(len(keys))
        found = list(compress(rows, map(str.__contains__, keys, repeat(needle))))  # C speed
        if len(found) == len(keys):
            return found  # every id holds it ("account-"): no name can add a row
        matched = self.customers_matching(text)
        if not matched:
            return found
        return [
            r
            for r, key, owner in zip(rows, keys, self._owners, strict=True)
            if needle in key or owner in matched
        ]

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
        if role not in _ANSWERED_ROLES or not index.isValid() or not 0 <= index.row() < self._count:
            return None
        row = self._balances.at(index.row())
        column = index.column()
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


def _sort_key(row: AccountBalance, column: int) -> Any:
    match column:
        case Column.ACCOUNT:
            return row.account_id
        case Column.CUSTOMER:
            return fold(customer_text(row))
        case Column.BALANCE:
            return row.balance
        case Column.AVAILABLE:
            return available_now(row)
        case Column.STATUS:
            return row.is_open
        case Column.OPENED:
            return row.opened_at.timestamp()
        case Column.LAST_ACTIVITY:
            return row.last_activity_at.timestamp()
    return 0


class AccountsProxy(QAbstractProxyModel):
    """Filter (account or customer contains the text) and sort over ``AccountsModel``.

    Unsorted, the proxy holds the matching source rows in ascending order; sorted, it holds
    (key, source row) entries in a ``SortedList``, which takes a row out and puts it back in
    O(log n) (a plain list moves 100,000 pointers for each), and shows it reversed for a
    descending sort. Either way a source row finds its proxy row by bisection, so nothing is
    rebuilt per change. While sorted it also keeps every row's entry in order (``_all``), so a
    new filter picks the matching entries from it in order instead of computing 100,000 sort
    keys and sorting them again on a keystroke.

    A filter change resets the proxy (the clerk asked for another set of rows); typing more of
    the same search only narrows the rows already shown. Live changes never reset: new
    accounts are inserted where they belong, and rows whose sorted value moved are moved with
    ``layoutChanged``, which keeps the selection and scroll position.
    """

    #: Source ranges wider than this are forwarded as "everything may have changed": a view
    #: repaints only what it shows, where mapping each row costs a Python call per row.
    WIDE_RANGE: Final = 64

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._needle = ""
        self._column: int | None = None
        self._order = Qt.SortOrder.AscendingOrder
        self._rows: list[int] = []  # unsorted: matching source rows, ascending
        self._all: SortedList = SortedList()  # sorted: every source row's (key, row) entry
        self._entry_of: list[Any] = []  # sorted: per source row, its entry in ``_all``
        self._keyed_by: int | None = None  # the column ``_all`` is keyed by (None: not built)
        #: Sorted: the entries shown: ``_all`` itself while every row is (``_shown`` None),
        #: else those of the source rows in ``_shown``.
        self._sorted: SortedList = SortedList()
        self._shown: set[int] | None = None

    # ── wiring ────────────────────────────────────────────────────────────────────────────

    def accounts(self) -> AccountsModel:
        model = self.sourceModel()
        assert isinstance(model, AccountsModel)
        return model

    def setSourceModel(self, source: QAbstractTableModel) -> None:  # type: ignore[override]
        self.beginResetModel()
        super().setSourceModel(source)
        assert isinstance(source, AccountsModel)
        source.modelReset.connect(self._reset)
        source.rowsInserted.connect(self._inserted)
        source.dataChanged.connect(self._changed)
        source.rows_changed.connect(self._moved)
        source.rows_renamed.connect(self._renamed)
        self._rebuild()
        self.endResetModel()

    def _reset(self) -> None:
        self.beginResetModel()
        self._keyed_by = None  # another projection: every key afresh
        self._rebuild()
        self.endResetModel()

    # ── positions ─────────────────────────────────────────────────────────────────────────

    @property
    def _descending(self) -> bool:
        return self._order == Qt.SortOrder.DescendingOrder

    def _count(self) -> int:
        return len(self._rows) if self._column is None else len(self._sorted)

    def _source_row(self, proxy_row: int) -> int:
        if self._column is None:
            return self._rows[proxy_row]
        at = len(self._sorted) - 1 - proxy_row if self._descending else proxy_row
        row: int = self._sorted[at][1]
        return row

    def _proxy_row(self, source_row: int) -> int | None:
        if self._column is None:
            at = bisect.bisect_left(self._rows, source_row)
            found = at < len(self._rows) and self._rows[at] == source_row
            return at if found else None
        if self._shown is not None and source_row not in self._shown:
            return None
        if not 0 <= source_row < len(self._entry_of):
            return None
        position: int = self._sorted.bisect_left(self._entry_of[source_row])
        return len(self._sorted) - 1 - position if self._descending else position

    # ── filter and sort ───────────────────────────────────────────────────────────────────

    @property
    def filter_text(self) -> str:
        return self._needle

    def set_filter_text(self, text: str) -> None:
        needle = fold(text)
        if needle == self._needle:
            return
        narrowing = bool(self._needle) and self._needle in needle
        if narrowing:  # typing on: only rows already shown can still match, order is kept
            found = self.accounts().matching_rows(needle)
            if len(found) == self._count():  # all still match ("account-0…"): nothing moves
                self._needle = needle
                return
            matched = set(found)
        self.beginResetModel()
        self._needle = needle
        if narrowing:
            if self._column is None:
                self._rows = [r for r in self._rows if r in matched]
            else:
                kept = [entry for entry in self._sorted if entry[1] in matched]
                self._sorted = SortedList(kept)  # in order already: one pass
                self._shown = {entry[1] for entry in kept}
        else:
            self._rebuild()
        self.endResetModel()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        rows = [self._source_row(i) for i in range(self._count())]
        self._relayout(lambda: self._set_order(column, order, rows))

    def _set_order(self, column: int, order: Qt.SortOrder, rows: list[int]) -> None:
        self._column = column if 0 <= column < len(HEADERS) else None
        self._order = order
        if self._column != self._keyed_by:
            self._keyed_by = None
        self._arrange(rows)

    def _rebuild(self) -> None:
        needle = self._needle
        source = self.accounts()
        rows = source.matching_rows(needle) if needle else list(range(len(source.search_keys)))
        self._arrange(rows)

    def _arrange(self, rows: list[int]) -> None:
        if self._column is None:
            self._rows = sorted(rows)
            self._all, self._entry_of, self._keyed_by = SortedList(), [], None
            self._sorted, self._shown = self._all, None
            return
        self._rows = []
        if self._keyed_by != self._column:
            source, column = self.accounts(), self._column
            entries = [
                (_sort_key(source.account_at(r), column), r) for r in range(source.rowCount())
            ]
            self._all, self._entry_of, self._keyed_by = SortedList(entries), entries, column
        if not self._needle or len(rows) == len(self._all):
            self._sorted, self._shown = self._all, None  # every row shown: one list
            return
        wanted = bytearray(len(self._entry_of))
        for row in rows:
            wanted[row] = 1
        rows_in_order = map(_SOURCE_ROW, self._all)
        kept = list(compress(self._all, map(wanted.__getitem__, rows_in_order)))
        self._sorted = SortedList(kept)  # in order already: one pass
        self._shown = set(rows)

    def _relayout(self, change: Callable[[], None]) -> None:
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        sources = [self.mapToSource(index) for index in persistent]
        change()
        self.changePersistentIndexList(persistent, [self.mapFromSource(s) for s in sources])
        self.layoutChanged.emit()

    # ── live changes ──────────────────────────────────────────────────────────────────────

    def _inserted(self, _parent: QModelIndex, first: int, last: int) -> None:
        source = self.accounts()
        keys = source.search_keys
        needle = self._needle
        matched: set[str] | None = None  # the customers the filter finds, once per batch
        for row in range(first, last + 1):
            if needle and needle not in keys[row]:
                if matched is None:
                    matched = source.customers_matching(needle)
                if source.owner_of(row) not in matched:
                    if self._column is not None:
                        self._split_shown()
                        self._insert_sorted(row, shown=False)  # listed once the filter goes
                    continue
            if self._column is None:  # new source rows are the highest: they go last
                at = len(self._rows)
                self.beginInsertRows(QModelIndex(), at, at)
                self._rows.append(row)
                self.endInsertRows()
                continue
            self._insert_sorted(row, shown=True)

    def _split_shown(self) -> None:
        """A filter that shows every row shares ``_all``; before a row is left out, the rows
        shown become a list of their own."""
        if self._column is not None and self._shown is None and self._needle:
            self._sorted = SortedList(self._all)
            self._shown = set(range(len(self._entry_of)))

    def _insert_sorted(self, row: int, *, shown: bool) -> None:
        """Add a new source row's entry (sorted); when ``shown``, also as a proxy row."""
        entry = (_sort_key(self.accounts().account_at(row), self._column or 0), row)
        assert row == len(self._entry_of), (row, len(self._entry_of))
        self._entry_of.append(entry)
        if not shown:
            self._all.add(entry)
            return
        at = self._sorted.bisect_left(entry)
        if self._descending:
            at = len(self._sorted) - at
        self.beginInsertRows(QModelIndex(), at, at)
        self._all.add(entry)
        if self._shown is not None:
            self._sorted.add(entry)
            self._shown.add(row)
        self.endInsertRows()

    def _moved(self, rows: list[int]) -> None:
        """Rows whose values changed: when sorted, take out and put back those that moved."""
        if self._column is None:
            return
        source, column, entry_of = self.accounts(), self._column, self._entry_of
        moves: dict[int, Any] = {}
        for row in rows:
            if row >= len(entry_of):
                continue  # not announced yet
            new = (_sort_key(source.account_at(row), column), row)
            if new != entry_of[row]:
                moves[row] = new
        if not moves:
            return
        shown = self._shown

        def reposition() -> None:
            for row, new in moves.items():
                old = entry_of[row]
                self._all.remove(old)
                self._all.add(new)
                if shown is not None and row in shown:
                    self._sorted.remove(old)
                    self._sorted.add(new)
                entry_of[row] = new

        if shown is None or any(row in shown for row in moves):
            self._relayout(reposition)
        else:
            reposition()  # only hidden rows moved: nothing the view shows changes

    def _renamed(self, rows: list[int]) -> None:
        """Customers renamed: under a filter, show the rows it now finds, hide the others."""
        needle = self._needle
        if not needle:
            return
        source = self.accounts()
        keys = source.search_keys
        matched = source.customers_matching(needle)
        for row in rows:
            wanted = needle in keys[row] or source.owner_of(row) in matched
            at = self._proxy_row(row)
            if wanted and at is None:
                self._show(row)
            elif not wanted and at is not None:
                self._split_shown()
                self.beginRemoveRows(QModelIndex(), at, at)
                if self._column is None:
                    del self._rows[at]
                else:
                    self._sorted.remove(self._entry_of[row])
                    assert self._shown is not None  # a filter is set
                    self._shown.discard(row)
                self.endRemoveRows()

    def _show(self, row: int) -> None:
        """Show a known source row the filter now finds, where it belongs."""
        if self._column is None:
            at = bisect.bisect_left(self._rows, row)
            self.beginInsertRows(QModelIndex(), at, at)
            self._rows.insert(at, row)
            self.endInsertRows()
            return
        entry = self._entry_of[row]
        at = self._sorted.bisect_left(entry)
        if self._descending:
            at = len(self._sorted) - at
        self.beginInsertRows(QModelIndex(), at, at)
        self._sorted.add(entry)
        assert self._shown is not None  # a filter is set
        self._shown.add(row)
        self.endInsertRows()

    def _changed(self, top_left: QModelIndex, bottom_right: QModelIndex, roles: Any = ()) -> None:
        count = self._count()
        if not count:
            return
        first, last = top_left.row(), bottom_right.row()
        if last - first > self.WIDE_RANGE:
            self.dataChanged.emit(
                self.index(0, top_left.column()), self.index(count - 1, bottom_right.column())
            )
            return
        proxied = [p for r in range(first, last + 1) if (p := self._proxy_row(r)) is not None]
        if proxied:
            self.dataChanged.emit(
                self.index(min(proxied), top_left.column()),
                self.index(max(proxied), bottom_right.column()),
            )

    # ── QAbstractProxyModel ───────────────────────────────────────────────────────────────

    def mapToSource(self, proxy: Index) -> QModelIndex:
        if not proxy.isValid() or not 0 <= proxy.row() < self._count():
            return QModelIndex()
        return self.accounts().index(self._source_row(proxy.row()), proxy.column())

    def mapFromSource(self, source: Index) -> QModelIndex:
        if not source.isValid():
            return QModelIndex()
        at = self._proxy_row(source.row())
        return QModelIndex() if at is None else self.index(at, source.column())

    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        if parent.isValid() or not (0 <= row < self._count() and 0 <= column < len(HEADERS)):
            return QModelIndex()
        return self.createIndex(row, column)

    def parent(self, child: Index = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        return QModelIndex()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._count()

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def hasChildren(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and self._count() > 0

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        return self.accounts().headerData(section, orientation, role)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role not in _ANSWERED_ROLES:
            return None  # without mapping the index: most of a repaint's questions
        return self.accounts().data(self.mapToSource(index), role)

    def account_id_at(self, row: int) -> str | None:
        if not 0 <= row < self._count():
            return None
        return self.accounts().account_at(self._source_row(row)).account_id

    def row_of(self, account_id: str) -> int | None:
        source_row = self.accounts().row_of(account_id)
        return None if source_row is None else self._proxy_row(source_row)
