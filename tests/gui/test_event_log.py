"""The Event log tab, fed batches by hand as the live feed would: rows, filters, JSON pane."""

from __future__ import annotations

import time
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

from bank_desktop.eventstore import RecordedEvent
from bank_desktop.gui.event_log import (
    ALL_TYPES,
    EVENT_ROLE,
    HEADERS,
    EventLogModel,
    EventLogWidget,
    format_event_details,
    to_json,
)

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
    """One column's displayed text, top to bottom, of a model or proxy."""
    return [model.index(row, col).data() for row in range(model.rowCount())]


@pytest.fixture
def make_widget(qtbot: QtBot) -> Callable[..., EventLogWidget]:
    def make(*, capacity: int = 5000, show: bool = False) -> EventLogWidget:
        widget = EventLogWidget(capacity=capacity)
        qtbot.addWidget(widget)
        widget.resize(900, 600)
        if show:
            with qtbot.waitActive(widget):
                widget.show()
                widget.activateWindow()
        return widget

    return make


def parts(widget: EventLogWidget) -> tuple[QComboBox, QLineEdit, QTableView, QPlainTextEdit]:
    type_filter = widget.findChild(QComboBox, "eventTypeFilter")
    stream_filter = widget.findChild(QLineEdit, "eventStreamFilter")
    table = widget.findChild(QTableView, "eventLogTable")
    details = widget.findChild(QPlainTextEdit, "eventDetails")
    assert type_filter is not None
    assert stream_filter is not None
    assert table is not None
    assert details is not None
    return type_filter, stream_filter, table, details


def combo_items(combo: QComboBox) -> list[str]:
    return [combo.itemText(i) for i in range(combo.count())]


# ── the model ─────────────────────────────────────────────────────────────────────────────


def test_model_passes_the_model_tester_through_appends_and_drops(
    qtbot: QtBot, qtmodeltester: ModelTester
) -> None:
    model = EventLogModel(capacity=8)
    model.append_events(events(1, 3))
    qtmodeltester.check(model)  # watches every later change as well

    model.append_events(events(4, 5))
    model.append_events([event(6, "account.opened", "account-b", metadata=None)])
    model.append_events([event(7, data=None), *events(8, 12, stream="account-c")])  # drops 4
    model.append_events(events(13, 40))  # larger than the log
    model.clear()
    model.append_events(events(41, 42))

    assert column(model) == ["41", "42"]


def test_filter_proxy_passes_the_model_tester_through_appends_and_filters(
    make_widget: Callable[..., EventLogWidget], qtmodeltester: ModelTester
) -> None:
    widget = make_widget(capacity=8)
    widget.append_events(events(1, 5))
    qtmodeltester.check(widget.proxy)

    widget.append_events([event(6, "account.opened", "account-b", metadata=None)])
    widget.append_events([event(7, data=None), *events(8, 12, stream="account-c")])
    widget.proxy.set_event_type("money.deposited")
    widget.proxy.set_stream_text("-C")
    assert column(widget.proxy) == ["8", "9", "10", "11", "12"]
    widget.append_events([*events(13, 14, stream="account-c"), event(15, stream="account-d")])
    assert column(widget.proxy) == ["8", "9", "10", "11", "12", "13", "14"]
    widget.proxy.set_stream_text("")
    widget.clear()
    widget.append_events(events(16, 17))
    assert column(widget.proxy) == ["16", "17"]


def test_batches_are_appended_at_the_bottom_in_order(qtbot: QtBot) -> None:
    model = EventLogModel()
    inserted: list[tuple[int, int]] = []
    model.rowsInserted.connect(lambda _parent, first, last: inserted.append((first, last)))
    model.modelReset.connect(lambda: pytest.fail("an append must not reset the model"))

    model.append_events(events(1, 3))
    model.append_events([])
    model.append_events(events(4, 5, type="account.opened", stream="account-b"))

    assert inserted == [(0, 2), (3, 4)]
    assert column(model) == ["1", "2", "3", "4", "5"]
    assert [model.headerData(c, Qt.Orientation.Horizontal) for c in range(6)] == list(HEADERS)
    last = [model.index(4, c).data() for c in range(6)]
    local = (START + timedelta(seconds=5)).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    assert last == ["5", local, "account.opened", "account-b", "5", "clerk-7"]
    assert model.index(4, 0).data(EVENT_ROLE).event_id == "e5"


def test_capacity_keeps_only_the_newest_events(qtbot: QtBot) -> None:
    model = EventLogModel(capacity=5)
    removed: list[tuple[int, int]] = []
    model.rowsRemoved.connect(lambda _parent, first, last: removed.append((first, last)))

    model.append_events(events(1, 3))
    model.append_events(events(4, 7))
    assert removed == [(0, 1)]
    assert column(model) == ["3", "4", "5", "6", "7"]

    model.append_events(events(8, 20))  # a batch larger than the log: only its tail is kept
    assert removed == [(0, 1), (0, 4)]
    assert column(model) == ["16", "17", "18", "19", "20"]

    with pytest.raises(ValueError, match="capacity"):
        EventLogModel(capacity=0)


