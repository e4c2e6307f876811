"""The Event log tab: every event of the store as it arrives, filterable, with its JSON.

This is the seed's Studio inside the app, for clerks and support staff who need to see exactly
what was recorded. The widget only displays what it is handed (``append_events`` on the GUI
thread, one call per live batch); it never reads the store. It keeps the newest ``capacity``
events so a long-running window does not grow without bound, and applies each batch as one
row insertion so that catch-up pages of thousands of events stay cheap.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSignalBlocker,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QBrush, QColor, QFont, QFontDatabase, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from bank_desktop.eventstore import RecordedEvent

POSITION, TIME, TYPE, STREAM, STREAM_POSITION, CLERK = range(6)
HEADERS: Final = ("Position", "Time", "Type", "Stream", "Stream pos", "Clerk")
#: Role under which the model hands out the RecordedEvent of a row (for the proxy and the pane).
EVENT_ROLE: Final = Qt.ItemDataRole.UserRole + 1
ALL_TYPES: Final = "All types"
NOT_LOADED: Final = "(not loaded)"
_NUMERIC: Final = frozenset({POSITION, STREAM_POSITION})
_DAMAGED: Final = QColor(170, 40, 40)
_RIGHT: Final = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
#: Typical widest cell per column: sections are sized from these, never by measuring rows.
_SAMPLES: Final = {
    POSITION: "9999999",
    TIME: "2026-12-31 23:59:59",
    TYPE: "money.withdrawal_refused",
    STREAM: "transfer-xxxxxxxxxxxx",
    STREAM_POSITION: "99999",
}

Index = QModelIndex | QPersistentModelIndex


# ── text helpers (pure) ───────────────────────────────────────────────────────────────────


def visible_text(text: str) -> str:
    """``text`` with control and format characters escaped, so that a stream name or payload
    carrying a bidi override or a line break cannot disguise itself in an audit view."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else json.dumps(c)[1:-1] for c in text)


def _json_string(text: str) -> str:
    return visible_text(json.dumps(text, ensure_ascii=False))


def to_json(value: Any, *, level: int = 0) -> str:
    """Indented JSON with sorted keys, Decimals written exactly as JSON numbers (``120.35``,
    never ``120.34999…``); values JSON has no form for are shown as strings, never raised on,
    because a viewer must display whatever the store holds."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return str(value)  # finite ones are valid JSON numbers; NaN shows as NaN, like floats
    if isinstance(value, float):
        return json.dumps(value)
    if isinstance(value, str):
        return _json_string(value)
    inner, outer = "  " * (level + 1), "  " * level
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        items = sorted(value.items(), key=lambda item: str(item[0]))
        body = ",\n".join(
            f"{inner}{_json_string(str(key))}: {to_json(item, level=level + 1)}"
            for key, item in items
        )
        return f"{{\n{body}\n{outer}}}"
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        body = ",\n".join(f"{inner}{to_json(item, level=level + 1)}" for item in value)
        return f"[\n{body}\n{outer}]"
    return _json_string(str(value))


def _metadata(event: RecordedEvent) -> Mapping[str, Any] | None:
    try:
        return event.metadata
    except LookupError:  # read with with_metadata=False: unknown, not empty
        return None


def clerk_of(event: RecordedEvent) -> str:
    """The clerk recorded in the metadata, or "" when there is none or it was not loaded."""
    metadata = _metadata(event)
    clerk = metadata.get("clerkId") if metadata is not None else None
    return "" if clerk is None else visible_text(str(clerk))


def format_event_details(event: RecordedEvent) -> str:
    """The detail pane's text: one header line, then data and metadata as indented JSON."""
    created = event.created_at.astimezone().isoformat(sep=" ", timespec="milliseconds")
    header = " · ".join(
        (
            visible_text(event.type),
            f"{visible_text(event.stream_id)}@{event.stream_position}",
            f"global #{event.global_position}",
            f"id {visible_text(event.event_id)}",
            created,
        )
    )
    if event.data is None:
        data = "data (damaged: the stored payload is not valid JSON):\nnull"
    else:
        data = f"data:\n{to_json(event.data)}"
    metadata = _metadata(event)
    meta = f"metadata: {NOT_LOADED}" if metadata is None else f"metadata:\n{to_json(metadata)}"
    return f"{header}\n\n{data}\n\n{meta}\n"


def fixed_pitch_font() -> QFont:
    """The system's monospace font, asked for as fixed-pitch so JSON indentation lines up.

    The request says what is needed (fixed pitch, typewriter style) instead of trusting the
    family alone: which family that resolves to depends on the fonts a machine has.
    """
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    font.setStyleHint(QFont.StyleHint.TypeWriter)
    font.setFixedPitch(True)
    return font


# ── model ─────────────────────────────────────────────────────────────────────────────────


