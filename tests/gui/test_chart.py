"""The balance chart: steps at each entry, thinned long ledgers, live appends, real pixels."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from PySide6.QtCore import QDate, QDateTime, QPointF, QTime
from PySide6.QtGui import QColor, QImage
from pytestqt.qtbot import QtBot

from bank_desktop.application.projections import Ledger, LedgerEntry
from bank_desktop.gui.chart import (
    MAX_POINTS,
    SELECT_HINT,
    BalanceChart,
    money_ticks,
    thin,
    time_ticks,
)

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _entries(
    account_id: str, amounts: Sequence[Decimal], *, first_position: int = 1, opening: Decimal
) -> list[LedgerEntry]:
    entries = []
    balance = opening
    for offset, amount in enumerate(amounts):
        position = first_position + offset
        balance += amount
        entries.append(
            LedgerEntry(
                account_id=account_id,
                stream_position=position,
                global_position=position,
                occurred_at=START + timedelta(hours=position),
                kind="deposit" if amount >= 0 else "withdrawal",
                description=f"Entry {position}",
                amount=amount,
                balance=balance,
                clerk_id="clerk",
                counterparty_account_id=None,
                transfer_id=None,
                event_id=f"ev-{position}",
            )
        )
    return entries


def ledger_of(amounts: Sequence[str | Decimal], account_id: str = "ACC-1") -> Ledger:
    """A ledger whose balances are the running sum of ``amounts`` (the first is the opening)."""
    ledger = Ledger(account_id)
    ledger.entries = _entries(account_id, [Decimal(a) for a in amounts], opening=Decimal("0.00"))
    ledger.position = len(ledger.entries)
    ledger.balance = ledger.entries[-1].balance if ledger.entries else Decimal("0.00")
    return ledger


def ys(chart: BalanceChart) -> list[float]:
    return [point.y() for point in chart.series.points()]


@pytest.fixture
def chart(qtbot: QtBot) -> BalanceChart:
    widget = BalanceChart()
    qtbot.addWidget(widget)
    widget.resize(640, 360)
    return widget


def test_small_ledger_is_drawn_as_steps_through_every_balance(chart: BalanceChart) -> None:
    ledger = ledger_of(["100.00", "50.25", "-30.10", "0.00", "1000.00"])

    chart.show_ledger(ledger)

    points = chart.series.points()
    assert len(points) == 2 * 5 - 1  # one point for the first entry, two (a step) for the rest
    assert ys(chart) == [100.0, 100.0, 150.25, 150.25, 120.15, 120.15, 120.15, 120.15, 1120.15]
    # Each step is vertical: the flat line reaches the entry's time before jumping.
    assert points[1].x() == points[2].x()
    assert points[0].x() == START.timestamp() * 1000 + 3_600_000
    assert chart.chart.title() == "Balance of ACC-1"
    assert chart.hint() is None
    assert chart.objectName() == "balanceChart"


def test_axes_are_padded_around_the_line(chart: BalanceChart) -> None:
    chart.show_ledger(ledger_of(["100.00", "50.00", "-75.00"]))

    x_axis, y_axis = chart.x_axis, chart.y_axis
    points = chart.series.points()
    assert x_axis.min() < points[0].x()
    assert x_axis.max() > points[-1].x()
    assert y_axis.min() <= 75.0
    assert y_axis.max() > 150.0
    assert y_axis.min() >= 0.0  # never-negative balances get no negative axis


def at(day: int, hour: int) -> int:
    """Milliseconds of a local time in March 2026 (the axis shows local time)."""
    return QDateTime(QDate(2026, 3, day), QTime(hour, 0)).toMSecsSinceEpoch()


def labels(ticks: Sequence[tuple[object, str]]) -> list[str]:
    return [label for _, label in ticks]


@pytest.mark.parametrize(
    ("first", "last", "example"),
    [
        (at(2, 9), at(2, 17), "12:00"),
        (at(2, 20), at(3, 8), "3 Mar 00:00"),  # crosses midnight
        (at(1, 0), at(5, 0), "3 Mar"),  # a few days: never "1 Mar, 1 Mar, 2 Mar"
        (at(1, 0), at(30, 0), "16 Mar"),  # Mondays
        (at(1, 0), at(1, 0) + 100 * 86_400_000, "Apr 2026"),  # never "Aug 2026, Aug 2026"
        (at(1, 0), at(1, 0) + 800 * 86_400_000, "Jan 2027"),
        (at(1, 0), at(1, 0) + 5000 * 86_400_000, "2030"),
    ],
)
def test_time_ticks_are_distinct_few_and_on_round_moments(
    first: int, last: int, example: str
) -> None:
    ticks = time_ticks(first, last)
    assert 2 <= len(ticks) <= 6
    assert len(set(labels(ticks))) == len(ticks), labels(ticks)  # no label twice
    assert all(first <= at_ms <= last for at_ms, _ in ticks)
    assert example in labels(ticks), labels(ticks)


def test_money_ticks_have_thousands_separators_and_nice_steps() -> None:
    ticks = money_ticks(Decimal(0), Decimal("21000"))
    assert labels(ticks) == ["$0", "$5,000", "$10,000", "$15,000", "$20,000"]
    assert labels(money_ticks(Decimal("0.10"), Decimal("0.90"))) == [
        "$0.20",
        "$0.40",
        "$0.60",
        "$0.80",
    ]
    assert labels(money_ticks(Decimal(-1500), Decimal(1500)))[0] == "-$1,000"


def test_the_axes_show_those_labels(chart: BalanceChart) -> None:
    ledger = ledger_of(["12000.00", "5000.00"])
    ledger.entries[1] = replace(
        ledger.entries[1], occurred_at=ledger.entries[0].occurred_at + timedelta(days=100)
    )
    chart.show_ledger(ledger)
    x_labels = chart.x_axis.categoriesLabels()
    assert len(set(x_labels)) == len(x_labels) >= 2
    assert all(" 2026" in label for label in x_labels)  # months, each once
    assert "$10,000" in chart.y_axis.categoriesLabels()


def test_a_new_account_shows_its_opening_point(chart: BalanceChart) -> None:
    chart.show_ledger(ledger_of(["250.00"]))

    x_axis, y_axis = chart.x_axis, chart.y_axis
    assert chart.hint() is None
    assert len(chart.series.points()) == 1
    assert chart.series.pointsVisible()  # one point is no line: it is drawn as a dot
    assert x_axis.max() - x_axis.min() >= 3_600_000
    assert y_axis.min() < 250.0 < y_axis.max()
    assert chart.y_axis.categoriesLabels()


def test_long_ledger_is_thinned_but_keeps_spikes_first_and_last(chart: BalanceChart) -> None:
    amounts = [Decimal("1000.00")] + [Decimal("1.00"), Decimal("-1.00")] * 10_000
    amounts[7_001] = Decimal("5000.00")  # a spike up, and straight back down
    amounts[7_002] = Decimal("-5000.00")
    amounts[12_345] = Decimal("-999.00")  # a dip to almost nothing
    amounts[12_346] = Decimal("999.00")
    ledger = ledger_of(amounts)
    balances = [float(e.balance) for e in ledger.entries]

    chart.show_ledger(ledger)

    values = ys(chart)
    assert len(values) <= MAX_POINTS
    assert max(values) == max(balances) == 6000.0
    assert min(values) == min(balances) == 1.0
    assert values[0] == balances[0]
    assert values[-1] == balances[-1]
    last = chart.series.points()[-1]
    assert last.x() == ledger.entries[-1].occurred_at.timestamp() * 1000


def test_thin_keeps_first_last_and_each_buckets_extremes() -> None:
    balances = [Decimal(v) for v in (5, 1, 9, 3, 3, 3, 8, 0, 4, 6, 2, 7)]

    kept = thin(balances, 6)

    assert kept[0] == 0
    assert kept[-1] == len(balances) - 1
    assert kept == sorted(kept)
    assert len(kept) <= 6
    assert 2 in kept  # the highest (9)
    assert 7 in kept  # the lowest (0)
    assert thin(balances, 100) == list(range(len(balances)))


def test_none_clears_the_chart_and_shows_a_hint(chart: BalanceChart) -> None:
    chart.show_ledger(ledger_of(["100.00", "20.00"]))

    chart.show_ledger(None)

    assert chart.series.count() == 0
    assert chart.hint() == SELECT_HINT
    assert chart.account_id is None
    chart.append_entries(_entries("ACC-1", [Decimal(1)], first_position=3, opening=Decimal(0)))
    assert chart.series.count() == 0  # nothing shown: live entries have nowhere to go


def test_empty_ledger_says_so_until_its_first_entry(chart: BalanceChart) -> None:
    chart.show_ledger(Ledger("ACC-9"))
    assert chart.hint() == "No entries for ACC-9 yet"

    chart.append_entries(_entries("ACC-9", [Decimal("40.00")], opening=Decimal("0.00")))

    assert chart.hint() is None
    assert ys(chart) == [40.0]


def test_live_entries_are_appended_without_rebuilding(chart: BalanceChart) -> None:
    ledger = ledger_of(["100.00", "50.00"])
    chart.show_ledger(ledger)
    rebuilt: list[bool] = []
    chart.series.pointsReplaced.connect(lambda: rebuilt.append(True))
    new = _entries(
        "ACC-1", [Decimal("-20.00"), Decimal("500.00")], first_position=3, opening=Decimal("150.00")
    )

    chart.append_entries(new)

    assert ys(chart) == [100.0, 100.0, 150.0, 150.0, 130.0, 130.0, 630.0]
    assert not rebuilt
    y_axis = chart.y_axis
    assert y_axis.max() > 630.0  # the axis grew with the line
    # Repeats and other accounts' entries are ignored.
    chart.append_entries(new)
    chart.append_entries(_entries("ACC-2", [Decimal(1)], first_position=9, opening=Decimal(0)))
    assert len(chart.series.points()) == 7


def test_live_entries_past_the_cap_thin_the_series_again(chart: BalanceChart) -> None:
    ledger = ledger_of([Decimal("10.00")] * 990)
    chart.show_ledger(ledger)
    assert len(chart.series.points()) == 2 * 990 - 1

    more = _entries("ACC-1", [Decimal("1.00")] * 100, first_position=991, opening=ledger.balance)
    chart.append_entries(more)

    values = ys(chart)
    assert len(values) <= MAX_POINTS
    assert values[0] == 10.0
    assert values[-1] == float(ledger.balance + 100)


def test_chart_renders_visible_pixels(chart: BalanceChart, qtbot: QtBot, tmp_path: Path) -> None:
    amounts = ["1200.00"] + ["85.50", "-40.25", "310.00", "-500.00", "75.00", "-12.34"] * 6
    chart.show_ledger(ledger_of(amounts, "ACC-PIXELS"))
    with qtbot.waitExposed(chart):
        chart.show()

    image = chart.grab().toImage()
    image.save(str(tmp_path / "balance-chart.png"))

    assert (tmp_path / "balance-chart.png").stat().st_size > 0
    colours = _colours(image)
    assert len(colours) > 20  # text, axes, grid and an antialiased line, not a blank box
    assert any(_is_line_blue(QColor(c)) for c in colours)


def _colours(image: QImage) -> set[int]:
    return {
        image.pixel(x, y) for x in range(0, image.width(), 3) for y in range(0, image.height(), 3)
    }


def _is_line_blue(colour: QColor) -> bool:
    return colour.blue() > 140 and colour.red() < 90 and colour.green() < 130


def test_points_are_exact_floats_of_the_decimal_balances(chart: BalanceChart) -> None:
    ledger = ledger_of(["0.10", "0.20"])
    chart.show_ledger(ledger)
    # 0.1 + 0.2 summed exactly as Decimal, converted once: 0.3, not 0.30000000000000004.
    assert chart.series.points()[-1] == QPointF(chart.series.points()[-1].x(), 0.3)