def test_a_batch_of_ten_thousand_is_one_insertion_and_quick(
    make_widget: Callable[..., EventLogWidget],
) -> None:
    widget = make_widget(capacity=20_000, show=True)
    widget.proxy.set_stream_text("account-1")  # the proxy checks every new row
    inserted: list[tuple[int, int]] = []
    widget.model.rowsInserted.connect(lambda _p, first, last: inserted.append((first, last)))
    batch = [event(n, stream=f"account-{n % 20}") for n in range(1, 10_001)]

    started = time.perf_counter()
    widget.append_events(batch)
    QApplication.processEvents()
    elapsed = time.perf_counter() - started

    assert inserted == [(0, 9_999)]
    assert widget.proxy.rowCount() == 5_500  # account-1 and account-10 … account-19
    assert elapsed < 1.0, f"10,000 events took {elapsed:.3f} s"


# ── filters ───────────────────────────────────────────────────────────────────────────────


def test_type_filter_narrows_rows_including_later_events(
    make_widget: Callable[..., EventLogWidget],
) -> None:
    widget = make_widget()
    type_filter, _, _, _ = parts(widget)
    widget.append_events([event(1, "account.opened"), event(2), event(3, "money.withdrawn")])
    assert combo_items(type_filter) == [
        ALL_TYPES,
        "account.opened",
        "money.deposited",
        "money.withdrawn",
    ]

    type_filter.setCurrentIndex(type_filter.findText("money.deposited"))
    assert column(widget.proxy) == ["2"]

    widget.append_events([event(4, "money.withdrawn"), event(5), event(6)])
    assert column(widget.proxy) == ["2", "5", "6"]

    type_filter.setCurrentIndex(0)
    assert column(widget.proxy) == ["1", "2", "3", "4", "5", "6"]


def test_type_list_grows_sorted_and_keeps_the_choice(
    make_widget: Callable[..., EventLogWidget],
) -> None:
    widget = make_widget()
    type_filter, _, _, _ = parts(widget)
    widget.append_events([event(1, "money.withdrawn"), event(2)])
    type_filter.setCurrentIndex(type_filter.findText("money.withdrawn"))

    widget.append_events([event(3, "account.opened"), event(4, "transfer.requested")])
    widget.append_events([event(5, "account.closed"), event(6, "money.withdrawn")])

    assert combo_items(type_filter) == [
        ALL_TYPES,
        "account.closed",
        "account.opened",
        "money.deposited",
        "money.withdrawn",
        "transfer.requested",
    ]
    assert type_filter.currentText() == "money.withdrawn"
    assert column(widget.proxy) == ["1", "6"]


def test_stream_filter_typed_matches_part_of_the_stream_ignoring_case(
    make_widget: Callable[..., EventLogWidget], qtbot: QtBot
) -> None:
    widget = make_widget(show=True)
    _, stream_filter, _, _ = parts(widget)
    assert stream_filter.placeholderText() == "Filter by stream…"
    widget.append_events(
        [event(1, stream="account-abc"), event(2, stream="transfer-9"), event(3, stream="ABC-x")]
    )

    stream_filter.setFocus()
    qtbot.keyClicks(stream_filter, "aBc")
    assert column(widget.proxy) == ["1", "3"]
    count = widget.findChild(QLabel, "eventLogCount")
    assert count is not None
    assert count.text() == "2 of 3 events"

    widget.append_events([event(4, stream="transfer-abc"), event(5, stream="account-z")])
    assert column(widget.proxy) == ["1", "3", "4"]

    widget.append_events([event(6, "account.opened", stream="account-abcd")])
    type_filter, _, _, _ = parts(widget)
    type_filter.setCurrentIndex(type_filter.findText("account.opened"))
    assert column(widget.proxy) == ["6"]  # both filters at once

    stream_filter.clear()
    assert column(widget.proxy) == ["6"]
    type_filter.setCurrentIndex(0)
    assert widget.proxy.rowCount() == 6


# ── the detail pane ───────────────────────────────────────────────────────────────────────


