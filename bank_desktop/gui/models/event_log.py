"""The Event log's table: the store's history newest first, live events on top, older pages
fetched at the bottom as the clerk scrolls.

The model holds only what was loaded. Qt's lazy-loading protocol drives the paging: a view
scrolled to the last row asks ``canFetchMore`` / ``fetchMore``; the model then emits
``fetch_requested`` and the widget reads the next page off the GUI thread, which arrives
through :meth:`append_page`. Live batches are inserted at the top with :meth:`prepend`. Each
is one row insertion, so pages and bursts of thousands of events stay cheap.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum
from typing import Any, Final

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor

from bank_desktop.eventstore import RecordedEvent
from bank_desktop.gui.event_text import clerk_cell, visible_text


class Column(IntEnum):
    """The Event log's columns, in order (their titles are :data:`HEADERS`)."""

    POSITION = 0
    TIME = 1
    TYPE = 2
    STREAM = 3
    STREAM_POSITION = 4
    CLERK = 5


POSITION, TIME, TYPE, STREAM, STREAM_POSITION, CLERK = Column
HEADERS: Final = ("Position", "Time", "Type", "Stream", "Stream pos", "Clerk")
#: Role under which the model hands out the RecordedEvent of a row (for the detail pane).
EVENT_ROLE: Final = Qt.ItemDataRole.UserRole + 1
_NUMERIC: Final = frozenset({POSITION, STREAM_POSITION})
_DAMAGED: Final = QColor(170, 40, 40)
_RIGHT: Final = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

Index = QModelIndex | QPersistentModelIndex


class EventLogModel(QAbstractTableModel):
    """Loaded events newest first, and the cursor for the next older page."""

    fetch_requested = Signal()  #: the view wants older rows: read the page at ``next_before``

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._events: list[RecordedEvent] = []
        self._next_before: int | None = None
        self._more = False  # an older page may exist
        self._loading = False
        self._allowed = False  # no reading before the widget is first shown

    # ── feeding ───────────────────────────────────────────────────────────────────────────

    def restart(self, next_before: int | None, *, more: bool = True) -> None:
        """Forget every row (a new filter, or the start): the next page is read below
        ``next_before`` (None: from the newest)."""
        self.beginResetModel()
        self._events = []
        self._next_before = next_before
        self._more = more
        self._loading = False
        self.endResetModel()

    def prepend(self, newest_first: Sequence[RecordedEvent]) -> None:
        """Live events (already filtered), newest first, above every row."""
        if not newest_first:
            return
        self.beginInsertRows(QModelIndex(), 0, len(newest_first) - 1)
        self._events[:0] = newest_first
        self.endInsertRows()

    def append_page(self, newest_first: Sequence[RecordedEvent], next_before: int | None) -> None:
        """An older page (newest first) below the rows; ``next_before`` None: none older."""
        self._loading = False
        self._next_before = next_before
        self._more = next_before is not None
        if newest_first:
            first = len(self._events)
            self.beginInsertRows(QModelIndex(), first, first + len(newest_first) - 1)
            self._events.extend(newest_first)
            self.endInsertRows()

    def page_failed(self) -> None:
        """The page could not be read: the next scroll to the bottom tries again."""
        self._loading = False

    def trim(self, keep: int) -> None:
        """Drop the oldest rows beyond ``keep``; they can be paged in again."""
        if len(self._events) <= keep or self._loading:
            return
        self.beginRemoveRows(QModelIndex(), keep, len(self._events) - 1)
        del self._events[keep:]
        self.endRemoveRows()
        self._next_before = self._events[-1].global_position if self._events else None
        self._more = True

    # ── reading ───────────────────────────────────────────────────────────────────────────

    @property
    def next_before(self) -> int | None:
        return self._next_before

    @property
    def loading(self) -> bool:
        return self._loading

    @property
    def exhausted(self) -> bool:
        """Every matching event down to the store's first is loaded."""
        return not self._more and not self._loading

    def event_at(self, row: int) -> RecordedEvent:
        return self._events[row]

    def allow_fetching(self) -> None:
        """From now on the view may ask for pages (the log has been shown)."""
        self._allowed = True

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008 - Qt
        return self._allowed and not parent.isValid() and self._more and not self._loading

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008 - Qt
        if self.canFetchMore(parent):
            self._loading = True
            self.fetch_requested.emit()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._events)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(HEADERS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        if role == Qt.ItemDataRole.TextAlignmentRole and section in _NUMERIC:
            return _RIGHT
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._events):
            return None
        event = self._events[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return _display(event, column)
        if role == EVENT_ROLE:
            return event
        if role == Qt.ItemDataRole.TextAlignmentRole and column in _NUMERIC:
            return _RIGHT
        if role == Qt.ItemDataRole.ForegroundRole and event.data is None:
            return QBrush(_DAMAGED)
        if role == Qt.ItemDataRole.ToolTipRole:
            if event.data is None:
                return f"Event {event.event_id}: the stored payload is damaged (not valid JSON)"
            return f"Event {event.event_id}"
        return None


def _display(event: RecordedEvent, column: int) -> str:
    match column:
        case Column.POSITION:
            return str(event.global_position)
        case Column.TIME:
            return event.created_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
        case Column.TYPE:
            return visible_text(event.type)
        case Column.STREAM:
            return visible_text(event.stream_id)
        case Column.STREAM_POSITION:
            return str(event.stream_position)
        case Column.CLERK:
            return clerk_cell(event)
    return ""