class EventLogModel(QAbstractTableModel):
    """The newest ``capacity`` events in global order; each batch is one row insertion."""

    def __init__(self, parent: QObject | None = None, *, capacity: int = 5000) -> None:
        super().__init__(parent)
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, not {capacity}")
        self._capacity = capacity
        self._events: list[RecordedEvent] = []

    @property
    def capacity(self) -> int:
        return self._capacity

    def append_events(self, events: Sequence[RecordedEvent]) -> None:
        """Append a batch at the bottom, first dropping the oldest rows beyond ``capacity``."""
        if not events:
            return
        incoming = list(events[-self._capacity :])
        overflow = len(self._events) + len(incoming) - self._capacity
        if overflow > 0:
            self.beginRemoveRows(QModelIndex(), 0, overflow - 1)
            del self._events[:overflow]
            self.endRemoveRows()
        first = len(self._events)
        self.beginInsertRows(QModelIndex(), first, first + len(incoming) - 1)
        self._events.extend(incoming)
        self.endInsertRows()

    def clear(self) -> None:
        """Forget every event (a reset: the whole log is replaced, nothing is appended)."""
        self.beginResetModel()
        self._events = []
        self.endResetModel()

    def event_at(self, row: int) -> RecordedEvent:
        return self._events[row]

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
        case 0:
            return str(event.global_position)
        case 1:
            return event.created_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
        case 2:
            return visible_text(event.type)
        case 3:
            return visible_text(event.stream_id)
        case 4:
            return str(event.stream_position)
        case 5:
            return clerk_of(event)
    return ""


