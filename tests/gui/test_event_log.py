"""The Event log tab: pages from a stand-in reader, live batches by hand, filters, JSON pane."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTableView,
    QWidget,
)
from pytestqt.qtbot import QtBot

from bank_desktop.application.history import EventFilter, HistoryPage
from bank_desktop.eventstore import RecordedEvent, StoreUnavailableError
from bank_desktop.gui.event_log import (
    ALL_TYPES,
    EVENT_ROLE,
    HEADERS,
    EventLogModel,
    EventLogWidget,
    clerk_cell,
    format_event_details,
    to_json,
)
from bank_desktop.gui.workers import running_count

if TYPE_CHECKING:
    from pytestqt.modeltest import ModelTester  # importable only once pytest-qt picked its Qt

START = datetime(2026, 1, 1, tzinfo=UTC)
_UNSET: Any = object()


def event(
    position: int,
    type: str = "money.deposited",
    stream: str = "account-a",
    *,
    stream_position: int | None = None,
    data: Any = _UNSET,
    metadata: Mapping[str, Any] | None = _UNSET,
) -> RecordedEvent:
    """An event as the store would hand it over, at global ``position``."""
    return RecordedEvent(
        f"e{position}",
        type,
        {"accountId": stream, "amount": Decimal("120.35")} if data is _UNSET else data,
        stream,
        position if stream_position is None else stream_position,
        position,
        START + timedelta(seconds=position),
        {"clerkId": "clerk-7"} if metadata is _UNSET else metadata,
    )


def events(first: int, last: int, **kwargs: Any) -> list[RecordedEvent]:
    return [event(position, **kwargs) for position in range(first, last + 1)]


def column(model: Any, col: int = 0) -> list[str]:
    """One column's displayed text, top to bottom."""
    return [model.index(row, col).data() for row in range(model.rowCount())]


@pytest.fixture
def make_widget(qtbot: QtBot) -> Callable[..., EventLogWidget]:
    def make(*, page_size: int = 200, show: bool = False) -> EventLogWidget:
        widget = EventLogWidget(page_size=page_size)
        qtbot.addWidget(widget)
        widget.resize(900, 600)
        if show:
            with qtbot.waitActive(widget):
                widget.show()
                widget.activateWindow()
        return widget

    return make


def parts(
    widget: EventLogWidget,
) -> tuple[QComboBox, QLineEdit, QLineEdit, QTableView, QPlainTextEdit]:
    type_filter = widget.findChild(QComboBox, "eventTypeFilter")
    stream_filter = widget.findChild(QLineEdit, "eventStreamFilter")
    clerk_filter = widget.findChild(QLineEdit, "eventClerkFilter")
    table = widget.findChild(QTableView, "eventLogTable")
    details = widget.findChild(QPlainTextEdit, "eventDetails")
    assert type_filter is not None
    assert stream_filter is not None
    assert clerk_filter is not None
    assert table is not None
    assert details is not None
    return type_filter, stream_filter, clerk_filter, table, details


def combo_items(combo: QComboBox) -> list[str]:
    return [combo.itemText(i) for i in range(combo.count())]


# ── the model ─────────────────────────────────────────────────────────────────────────────


def newest_first(first: int, last: int, **kwargs: Any) -> list[RecordedEvent]:
    return list(reversed(events(first, last, **kwargs)))


def test_model_passes_the_model_tester_through_pages_live_rows_and_trims(
    qtbot: QtBot, qtmodeltester: ModelTester
) -> None:
    model = EventLogModel()
    model.restart(41)
    qtmodeltester.check(model)  # watches every later change as well

    model.allow_fetching()
    assert model.canFetchMore()
    model.fetchMore()
    assert model.loading
    assert not model.canFetchMore()  # one page at a time
    model.append_page(newest_first(31, 40), 31)
    model.prepend(newest_first(41, 43))
    model.append_page([event(30, data=None), event(29, metadata=None)], 29)
    model.page_failed()  # the tester asks for pages too; none is coming
    model.trim(8)  # keeps the newest 8; the rest can be paged in again
    assert column(model) == ["43", "42", "41", "40", "39", "38", "37", "36"]
    assert model.next_before == 36
    assert not model.exhausted  # the dropped rows can be read again
    model.restart(None, more=False)
    assert model.rowCount() == 0
    assert not model.canFetchMore()


