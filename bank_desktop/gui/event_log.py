"""The Event log tab: the store's whole history newest first, filterable, with each event's JSON.

This is the seed's Studio inside the app, for clerks and support staff who need to see exactly
what was recorded. Pages are read lazily as the clerk scrolls (newest first, older ones at the
bottom) through ``bank_desktop.application.history``, on a worker thread; events arriving live
are put on top. Filters (type, account or stream, clerk) go to the store, so a filtered log
still reaches back through the whole history, not only what was loaded.

The widget never reads the store itself: the window hands it a reader at :meth:`start`, and
every read runs through the window's :class:`BackgroundWork`.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from typing import Final

from PySide6.QtCore import QModelIndex, QSignalBlocker, Qt, QTimer
from PySide6.QtGui import QShowEvent
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

from bank_desktop.application.history import KNOWN_EVENT_TYPES, EventFilter, HistoryPage
from bank_desktop.eventstore import RecordedEvent
from bank_desktop.gui.event_text import (
    NOT_LOADED,
    clerk_cell,
    clerk_of,
    fixed_pitch_font,
    format_event_details,
    to_json,
    visible_text,
)
from bank_desktop.gui.messages import describe_error
from bank_desktop.gui.models.event_log import EVENT_ROLE, HEADERS, EventLogModel
from bank_desktop.gui.workers import BackgroundWork

__all__ = [
    "ALL_TYPES",
    "EVENT_ROLE",
    "HEADERS",
    "NOT_LOADED",
    "EventLogModel",
    "EventLogWidget",
    "clerk_cell",
    "clerk_of",
    "format_event_details",
    "to_json",
    "visible_text",
]

ALL_TYPES: Final = "All types"
PAGE_SIZE: Final = 200
#: Rows kept while the clerk watches the top; older ones are dropped and paged in again.
CAPACITY: Final = 20_000
#: A pause in typing in a filter field before it is applied (Enter applies at once).
TYPING_PAUSE_MS: Final = 300

#: Reads one page: (filter, before, limit) -> page. Blocks: runs on a worker.
Reader = Callable[[EventFilter, int | None, int], HistoryPage]

#: Typical widest cell per column: sections are sized from these, never by measuring rows.
_SAMPLES: Final = {
    0: "9999999",
    1: "2026-12-31 23:59:59",
    2: "money.withdrawal_refused",
    3: "transfer-xxxxxxxxxxxx",
    4: "99999",
}


class EventLogWidget(QWidget):
    """Filters on top, the history table, the selected event's JSON below."""

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        jobs: BackgroundWork | None = None,
        page_size: int = PAGE_SIZE,
        capacity: int = CAPACITY,
    ) -> None:
        super().__init__(parent)
        self._jobs = jobs or BackgroundWork()
        self.page_size = page_size
        self._capacity = capacity
        self._model = EventLogModel(self)
        self._reader: Reader | None = None
        self._live_head = 0  # the highest global position delivered live
        self._query = EventFilter()
        self._generation = 0  # bumped by every restart: pages of an older query are dropped
        self._problem = ""
        self._types: list[str] = sorted(KNOWN_EVENT_TYPES)

        self._type_filter = QComboBox(self)
        self._type_filter.setObjectName("eventTypeFilter")
        self._type_filter.addItem(ALL_TYPES, None)
        for event_type in self._types:
            self._type_filter.addItem(event_type, event_type)
        self._type_filter.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self._type_filter.setToolTip("Show only events of this type")

        self._stream_filter = self._filter_edit(
            "eventStreamFilter",
            "Account or stream id",
            "Show only this account's (stream's) events",
        )
        self._clerk_filter = self._filter_edit(
            "eventClerkFilter", "Clerk id", "Show only events recorded by this clerk"
        )
        self._typing = QTimer(self)
        self._typing.setSingleShot(True)
        self._typing.setInterval(TYPING_PAUSE_MS)
        self._typing.timeout.connect(self._apply_filters)

        self._count = QLabel(self)
        self._count.setObjectName("eventLogCount")
        self._count.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

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
    def table(self) -> QTableView:
        return self._table

    @property
    def query(self) -> EventFilter:
        return self._query

    def start(self, live_head: int, reader: Reader) -> None:
        """Page the history below ``live_head`` with ``reader``; later events come live
        through :meth:`append_events`. Nothing is read until the tab is shown."""
        self._reader = reader
        self._live_head = max(self._live_head, live_head)
        self._restart()

    def set_query(self, query: EventFilter) -> None:
        """Show ``query``'s events (the filter fields follow)."""
        with QSignalBlocker(self._type_filter):
            self._add_types({query.event_type} if query.event_type else set())
            at = self._type_filter.findData(query.event_type) if query.event_type else 0
            self._type_filter.setCurrentIndex(max(at, 0))
        for edit, value in (
            (self._stream_filter, query.stream_id),
            (self._clerk_filter, query.clerk_id),
        ):
            with QSignalBlocker(edit):
                edit.setText(value or "")
        self._typing.stop()
        if query != self._query:
            self._query = query
            self._restart()

    def append_events(self, events: Sequence[RecordedEvent]) -> None:
        """A live batch (GUI thread, global order): matching events go on top."""
        if not events:
            return
        self._add_types({event.type for event in events})
        fresh = [e for e in events if e.global_position > self._live_head]
        self._live_head = max(self._live_head, events[-1].global_position)
        shown = [e for e in reversed(fresh) if self._query.matches(e)]
        if shown:
            bar = self._table.verticalScrollBar()
            at_top = bar.value() == 0
            self._model.prepend(shown)
            if not at_top:  # the clerk is reading further down: keep those rows in place
                bar.setValue(
                    bar.value() + len(shown) * self._table.verticalHeader().defaultSectionSize()
                )
            elif self._model.rowCount() > self._capacity:
                self._model.trim(self._capacity)
        self._update_count()

    # ── construction ──────────────────────────────────────────────────────────────────────

    def _filter_edit(self, name: str, placeholder: str, tip: str) -> QLineEdit:
        edit = QLineEdit(self)
        edit.setObjectName(name)
        edit.setPlaceholderText(placeholder)
        edit.setClearButtonEnabled(True)
        edit.setToolTip(f"{tip} (exact id; Enter applies at once)")
        return edit

    def _make_table(self) -> QTableView:
        table = QTableView(self)
        table.setObjectName("eventLogTable")
        table.setModel(self._model)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setTabKeyNavigation(False)  # Tab leaves the table for the details pane
        table.setAlternatingRowColors(True)
        table.setWordWrap(False)
        table.setSortingEnabled(False)  # the log's order is the store's order
        table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
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
        bar = QHBoxLayout()
        for text, field, stretch in (
            ("&Type:", self._type_filter, 0),
            ("Acc&ount:", self._stream_filter, 2),
            ("Cl&erk:", self._clerk_filter, 1),
        ):
            label = QLabel(text, self)
            label.setBuddy(field)
            bar.addWidget(label)
            bar.addWidget(field, stretch)
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
        QWidget.setTabOrder(self._stream_filter, self._clerk_filter)
        QWidget.setTabOrder(self._clerk_filter, self._table)
        QWidget.setTabOrder(self._table, self._details)

    def _connect(self) -> None:
        self._type_filter.currentIndexChanged.connect(lambda _: self._apply_filters())
        for edit in (self._stream_filter, self._clerk_filter):
            edit.textChanged.connect(lambda _: self._typing.start())
            edit.returnPressed.connect(self._apply_filters)
        self._table.selectionModel().currentRowChanged.connect(self._current_changed)
        self._model.fetch_requested.connect(self._fetch)
        self._model.modelReset.connect(self._details.clear)

    # ── paging ────────────────────────────────────────────────────────────────────────────

    def _apply_filters(self) -> None:
        self._typing.stop()
        query = EventFilter(
            event_type=self._type_filter.currentData(),
            stream_id=self._stream_filter.text().strip() or None,
            clerk_id=self._clerk_filter.text().strip() or None,
        )
        if query != self._query:
            self._query = query
            self._restart()

    def _restart(self) -> None:
        """Start over below the live head: live events above it arrive on top, so the pages
        and the live rows neither overlap nor leave a gap."""
        self._generation += 1
        self._problem = ""
        started = self._reader is not None
        self._model.restart(self._live_head + 1, more=started and self._live_head > 0)
        self._update_count()
        if self.isVisible():
            self._fill_view()

    def _fetch(self) -> None:
        """The model asked for the page below its last row: read it on a worker."""
        reader = self._reader
        if reader is None:
            self._model.page_failed()
            return
        query, before, limit = self._query, self._model.next_before, self.page_size
        generation = self._generation
        self._update_count()
        self._jobs.run(
            lambda: reader(query, before, limit),
            receiver=self,
            on_success=lambda page: self._page_arrived(generation, page),
            on_failure=lambda exc: self._page_failed(generation, exc),
        )

    def _page_arrived(self, generation: int, page: HistoryPage) -> None:
        if generation != self._generation:
            return  # read for a filter the clerk has since changed
        self._model.append_page(
            [e for e in page.events if e.global_position <= self._live_head], page.next_before
        )
        self._update_count()
        QTimer.singleShot(0, self._fill_view)

    def _page_failed(self, generation: int, exc: BaseException) -> None:
        if generation != self._generation:
            return
        self._model.page_failed()
        self._problem = f"Could not read older events: {describe_error(exc)}"
        self._update_count()

    def _fill_view(self) -> None:
        """Read on while the table's last visible line is empty or the last row (a filtered
        page may come back short): the clerk sees a full table, and no more than that."""
        if not self.isVisible() or self._problem or not self._model.canFetchMore():
            return
        bottom = self._table.rowAt(self._table.viewport().height() - 1)
        if bottom < 0 or bottom >= self._model.rowCount() - 1:
            self._model.fetchMore()

    # ── reactions ─────────────────────────────────────────────────────────────────────────

    def _add_types(self, types: set[str]) -> None:
        """Insert unseen types at their sorted place; the combo keeps its current item."""
        for event_type in sorted(types.difference(self._types)):
            at = bisect.bisect_left(self._types, event_type)
            self._types.insert(at, event_type)
            self._type_filter.insertItem(at + 1, visible_text(event_type), event_type)

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        event = current.data(EVENT_ROLE) if current.isValid() else None
        if isinstance(event, RecordedEvent):
            self._details.setPlainText(format_event_details(event))
        else:
            self._details.clear()

    def _update_count(self) -> None:
        loaded = self._model.rowCount()
        if self._problem:
            text = self._problem
        elif self._reader is None:
            text = f"{loaded:,} events"
        elif self._query.is_empty:
            total = self._live_head
            text = f"{total:,} events" if loaded >= total else f"{loaded:,} of {total:,} events"
        else:
            noun = "matching event" if loaded == 1 else "matching events"
            if self._model.exhausted:
                text = f"{loaded:,} {noun}"
            else:
                text = f"{loaded:,} {noun} so far, scroll for older"
        if self._model.loading:
            text += " · loading…"
        self._count.setText(text)
        self._count.setToolTip("Newest first; older events load as you scroll down")

    def showEvent(self, event: QShowEvent) -> None:
        """Nothing is read before the tab is first shown (Qt's view asks for rows even while
        hidden: the model says no until now)."""
        super().showEvent(event)
        self._model.allow_fetching()
        QTimer.singleShot(0, self._fill_view)
