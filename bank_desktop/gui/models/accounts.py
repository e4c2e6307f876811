"""The accounts table: a thin Qt model over the balances projection, and its filter/sort proxy.

The model holds no copy of the balances: it reads rows from the projection on demand (Qt asks
only for visible cells). It announces how many rows it has separately from the projection's
length, because the projection grows first and Qt must be told before it sees the new rows.

The proxy filters and sorts in Python over precomputed keys instead of asking ``data()`` for
every row (a ``QSortFilterProxyModel`` does that through Python: ~340 ms per keystroke at
100,000 accounts, where this takes a few milliseconds).
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from enum import IntEnum
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
from bank_desktop.domain import format_money


class Column(IntEnum):
    """The accounts table's columns, in order (their titles are :data:`HEADERS`)."""

    ACCOUNT = 0
    CUSTOMER = 1
    BALANCE = 2
    STATUS = 3
    OPENED = 4
    LAST_ACTIVITY = 5


ACCOUNT, CUSTOMER, BALANCE, STATUS, OPENED, LAST_ACTIVITY = Column
HEADERS: Final = ("Account", "Customer", "Balance", "Status", "Opened", "Last activity")
ACCOUNT_ID_ROLE: Final = Qt.ItemDataRole.UserRole + 1
HIGHLIGHT_SECONDS: Final = 1.5
FLUSH_MS: Final = 50
_HIGHLIGHT: Final = QColor(255, 236, 153)
_CLOSED: Final = QColor(120, 120, 120)

Index = QModelIndex | QPersistentModelIndex
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


class AccountsModel(QAbstractTableModel):
    """Accounts in opening order; ``sync`` after the read model applied a batch.

    Besides Qt's signals it emits ``rows_changed`` with exactly the rows whose values moved,
    so the proxy re-sorts those and not the whole table, and keeps each row's search text
    (account and customer, lower case), which never changes once the account exists.
    """

    rows_changed = Signal(list)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._balances = BalancesProjection()
        self._count = 0
        self._search: list[str] = []
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
        self, balances: BalancesProjection, search_keys: list[str] | None = None
    ) -> None:
        """Show another projection (once, when the read model has loaded). ``search_keys``
        may come precomputed from the loading worker (see :func:`search_keys`)."""
        self.beginResetModel()
        self._balances = balances
        self._count = len(balances)
        self._search = search_keys if search_keys is not None else search_keys_of(balances)
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
                self._search.append(search_key(self._balances.at(row)))
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
        self.dataChanged.emit(self.index(rows[0], BALANCE), self.index(rows[-1], LAST_ACTIVITY))
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
        """Per row, "account customer" in lower case (what the filter matches)."""
        return self._search

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
        if role == Qt.ItemDataRole.TextAlignmentRole and section == BALANCE:
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
        if role == Qt.ItemDataRole.TextAlignmentRole and column == BALANCE:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.BackgroundRole and self.is_highlighted(row.account_id):
            return QBrush(_HIGHLIGHT)
        if role == Qt.ItemDataRole.ForegroundRole and not row.is_open:
            return QBrush(_CLOSED)
        if role == Qt.ItemDataRole.ToolTipRole and column == BALANCE:
            if row.unrecognized is not None:
                return (
                    f"{row.account_id}: this version cannot read its history ({row.unrecognized})"
                )
            return f"{row.account_id}: {format_money(row.balance)}"
        return None


def _display(row: AccountBalance, column: int) -> str:
    match column:
        case Column.ACCOUNT:
            return row.account_id
        case Column.CUSTOMER:
            return row.customer_id
        case (
            Column.BALANCE
        ):  # a balance that ignores part of the history is shown as no number at all
            return format_money(row.balance) if row.unrecognized is None else "unknown"
        case Column.STATUS:
            return "Open" if row.is_open else "Closed"
        case Column.OPENED:
            return _when(row.opened_at)
        case Column.LAST_ACTIVITY:
            return _when(row.last_activity_at)
    return ""


def search_key(row: AccountBalance) -> str:
    return f"{row.account_id} {row.customer_id}".casefold()