def test_live_batches_go_on_top_newest_first_as_one_insertion(qtbot: QtBot) -> None:
    model = EventLogModel()
    inserted: list[tuple[int, int]] = []
    model.rowsInserted.connect(lambda _parent, first, last: inserted.append((first, last)))
    model.modelReset.connect(lambda: pytest.fail("a live batch must not reset the model"))

    model.prepend(newest_first(1, 3))
    model.prepend([])
    model.prepend(newest_first(4, 5, type="account.opened", stream="account-b"))

    assert inserted == [(0, 2), (0, 1)]
    assert column(model) == ["5", "4", "3", "2", "1"]
    assert [model.headerData(c, Qt.Orientation.Horizontal) for c in range(6)] == list(HEADERS)
    top = [model.index(0, c).data() for c in range(6)]
    local = (START + timedelta(seconds=5)).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    assert top == ["5", local, "account.opened", "account-b", "5", "clerk-7"]
    assert model.index(0, 0).data(EVENT_ROLE).event_id == "e5"


def test_a_batch_of_ten_thousand_is_one_insertion(
    make_widget: Callable[..., EventLogWidget],
) -> None:
    widget = make_widget(show=True)
    widget.set_query(EventFilter(stream_id="account-1"))  # every live row is checked
    inserted: list[tuple[int, int]] = []
    widget.model.rowsInserted.connect(lambda _p, first, last: inserted.append((first, last)))
    batch = [event(n, stream=f"account-{n % 20}") for n in range(1, 10_001)]

    widget.append_events(batch)

    assert inserted == [(0, 499)]
    assert widget.model.rowCount() == 500  # account-1 only, exactly
    assert widget.model.event_at(0).global_position == 9_981


# ── the widget, paging a history ──────────────────────────────────────────────────────────


def reader_over(history: list[RecordedEvent], calls: list[tuple[EventFilter, int | None]]):  # type: ignore[no-untyped-def]
    """A stand-in for ``read_history``: pages of ``history`` newest first, filtered."""

    def read(query: EventFilter, before: int | None, limit: int) -> HistoryPage:
        calls.append((query, before))
        matching = [
            e
            for e in reversed(history)
            if (before is None or e.global_position < before) and query.matches(e)
        ]
        page = matching[:limit]
        return HistoryPage(page, page[-1].global_position if len(matching) > limit else None)

    return read


def mixed_history() -> list[RecordedEvent]:
    kinds = ("account.opened", "money.deposited", "money.withdrawn")
    return [
        event(
            n,
            kinds[n % 3],
            f"account-{n % 4}",
            metadata={"clerkId": "clerk-9" if n % 5 == 0 else "clerk-7"},
        )
        for n in range(1, 101)
    ]


def test_pages_are_read_newest_first_and_only_once_shown(
    make_widget: Callable[..., EventLogWidget], qtbot: QtBot
) -> None:
    history = mixed_history()
    calls: list[tuple[EventFilter, int | None]] = []
    widget = make_widget(page_size=10)
    widget.start(100, reader_over(history, calls))
    qtbot.wait(50)
    assert calls == []  # hidden: nothing is read
    with qtbot.waitExposed(widget):
        widget.show()
    qtbot.waitUntil(lambda: widget.model.rowCount() >= 10)
    qtbot.waitUntil(lambda: not widget.model.loading)
    assert calls[0] == (EventFilter(), 101)
    assert column(widget.model)[:3] == ["100", "99", "98"]
    loaded = widget.model.rowCount()
    assert loaded < 100  # what fills the view
    count = widget.findChild(QLabel, "eventLogCount")
    assert count is not None
    assert count.text() == f"{loaded} of 100 events"


def test_filters_are_read_from_the_store_and_applied_to_live_events(
    make_widget: Callable[..., EventLogWidget], qtbot: QtBot
) -> None:
    history = mixed_history()
    calls: list[tuple[EventFilter, int | None]] = []
    widget = make_widget(show=True, page_size=500)
    widget.start(100, reader_over(history, calls))
    qtbot.waitUntil(lambda: widget.model.rowCount() == 100)
    type_filter, stream_filter, clerk_filter, _, _ = parts(widget)
    assert combo_items(type_filter)[:2] == [ALL_TYPES, "account.closed"]  # the known types

    stream_filter.setFocus()
    qtbot.keyClicks(stream_filter, "account-2")
    qtbot.keyClick(stream_filter, Qt.Key.Key_Return)  # Enter applies at once
    clerk_filter.setText("clerk-9")  # applied after a pause in typing
    expected = EventFilter(None, "account-2", "clerk-9")
    qtbot.waitUntil(lambda: widget.query == expected)
    qtbot.waitUntil(lambda: not widget.model.loading and calls[-1][0] == expected)
    shown = [widget.model.event_at(r) for r in range(widget.model.rowCount())]
    assert shown == [e for e in reversed(history) if expected.matches(e)]
    assert [e.global_position for e in shown] == [90, 70, 50, 30, 10]  # from the whole store
    count = widget.findChild(QLabel, "eventLogCount")
    assert count is not None
    assert count.text() == "5 matching events"

    type_filter.setCurrentIndex(type_filter.findData("money.withdrawn"))
    expected = EventFilter("money.withdrawn", "account-2", "clerk-9")
    qtbot.waitUntil(lambda: not widget.model.loading and calls[-1][0] == expected)
    assert column(widget.model) == ["50"]
    assert count.text() == "1 matching event"

    widget.append_events(
        [
            event(101, "money.withdrawn", "account-2", metadata={"clerkId": "clerk-9"}),
            event(102, "money.withdrawn", "account-2", metadata={"clerkId": "clerk-7"}),
            event(103, "money.withdrawn", "account-3", metadata={"clerkId": "clerk-9"}),
        ]
    )
    assert column(widget.model) == ["101", "50"]


