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

from bank_desktop.application.projections import AccountBalance, BalancesProjection
from bank_desktop.domain import format_money

ACCOUNT, CUSTOMER, BALANCE, STATUS, OPENED, LAST_ACTIVITY = range(6)
HEADERS: Final = ("Account", "Customer", "Balance", "Status", "Opened", "Last activity")
ACCOUNT_ID_ROLE: Final = Qt.ItemDataRole.UserRole + 1
HIGHLIGHT_SECONDS: Final = 1.5
_HIGHLIGHT: Final = QColor(255, 236, 153)
_CLOSED: Final = QColor(120, 120, 120)

Index = QModelIndex | QPersistentModelIndex


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
        self.endResetModel()

    def sync(self, changed: Iterable[str] = (), *, highlight: bool = True) -> None:
        """Announce accounts the projection gained and rows whose values changed."""
        total = len(self._balances)
        if total > self._count:
            for row in range(self._count, total):
                self._search.append(search_key(self._balances.at(row)))
            self.beginInsertRows(QModelIndex(), self._count, total - 1)
            self._count = total
            self.endInsertRows()
        rows = []
        until = self._clock() + HIGHLIGHT_SECONDS
        index_of = self._balances.index_of
        for account_id in changed:
            try:
                row = index_of(account_id)
            except KeyError:
                continue
            if row < self._count:
                rows.append(row)
                if highlight:
                    self._highlight_until[account_id] = until
        if rows:
            self.rows_changed.emit(rows)
            self.dataChanged.emit(
                self.index(min(rows), BALANCE), self.index(max(rows), LAST_ACTIVITY)
            )
            if highlight and not self._fade.isActive():
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
        if not index.isValid() or not 0 <= index.row() < self._count:
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
            return f"{row.account_id}: {format_money(row.balance)}"
        return None


def _display(row: AccountBalance, column: int) -> str:
    match column:
        case 0:
            return row.account_id
        case 1:
            return row.customer_id
        case 2:
            return format_money(row.balance)
        case 3:
            return "Open" if row.is_open else "Closed"
        case 4:
            return _when(row.opened_at)
        case 5:
            return _when(row.last_activity_at)
    return ""


def search_key(row: AccountBalance) -> str:
    return f"{row.account_id} {row.customer_id}".casefold()


def search_keys_of(balances: BalancesProjection) -> list[str]:
    """Every row's search text; cheap enough for a worker thread, ~60 ms per 100k rows."""
    return [search_key(row) for row in balances]


def _sort_key(row: AccountBalance, column: int) -> Any:
    match column:
        case 0:
            return row.account_id
        case 1:
            return row.customer_id.casefold()
        case 2:
            return row.balance
        case 3:
            return row.is_open
        case 4:
            return row.opened_at.timestamp()
        case 5:
            return row.last_activity_at.timestamp()
    return 0