def search_keys_of(balances: BalancesProjection) -> list[str]:
    """Every row's search text; cheap enough for a worker thread, ~60 ms per 100k rows."""
    return [search_key(row) for row in balances]


def _sort_key(row: AccountBalance, column: int) -> Any:
    match column:
        case Column.ACCOUNT:
            return row.account_id
        case Column.CUSTOMER:
            return row.customer_id.casefold()
        case Column.BALANCE:
            return row.balance
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
    rebuilt per change.

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
        self._sorted: SortedList = SortedList()  # sorted: (key, source row) entries
        self._key_of: dict[int, Any] = {}  # sorted: source row -> its entry

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
        self._rebuild()
        self.endResetModel()

    def _reset(self) -> None:
        self.beginResetModel()
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
        entry = self._key_of.get(source_row)
        if entry is None:
            return None
        position: int = self._sorted.bisect_left(entry)
        return len(self._sorted) - 1 - position if self._descending else position

    # ── filter and sort ───────────────────────────────────────────────────────────────────

    @property
    def filter_text(self) -> str:
        return self._needle

    def set_filter_text(self, text: str) -> None:
        needle = text.strip().casefold()
        if needle == self._needle:
            return
        narrowing = bool(self._needle) and self._needle in needle
        self.beginResetModel()
        self._needle = needle
        if narrowing:  # typing on: only rows already shown can still match, order is kept
            keys = self.accounts().search_keys
            if self._column is None:
                self._rows = [r for r in self._rows if needle in keys[r]]
            else:
                kept = [entry for entry in self._sorted if needle in keys[entry[1]]]
                self._sorted = SortedList(kept)
                self._key_of = {entry[1]: entry for entry in kept}
        else:
            self._rebuild()
        self.endResetModel()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        rows = [self._source_row(i) for i in range(self._count())]
        self._relayout(lambda: self._set_order(column, order, rows))

    def _set_order(self, column: int, order: Qt.SortOrder, rows: list[int]) -> None:
        self._column = column if 0 <= column < len(HEADERS) else None
        self._order = order
        self._arrange(rows)

    def _rebuild(self) -> None:
        needle = self._needle
        keys = self.accounts().search_keys
        if needle:
            rows = [r for r, key in enumerate(keys) if needle in key]
        else:
            rows = list(range(len(keys)))
        self._arrange(rows)

    def _arrange(self, rows: list[int]) -> None:
        if self._column is None:
            self._rows, self._sorted, self._key_of = sorted(rows), SortedList(), {}
            return
        source, column = self.accounts(), self._column
        entries = [(_sort_key(source.account_at(r), column), r) for r in rows]
        self._sorted = SortedList(entries)
        self._key_of = {entry[1]: entry for entry in entries}
        self._rows = []

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
        for row in range(first, last + 1):
            if self._needle and self._needle not in keys[row]:
                continue
            if self._column is None:  # new source rows are the highest: they go last
                at = len(self._rows)
                self.beginInsertRows(QModelIndex(), at, at)
                self._rows.append(row)
                self.endInsertRows()
                continue
            entry = (_sort_key(source.account_at(row), self._column), row)
            at = self._sorted.bisect_left(entry)
            if self._descending:
                at = len(self._sorted) - at
            self.beginInsertRows(QModelIndex(), at, at)
            self._sorted.add(entry)
            self._key_of[row] = entry
            self.endInsertRows()

    def _moved(self, rows: list[int]) -> None:
        """Rows whose values changed: when sorted, take out and put back those that moved."""
        if self._column is None:
            return
        source, column = self.accounts(), self._column
        moves: dict[int, Any] = {}
        for row in rows:
            old = self._key_of.get(row)
            if old is None:
                continue  # filtered out
            new = (_sort_key(source.account_at(row), column), row)
            if new != old:
                moves[row] = new
        if not moves:
            return

        def reposition() -> None:
            for row, new in moves.items():
                self._sorted.remove(self._key_of[row])
                self._sorted.add(new)
                self._key_of[row] = new

        self._relayout(reposition)

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