def test_a_page_read_for_an_old_filter_is_dropped(
    make_widget: Callable[..., EventLogWidget], qtbot: QtBot
) -> None:
    release = threading.Event()
    history = mixed_history()
    inner = reader_over(history, [])

    def slow(query: EventFilter, before: int | None, limit: int) -> HistoryPage:
        if query.event_type is None:
            release.wait(10)
        return inner(query, before, limit)

    widget = make_widget(show=True, page_size=500)
    widget.start(100, slow)
    qtbot.waitUntil(lambda: widget.model.loading)
    widget.set_query(EventFilter(event_type="account.opened"))
    qtbot.waitUntil(lambda: widget.model.rowCount() == 33)
    release.set()  # the unfiltered page arrives late: it must not join the filtered rows
    qtbot.waitUntil(lambda: running_count() == 0)
    assert widget.model.rowCount() == 33
    assert {widget.model.event_at(r).type for r in range(33)} == {"account.opened"}


def test_a_failed_page_says_so_and_is_tried_again(
    make_widget: Callable[..., EventLogWidget], qtbot: QtBot
) -> None:
    failing = [True]
    inner = reader_over(mixed_history(), [])

    def flaky(query: EventFilter, before: int | None, limit: int) -> HistoryPage:
        if failing[0]:
            raise StoreUnavailableError("connection refused")
        return inner(query, before, limit)

    widget = make_widget(show=True, page_size=500)
    widget.start(100, flaky)
    count = widget.findChild(QLabel, "eventLogCount")
    assert count is not None
    qtbot.waitUntil(lambda: "Could not read older events" in count.text())
    assert "not reachable" in count.text()
    failing[0] = False
    widget.set_query(EventFilter())  # the same filter: nothing changes

    def scrolled_to_the_end() -> bool:
        # What scrolling to the end does. The view may have asked for the page again on its
        # own while the store was still failing: scroll again once that attempt is over.
        if not widget.model.loading:
            widget.model.fetchMore()
        return widget.model.rowCount() == 100

    qtbot.waitUntil(scrolled_to_the_end)


# ── the detail pane ───────────────────────────────────────────────────────────────────────


def test_keyboard_selection_shows_the_event_as_exact_json(
    make_widget: Callable[..., EventLogWidget], qtbot: QtBot
) -> None:
    widget = make_widget(show=True)
    _, _, _, table, details = parts(widget)
    widget.append_events(  # shown newest first: 4, 3, 2, 1
        [
            event(1, "money.withdrawn", data=None),
            event(2, metadata=None),
            event(3, data={"amount": Decimal("120.35"), "accountId": "account-a"}),
            event(4, "account.opened", data={"accountId": "account-a", "initialBalance": 0}),
        ]
    )
    assert details.isReadOnly()
    # What the pane asks for, not what this machine's fonts resolve it to: Qt reports some
    # monospace families (Noto Sans Mono) as not fixed-pitch.
    assert details.font().fixedPitch()
    assert details.font().styleHint() == QFont.StyleHint.TypeWriter

    first = table.visualRect(widget.model.index(0, 2)).center()
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=first)
    qtbot.waitUntil(lambda: details.toPlainText().startswith("account.opened"))
    qtbot.keyClick(table, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: "global #3" in details.toPlainText())

    text = details.toPlainText()
    assert text.splitlines()[0].startswith("money.deposited · account-a@3 · global #3 · id e3 · ")
    assert '  "amount": 120.35' in text
    assert "120.34999" not in text
    assert text.index('"accountId"') < text.index('"amount"')  # sorted keys
    assert 'metadata:\n{\n  "clerkId": "clerk-7"\n}' in text

    qtbot.keyClick(table, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: "global #2" in details.toPlainText())
    assert "metadata: (not loaded)" in details.toPlainText()
    assert widget.model.index(2, 5).data() == ""  # no clerk to show

    qtbot.keyClick(table, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: "global #1" in details.toPlainText())
    assert "not valid JSON):\nnull" in details.toPlainText()


def test_detail_text_of_a_damaged_event_without_metadata() -> None:
    text = format_event_details(event(9, "money.deposited", data=None, metadata=None))
    header, *_ = text.splitlines()
    assert header.startswith("money.deposited · account-a@9 · global #9 · id e9 · 2026-01-01")
    assert "\nnull\n" in text
    assert "metadata: (not loaded)" in text