class AccountsProxy(QAbstractProxyModel):
    """Filter (account or customer contains the text) and sort over ``AccountsModel``.

    A filter change resets the proxy (the clerk asked for another set of rows); typing more
    of the same search only narrows the rows already shown. Live changes never reset: new
    accounts are inserted where they belong, and rows whose sorted value moved are taken out
    and put back in place (``layoutChanged``, which keeps the selection and scroll position).
    """

    #: Source ranges wider than this are forwarded as "everything may have changed": a view
    #: repaints only what it shows, where mapping each row costs a Python call per row.
    WIDE_RANGE: Final = 64

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._needle = ""
        self._column: int | None = None
        self._order = Qt.SortOrder.AscendingOrder
        self._rows: list[int] = []  # source rows in view order
        self._keys: list[Any] = []  # (sort key, source row) in view order, when sorted
        self._key_of: dict[int, Any] = {}  # source row -> its entry in _keys, when sorted
        self._position_cache: dict[int, int] | None = None

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

    @property
    def _position(self) -> dict[int, int]:
        """Source row -> proxy row, built on first use after the order changed."""
        if self._position_cache is None:
            self._position_cache = {r: i for i, r in enumerate(self._rows)}
        return self._position_cache

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
            kept = [r for r in self._rows if needle in keys[r]]
            if self._column is not None:
                self._keys = [self._key_of[r] for r in kept]
                self._key_of = {r: self._key_of[r] for r in kept}
            self._rows = kept
            self._position_cache = None
        else:
            self._rebuild()
        self.endResetModel()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self._column = column if 0 <= column < len(HEADERS) else None
        self._order = order
        self._relayout(lambda: self._arrange(list(self._rows)))

    def _rebuild(self) -> None:
        needle = self._needle
        keys = self.accounts().search_keys
        if needle:
            rows = [r for r, key in enumerate(keys) if needle in key]
        else:
            rows = list(range(len(keys)))
        self._arrange(rows)

    def _arrange(self, rows: list[int]) -> None:
        self._position_cache = None
        if self._column is None:
            self._rows, self._keys, self._key_of = rows, [], {}
            return
        source, column = self.accounts(), self._column
        decorated = sorted(
            ((_sort_key(source.account_at(r), column), r) for r in rows),
            reverse=self._order == Qt.SortOrder.DescendingOrder,
        )
        self._keys = decorated
        self._key_of = {entry[1]: entry for entry in decorated}
        self._rows = [r for _, r in decorated]

    def _relayout(self, change: Callable[[], None]) -> None:
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        sources = [self.mapToSource(index) for index in persistent]
        change()
        self.changePersistentIndexList(persistent, [self.mapFromSource(s) for s in sources])
        self.layoutChanged.emit()

    @property
    def _descending(self) -> bool:
        return self._order == Qt.SortOrder.DescendingOrder

    # ── live changes ──────────────────────────────────────────────────────────────────────

    def _inserted(self, _parent: QModelIndex, first: int, last: int) -> None:
        source = self.accounts()
        keys = source.search_keys
        for row in range(first, last + 1):
            if self._needle and self._needle not in keys[row]:
                continue
            if self._column is None:
                at = len(self._rows)
                self.beginInsertRows(QModelIndex(), at, at)
                self._rows.append(row)
                if self._position_cache is not None:
                    self._position_cache[row] = at
                self.endInsertRows()
                continue
            entry = (_sort_key(source.account_at(row), self._column), row)
            at = _locate(self._keys, entry, descending=self._descending)
            self.beginInsertRows(QModelIndex(), at, at)
            self._keys.insert(at, entry)
            self._rows.insert(at, row)
            self._key_of[row] = entry
            self._position_cache = None
            self.endInsertRows()

    def _moved(self, rows: list[int]) -> None:
        """Rows whose values changed: when sorted, take out and put back those that moved."""
        if self._column is None:
            return
        source, column, descending = self.accounts(), self._column, self._descending
        moves = []
        for row in rows:
            old = self._key_of.get(row)
            if old is None:
                continue  # filtered out
            new = (_sort_key(source.account_at(row), column), row)
            if new != old:
                moves.append((old, new))
        if not moves:
            return

        def reposition() -> None:
            for old, new in moves:
                at = _locate(self._keys, old, descending=descending)
                del self._keys[at]
                del self._rows[at]
                at = _locate(self._keys, new, descending=descending)
                self._keys.insert(at, new)
                self._rows.insert(at, new[1])
                self._key_of[new[1]] = new
            self._position_cache = None

        self._relayout(reposition)

    def _changed(self, top_left: QModelIndex, bottom_right: QModelIndex, roles: Any = ()) -> None:
        if not self._rows:
            return
        first, last = top_left.row(), bottom_right.row()
        if last - first > self.WIDE_RANGE:
            self.dataChanged.emit(
                self.index(0, top_left.column()),
                self.index(len(self._rows) - 1, bottom_right.column()),
            )
            return
        position = self._position
        proxied = [position[r] for r in range(first, last + 1) if r in position]
        if proxied:
            self.dataChanged.emit(
                self.index(min(proxied), top_left.column()),
                self.index(max(proxied), bottom_right.column()),
            )

    # ── QAbstractProxyModel ───────────────────────────────────────────────────────────────

    def mapToSource(self, proxy: Index) -> QModelIndex:
        if not proxy.isValid() or not 0 <= proxy.row() < len(self._rows):
            return QModelIndex()
        return self.accounts().index(self._rows[proxy.row()], proxy.column())

    def mapFromSource(self, source: Index) -> QModelIndex:
        if not source.isValid():
            return QModelIndex()
        at = self._position.get(source.row())
        return QModelIndex() if at is None else self.index(at, source.column())

    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        if parent.isValid() or not (0 <= row < len(self._rows) and 0 <= column < len(HEADERS)):
            return QModelIndex()
        return self.createIndex(row, column)

    def parent(self, child: Index = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        return QModelIndex()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def hasChildren(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and bool(self._rows)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        return self.accounts().headerData(section, orientation, role)

    def account_id_at(self, row: int) -> str | None:
        if not 0 <= row < len(self._rows):
            return None
        return self.accounts().account_at(self._rows[row]).account_id

    def row_of(self, account_id: str) -> int | None:
        source_row = self.accounts().row_of(account_id)
        return None if source_row is None else self._position.get(source_row)


def _locate(keys: list[Any], entry: Any, *, descending: bool) -> int:
    """Where ``entry`` is (or would go) in ``keys``, which is sorted in view order."""
    if not descending:
        return bisect.bisect_left(keys, entry)
    low, high = 0, len(keys)
    while low < high:  # bisect on a descending list
        middle = (low + high) // 2
        if keys[middle] > entry:
            low = middle + 1
        else:
            high = middle
    return low
