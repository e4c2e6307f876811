"""The accounts table's filter and sort: a proxy over :class:`AccountsModel` in Python.

It filters and sorts over precomputed keys instead of asking ``data()`` for every row (a
``QSortFilterProxyModel`` does that through Python: ~340 ms per keystroke at 100,000
accounts, where this takes a few milliseconds). A filter matches an account by its id or
customer id, or by its customer's name or national id through the read side's customer
index (case and accents ignored; ``bench/accounts_filter.py``).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from itertools import compress
from operator import itemgetter
from typing import Any, Final

from PySide6.QtCore import (
    QAbstractProxyModel,
    QAbstractTableModel,
    QModelIndex,
    QObject,
    Qt,
)
from sortedcontainers import SortedList

from bank_desktop.application.key_scan import intersection, mark, rows_of
from bank_desktop.application.search_text import fold
from bank_desktop.gui.models.accounts import (
    ANSWERED_ROLES,
    HEADERS,
    AccountsModel,
    Index,
)
from bank_desktop.gui.models.accounts import sort_key as _sort_key
from bank_desktop.gui.models.presorted import picked, sorted_list_of

_SOURCE_ROW: Final = itemgetter(1)  #: of a sorted entry (key, source row)
#: What ``QAbstractTableModel`` says of every valid cell (``AccountsModel`` does not change it).
_CELL_FLAGS: Final = (
    Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemNeverHasChildren
)


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
        self._in_order: list[int] | None = None  #: the source rows of ``_all``, in its order
        #: Sorted: proxy row -> source row, for the rows asked since the last change: a repaint
        #: asks about each visible row some forty times, one lookup each after the first.
        self._display: dict[int, int] = {}
        self._model: AccountsModel | None = None

    # ── wiring ────────────────────────────────────────────────────────────────────────────

    def accounts(self) -> AccountsModel:
        model = self._model
        assert model is not None
        return model

    def setSourceModel(self, source: QAbstractTableModel) -> None:  # type: ignore[override]
        self.beginResetModel()
        super().setSourceModel(source)
        assert isinstance(source, AccountsModel)
        self._model = source
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
        row = self._display.get(proxy_row)
        if row is None:
            at = len(self._sorted) - 1 - proxy_row if self._descending else proxy_row
            row = self._display[proxy_row] = self._sorted[at][1]
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
            wanted = self.accounts().matching_mask(needle)
            if wanted.count(1) == self._count():  # all still match ("account-0…"): no change
                self._needle = needle
                return
        self.beginResetModel()
        self._needle = needle
        if narrowing:
            if self._column is None:
                self._rows = list(compress(self._rows, picked(wanted, self._rows)))
            else:  # the rows shown that still match, picked from every row in order
                if self._shown is not None:
                    shown = mark(bytearray(len(wanted)), self._shown)
                    wanted = intersection(wanted, shown)
                self._show_in_order(wanted, rows_of(wanted))
        else:
            self._rebuild()
        self.endResetModel()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if self._column is None:
            rows = list(self._rows)
        else:
            rows = list(map(_SOURCE_ROW, self._sorted))
            if self._descending:
                rows.reverse()
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
        if not needle:
            self._arrange(source.all_rows())
            return
        wanted = source.matching_mask(needle)
        self._arrange(rows_of(wanted), wanted)

    def _arrange(self, rows: list[int], wanted: bytearray | None = None) -> None:
        """Show ``rows`` (ascending) in the current order; ``wanted``, when given, marks
        the same rows per source row (the filter's own mask: no Python step per row)."""
        self._display.clear()
        if self._column is None:
            self._rows = sorted(rows)
            self._all, self._entry_of, self._keyed_by = SortedList(), [], None
            self._sorted, self._shown, self._in_order = self._all, None, None
            return
        self._rows = []
        if self._keyed_by != self._column:
            source, column = self.accounts(), self._column
            entries = [(_sort_key(source.account_at(r), column), r) for r in source.all_rows()]
            self._all, self._entry_of, self._keyed_by = SortedList(entries), entries, column
            self._in_order = None
        if not self._needle or len(rows) == len(self._all):
            self._sorted, self._shown = self._all, None  # every row shown: one list
            return
        if wanted is None or len(wanted) != len(self._entry_of):
            wanted = mark(bytearray(len(self._entry_of)), rows)
        self._show_in_order(wanted, rows)

    def _show_in_order(self, wanted: bytearray, rows: list[int]) -> None:
        """Sorted: show the entries of ``rows`` (which ``wanted`` marks), in ``_all``'s order,
        with no Python step per row: the marks are read in that order by one ``itemgetter``
        call, and the entries picked by ``compress`` are laid out as they come."""
        flags = picked(wanted, self._rows_in_order())
        self._sorted = sorted_list_of(list(compress(self._all, flags)))
        self._shown = set(rows)
        self._display.clear()

    def _rows_in_order(self) -> list[int]:
        """The source rows of ``_all``'s entries, in its order (kept until ``_all`` changes)."""
        if self._in_order is None:
            self._in_order = list(map(_SOURCE_ROW, self._all))
        return self._in_order

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
            self._display.clear()
            self._sorted = sorted_list_of(list(self._all))
            self._shown = set(range(len(self._entry_of)))

    def _insert_sorted(self, row: int, *, shown: bool) -> None:
        """Add a new source row's entry (sorted); when ``shown``, also as a proxy row."""
        entry = (_sort_key(self.accounts().account_at(row), self._column or 0), row)
        assert row == len(self._entry_of), (row, len(self._entry_of))
        self._entry_of.append(entry)
        self._in_order = None
        self._display.clear()
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
        self._in_order = None
        self._display.clear()
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
            self._in_order = None
            self._display.clear()

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
                self._display.clear()
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
        self._display.clear()
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

    def flags(self, index: Index) -> Qt.ItemFlag:
        """The source's flags, which are the same for every cell: answered without mapping the
        index (Qt asks once per cell on every repaint)."""
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return _CELL_FLAGS

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
        if role not in ANSWERED_ROLES:
            return None  # without mapping the index: most of a repaint's questions
        row, column = index.row(), index.column()
        if not (0 <= row < self._count() and 0 <= column < len(HEADERS)):
            return None  # an invalid index has row -1
        return self.accounts().cell(self._source_row(row), column, role)

    def account_id_at(self, row: int) -> str | None:
        if not 0 <= row < self._count():
            return None
        return self.accounts().account_at(self._source_row(row)).account_id

    def row_of(self, account_id: str) -> int | None:
        source_row = self.accounts().row_of(account_id)
        return None if source_row is None else self._proxy_row(source_row)