def test_keyboard_selection_shows_the_event_as_exact_json(
    make_widget: Callable[..., EventLogWidget], qtbot: QtBot
) -> None:
    widget = make_widget(show=True)
    _, _, table, details = parts(widget)
    widget.append_events(
        [
            event(1, "account.opened", data={"accountId": "account-a", "initialBalance": 0}),
            event(2, data={"amount": Decimal("120.35"), "accountId": "account-a"}),
            event(3, metadata=None),
            event(4, "money.withdrawn", data=None),
        ]
    )
    assert details.isReadOnly()
    # What the pane asks for, not what this machine's fonts resolve it to: Qt reports some
    # monospace families (Noto Sans Mono) as not fixed-pitch.
    assert details.font().fixedPitch()
    assert details.font().styleHint() == QFont.StyleHint.TypeWriter

    first = table.visualRect(widget.proxy.index(0, 2)).center()
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=first)
    qtbot.waitUntil(lambda: details.toPlainText().startswith("account.opened"))
    qtbot.keyClick(table, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: "global #2" in details.toPlainText())

    text = details.toPlainText()
    assert text.splitlines()[0].startswith("money.deposited · account-a@2 · global #2 · id e2 · ")
    assert '  "amount": 120.35' in text
    assert "120.34999" not in text
    assert text.index('"accountId"') < text.index('"amount"')  # sorted keys
    assert 'metadata:\n{\n  "clerkId": "clerk-7"\n}' in text

    qtbot.keyClick(table, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: "global #3" in details.toPlainText())
    assert "metadata: (not loaded)" in details.toPlainText()
    assert widget.proxy.index(2, 5).data() == ""  # no clerk to show

    qtbot.keyClick(table, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: "global #4" in details.toPlainText())
    assert "not valid JSON):\nnull" in details.toPlainText()


def test_detail_text_of_a_damaged_event_without_metadata() -> None:
    text = format_event_details(event(9, "money.deposited", data=None, metadata=None))
    header, *_ = text.splitlines()
    assert header.startswith("money.deposited · account-a@9 · global #9 · id e9 · 2026-01-01")
    assert "\nnull\n" in text
    assert "metadata: (not loaded)" in text


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


def test_view_follows_new_events_only_from_the_bottom(
    make_widget: Callable[..., EventLogWidget], qtbot: QtBot
) -> None:
    widget = make_widget(show=True)
    _, _, table, _ = parts(widget)
    bar = table.verticalScrollBar()
    widget.append_events(events(1, 200))
    qtbot.waitUntil(lambda: bar.maximum() > 0 and bar.value() == bar.maximum())

    widget.append_events(events(201, 300))
    qtbot.waitUntil(lambda: bar.value() == bar.maximum())
    last = widget.proxy.index(widget.proxy.rowCount() - 1, 0)
    assert table.viewport().rect().intersects(table.visualRect(last))

    bar.setValue(0)  # the clerk scrolls up to read: new events must not pull the view away
    widget.append_events(events(301, 400))
    QApplication.processEvents()
    assert bar.value() == 0
    assert table.indexAt(table.viewport().rect().topLeft()).row() == 0

    bar.setValue(bar.maximum())  # back at the bottom: following again
    widget.append_events(events(401, 450))
    qtbot.waitUntil(lambda: table.visualRect(widget.proxy.index(449, 0)).isValid())
    assert table.viewport().rect().intersects(table.visualRect(widget.proxy.index(449, 0)))


def test_tab_order_goes_type_stream_table_details(
    make_widget: Callable[..., EventLogWidget], qtbot: QtBot
) -> None:
    widget = make_widget(show=True)
    type_filter, stream_filter, table, details = parts(widget)
    type_filter.setFocus()
    qtbot.waitUntil(type_filter.hasFocus)
    seen: list[QWidget | None] = []
    for _ in range(3):
        focus = QApplication.focusWidget()
        assert focus is not None
        qtbot.keyClick(focus, Qt.Key.Key_Tab)
        seen.append(QApplication.focusWidget())
    assert seen == [stream_filter, table, details]


def test_clear_empties_the_log_but_keeps_the_filters(
    make_widget: Callable[..., EventLogWidget], qtbot: QtBot
) -> None:
    widget = make_widget(show=True)
    type_filter, _, table, details = parts(widget)
    widget.append_events([event(1, "account.opened"), event(2)])
    type_filter.setCurrentIndex(type_filter.findText("money.deposited"))
    table.setCurrentIndex(widget.proxy.index(0, 0))
    assert details.toPlainText()

    widget.clear()

    assert widget.model.rowCount() == 0
    assert details.toPlainText() == ""
    assert combo_items(type_filter) == [ALL_TYPES, "money.deposited"]
    assert type_filter.currentText() == "money.deposited"
    widget.append_events([event(3, "account.opened"), event(4)])
    assert column(widget.proxy) == ["4"]


def test_screenshot_renders(
    make_widget: Callable[..., EventLogWidget], qtbot: QtBot, tmp_path: Path
) -> None:
    widget = make_widget(show=True)
    _, _, table, details = parts(widget)
    widget.append_events(
        [
            event(1, "account.opened", data={"accountId": "account-a", "customerId": "c-1"}),
            *events(2, 30, stream="account-a"),
            event(31, "money.withdrawn", "account-b", data=None),
            event(32, "transfer.requested", "transfer-1", metadata=None),
        ]
    )
    table.setFocus()
    table.setCurrentIndex(widget.proxy.index(5, 0))
    qtbot.waitUntil(lambda: "global #6" in details.toPlainText())

    path = tmp_path / "event_log.png"
    assert widget.grab().save(str(path))
    assert path.stat().st_size > 10_000