class EventLogFilter(QSortFilterProxyModel):
    """Keeps rows of one event type (or all) whose stream contains a text, case-insensitively.

    It reads the events straight from ``EventLogModel`` rather than through ``data()``: the log
    holds at most a few thousand rows, so a Python check per row costs milliseconds.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._type: str | None = None
        self._needle = ""

    @property
    def event_type(self) -> str | None:
        return self._type

    @property
    def stream_text(self) -> str:
        return self._needle

    def set_event_type(self, event_type: str | None) -> None:
        """Show only ``event_type`` (None: every type)."""
        if event_type != self._type:
            self.beginFilterChange()
            self._type = event_type
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_stream_text(self, text: str) -> None:
        """Show only streams containing ``text`` (ignoring case and surrounding blanks)."""
        needle = text.strip().casefold()
        if needle != self._needle:
            self.beginFilterChange()
            self._needle = needle
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        if self._type is None and not self._needle:
            return True
        source = self.sourceModel()
        if not isinstance(source, EventLogModel) or source_parent.isValid():
            return True
        event = source.event_at(source_row)
        if self._type is not None and event.type != self._type:
            return False
        return not self._needle or self._needle in event.stream_id.casefold()


# ── widget ────────────────────────────────────────────────────────────────────────────────


class EventLogWidget(QWidget):
    """The Event log tab: filters on top, the live table, the selected event's JSON below."""

    def __init__(self, parent: QWidget | None = None, *, capacity: int = 5000) -> None:
        super().__init__(parent)
        self._model = EventLogModel(self, capacity=capacity)
        self._proxy = EventLogFilter(self)
        self._proxy.setSourceModel(self._model)
        self._types: list[str] = []  # sorted; the combo shows ALL_TYPES, then these
        self._follow = True  # the view sits at the bottom: keep new events in sight

        self._type_filter = QComboBox(self)
        self._type_filter.setObjectName("eventTypeFilter")
        self._type_filter.addItem(ALL_TYPES, None)
        self._type_filter.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self._type_filter.setMinimumContentsLength(16)
        self._type_filter.setToolTip("Show only events of this type")

        self._stream_filter = QLineEdit(self)
        self._stream_filter.setObjectName("eventStreamFilter")
        self._stream_filter.setPlaceholderText("Filter by stream…")
        self._stream_filter.setClearButtonEnabled(True)
        self._stream_filter.setToolTip("Show only streams whose name contains this text")

        self._count = QLabel(self)
        self._count.setObjectName("eventLogCount")
        self._count.setToolTip(f"The log keeps the newest {capacity:,} events")
        self._count.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        # Wide enough for any count, so the filter bar does not jitter as events arrive.
        widest = f"{capacity:,} of {capacity:,} events"
        self._count.setMinimumWidth(self._count.fontMetrics().horizontalAdvance(widest) + 4)

        self._table = self._make_table()
        self._details = QPlainTextEdit(self)
        self._details.setObjectName("eventDetails")
        self._details.setReadOnly(True)
        self._details.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self._details.setTabChangesFocus(True)  # Tab moves on; there is nothing to indent
        self._details.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self._details.setFont(fixed_pitch_font())
        self._details.setPlaceholderText("Select an event to see its data and metadata.")

        self._layout()
        self._connect()
        self._update_count()

    # ── public interface ──────────────────────────────────────────────────────────────────

    @property
    def model(self) -> EventLogModel:
        return self._model

    @property
    def proxy(self) -> EventLogFilter:
        return self._proxy

    def append_events(self, events: Sequence[RecordedEvent]) -> None:
        """Show a live batch (GUI thread, global order); follow it if the view was at the end."""
        if not events:
            return
        follow = self._follow
        self._model.append_events(events)
        self._add_types({event.type for event in events})
        self._update_count()
        if follow:
            self._table.scrollToBottom()

    def clear(self) -> None:
        """Forget all events and the types seen; the clerk's filter choices stay."""
        chosen = self._proxy.event_type
        self._model.clear()
        self._types = []
        with QSignalBlocker(self._type_filter):
            while self._type_filter.count() > 1:
                self._type_filter.removeItem(1)
        if chosen is not None:
            self._add_types({chosen})
            self._type_filter.setCurrentIndex(self._types.index(chosen) + 1)
        self._details.clear()
        self._follow = True
        self._update_count()

    # ── construction ──────────────────────────────────────────────────────────────────────

    def _make_table(self) -> QTableView:
        table = QTableView(self)
        table.setObjectName("eventLogTable")
        table.setModel(self._proxy)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setTabKeyNavigation(False)  # Tab leaves the table for the details pane
        table.setAlternatingRowColors(True)
        table.setWordWrap(False)
        table.setSortingEnabled(False)  # the log's order is the store's order
        # Fixed row heights and section widths: Qt then never measures thousands of rows.
        rows = table.verticalHeader()
        rows.setVisible(False)
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(table.fontMetrics().height() + 6)
        columns = table.horizontalHeader()
        columns.setStretchLastSection(True)
        cells, titles = table.fontMetrics(), columns.fontMetrics()
        for section, sample in _SAMPLES.items():
            width = max(cells.horizontalAdvance(sample), titles.horizontalAdvance(HEADERS[section]))
            columns.resizeSection(section, width + 24)
        return table

    def _layout(self) -> None:
        type_label = QLabel("&Type:", self)
        type_label.setBuddy(self._type_filter)
        stream_label = QLabel("&Stream:", self)
        stream_label.setBuddy(self._stream_filter)
        bar = QHBoxLayout()
        bar.addWidget(type_label)
        bar.addWidget(self._type_filter)
        bar.addSpacing(12)
        bar.addWidget(stream_label)
        bar.addWidget(self._stream_filter, 1)
        bar.addSpacing(12)
        bar.addWidget(self._count)

        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(self._table)
        splitter.addWidget(self._details)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)

        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(splitter, 1)

        QWidget.setTabOrder(self._type_filter, self._stream_filter)
        QWidget.setTabOrder(self._stream_filter, self._table)
        QWidget.setTabOrder(self._table, self._details)

    def _connect(self) -> None:
        self._type_filter.currentIndexChanged.connect(self._type_chosen)
        self._stream_filter.textChanged.connect(self._stream_typed)
        self._table.selectionModel().currentRowChanged.connect(self._current_changed)
        self._table.verticalScrollBar().valueChanged.connect(self._scrolled)
        self._proxy.rowsInserted.connect(self._update_count)
        self._proxy.rowsRemoved.connect(self._update_count)
        self._proxy.modelReset.connect(self._update_count)

    # ── reactions ─────────────────────────────────────────────────────────────────────────

    def _add_types(self, types: set[str]) -> None:
        """Insert unseen types at their sorted place; the combo keeps its current item."""
        for event_type in sorted(types.difference(self._types)):
            at = bisect.bisect_left(self._types, event_type)
            self._types.insert(at, event_type)
            self._type_filter.insertItem(at + 1, visible_text(event_type), event_type)

    def _type_chosen(self, _index: int) -> None:
        self._proxy.set_event_type(self._type_filter.currentData())
        self._after_filter_change()

    def _stream_typed(self, text: str) -> None:
        self._proxy.set_stream_text(text)
        self._after_filter_change()

    def _after_filter_change(self) -> None:
        current = self._table.currentIndex()
        if self._follow:
            self._table.scrollToBottom()
        elif current.isValid():
            self._table.scrollTo(current)
        self._update_count()

    def _scrolled(self, value: int) -> None:
        self._follow = value >= self._table.verticalScrollBar().maximum()

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        event = current.data(EVENT_ROLE) if current.isValid() else None
        if isinstance(event, RecordedEvent):
            self._details.setPlainText(format_event_details(event))
        else:
            self._details.clear()

    def _update_count(self) -> None:
        total, shown = self._model.rowCount(), self._proxy.rowCount()
        noun = "event" if total == 1 else "events"
        if shown == total:
            self._count.setText(f"{total:,} {noun}")
        else:
            self._count.setText(f"{shown:,} of {total:,} {noun}")

    def showEvent(self, event: QShowEvent) -> None:
        """Events may arrive while the tab is hidden: show the newest when it comes back."""
        super().showEvent(event)
        if self._follow:
            self._table.scrollToBottom()