def test_the_recorded_login_shows_only_where_the_store_records_one() -> None:
    plain = event(3)  # SQLite, DeltaBase, memory, or PostgreSQL before identity: no login
    assert "database login" not in format_event_details(plain)
    assert clerk_cell(plain) == "clerk-7"

    def by(login: str, metadata: Mapping[str, Any] | None = _UNSET) -> RecordedEvent:
        base = event(4, metadata=metadata)
        return RecordedEvent(
            base.event_id,
            base.type,
            base.data,
            base.stream_id,
            base.stream_position,
            base.global_position,
            base.created_at,
            base.metadata if base.has_metadata else None,
            login,
        )

    assert clerk_cell(by("clerk-7")) == "clerk-7"  # the login backs the claim: said once
    assert clerk_cell(by("alice")) == "clerk-7 (login alice)"
    assert clerk_cell(by("alice", metadata={})) == "(login alice)"
    assert clerk_cell(by("al\u202eice")) == "clerk-7 (login al\\u202eice)"
    header, login, blank, *_ = format_event_details(by("alice")).splitlines()
    assert header.startswith("money.deposited · account-a@4")
    assert (login, blank) == ("database login: alice (recorded by the server)", "")


def test_json_is_exact_sorted_and_never_raises() -> None:
    value = {
        "b": [Decimal("0.10"), Decimal("1E+3"), 7, True, None, {}],
        "a": {"z": "x", "y": []},
        "c": "text \u202e with a bidi override",
        1: Decimal("-0.01"),
        "d": datetime(2026, 1, 2, tzinfo=UTC),
    }
    assert to_json(value) == (
        "{\n"
        '  "1": -0.01,\n'
        '  "a": {\n'
        '    "y": [],\n'
        '    "z": "x"\n'
        "  },\n"
        '  "b": [\n'
        "    0.10,\n"
        "    1E+3,\n"
        "    7,\n"
        "    true,\n"
        "    null,\n"
        "    {}\n"
        "  ],\n"
        '  "c": "text \\u202e with a bidi override",\n'
        '  "d": "2026-01-02 00:00:00+00:00"\n'
        "}"
    )
    assert to_json(None) == "null"
    assert to_json(float("nan")) == "NaN"


# ── behaviour of the view ─────────────────────────────────────────────────────────────────


def test_live_rows_keep_the_top_in_sight_and_a_reader_in_place(
    make_widget: Callable[..., EventLogWidget], qtbot: QtBot
) -> None:
    widget = make_widget(show=True)
    table = widget.table
    bar = table.verticalScrollBar()
    widget.append_events(events(1, 200))
    assert column(widget.model)[0] == "200"
    assert bar.value() == 0  # the newest in sight

    widget.append_events(events(201, 300))
    assert bar.value() == 0
    assert column(widget.model)[0] == "300"

    qtbot.waitUntil(lambda: bar.maximum() > 0)
    bar.setValue(bar.maximum() // 2)  # the clerk scrolls down to read
    reading = table.indexAt(table.viewport().rect().topLeft()).data()
    widget.append_events(events(301, 350))
    QApplication.processEvents()
    assert table.indexAt(table.viewport().rect().topLeft()).data() == reading


def test_tab_order_goes_type_account_clerk_table_details(
    make_widget: Callable[..., EventLogWidget], qtbot: QtBot
) -> None:
    widget = make_widget(show=True)
    type_filter, stream_filter, clerk_filter, table, details = parts(widget)
    type_filter.setFocus()
    qtbot.waitUntil(type_filter.hasFocus)
    seen: list[QWidget | None] = []
    for _ in range(4):
        focus = QApplication.focusWidget()
        assert focus is not None
        qtbot.keyClick(focus, Qt.Key.Key_Tab)
        seen.append(QApplication.focusWidget())
    assert seen == [stream_filter, clerk_filter, table, details]


def test_screenshot_renders(
    make_widget: Callable[..., EventLogWidget], qtbot: QtBot, tmp_path: Path
) -> None:
    widget = make_widget(show=True)
    _, _, _, table, details = parts(widget)
    widget.append_events(
        [
            event(1, "account.opened", data={"accountId": "account-a", "customerId": "c-1"}),
            *events(2, 30, stream="account-a"),
            event(31, "money.withdrawn", "account-b", data=None),
            event(32, "transfer.requested", "transfer-1", metadata=None),
        ]
    )
    table.setFocus()
    table.setCurrentIndex(widget.model.index(5, 0))
    qtbot.waitUntil(lambda: "global #27" in details.toPlainText())

    path = tmp_path / "event_log.png"
    assert widget.grab().save(str(path))
    assert path.stat().st_size > 10_000
