"""The selected account's balance over time, as a step line (QtCharts).

The balance only changes at an entry, so the line is drawn as steps: flat from one entry to the
next, then straight up or down. Money stays ``Decimal`` until the last moment: values turn into
float only as plotting coordinates, and extremes are picked on the exact values.

A long ledger is thinned to at most :data:`MAX_POINTS` plotted points by min/max buckets (the
first and last entries always kept, and each bucket's lowest and highest balance), so a spike
never disappears from the picture however many entries surround it. A new live entry is
appended to the series; the series is rebuilt only when it outgrows the cap.

The axes label round moments and round amounts the chart picks itself (:func:`time_ticks`,
:func:`money_ticks`): Qt's date axis puts evenly spaced ticks anywhere, which read
"Aug 2026, Aug 2026", and its value axis cannot group thousands. A new account's single
entry, which is no line yet, is drawn as a dot.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Final

from PySide6.QtCharts import QCategoryAxis, QChart, QChartView, QLineSeries
from PySide6.QtCore import QMargins, QPointF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QLabel, QStackedLayout, QWidget

from bank_desktop.application.projections import Ledger, LedgerEntry
from bank_desktop.domain import format_money

#: The most points the series holds; beyond this the ledger is thinned.
MAX_POINTS: Final = 2000
#: Entries a thinned series keeps (two points each as steps), leaving room for live appends
#: before the next rebuild.
THINNED_VERTICES: Final = 800
SELECT_HINT: Final = "Select an account"
_LINE: Final = QColor(32, 96, 168)
_HOUR_MS: Final = 3_600_000
_DAY_MS: Final = 24 * _HOUR_MS
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND: Final = timedelta(milliseconds=1)
#: At most this many labels per axis: more would crowd a chart a few hundred pixels wide.
MAX_TICKS: Final = 6
_HOUR_STEPS: Final = (1, 2, 3, 6, 12)
_DAY_STEPS: Final = (1, 2, 7, 14)
_MONTH_STEPS: Final = (1, 2, 3, 6)


def thin(balances: Sequence[Decimal], budget: int) -> list[int]:
    """Indices to keep, in order, so that at most ``budget`` remain (``budget`` >= 4).

    Keeps the first and last index and, for each bucket of the ones between, the index of the
    lowest and of the highest balance: the shape, the extremes and the current value survive.
    """
    count = len(balances)
    if count <= budget:
        return list(range(count))
    inner = count - 2
    buckets = max(1, (budget - 2) // 2)
    kept = [0]
    for bucket in range(buckets):
        low = 1 + bucket * inner // buckets
        high = 1 + (bucket + 1) * inner // buckets
        if low >= high:
            continue
        span = range(low, high)
        lowest = min(span, key=balances.__getitem__)
        highest = max(span, key=balances.__getitem__)
        kept.extend(sorted({lowest, highest}))
    kept.append(count - 1)
    return kept


def _msecs(moment: datetime) -> int:
    """Milliseconds since the epoch, the x coordinate QDateTimeAxis expects (exact: no float)."""
    return (moment - _EPOCH) // _MILLISECOND


class BalanceChart(QWidget):
    """Balance over time for one account; ``show_ledger`` to switch, ``append_entries`` live."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("balanceChart")
        self._account_id: str | None = None
        self._last_position = 0
        # Every entry's time and balance (exact), so a thinned series can be rebuilt.
        self._times: list[int] = []
        self._balances: list[Decimal] = []
        self._low: Decimal | None = None
        self._high: Decimal | None = None
        self._earliest = self._latest = 0

        self._series = QLineSeries()
        self._series.setName("Balance")
        self._series.setPen(QPen(_LINE, 2))
        self._series.setMarkerSize(9)  # the dot of a single entry
        self._x_axis = _label_axis()
        self._y_axis = _label_axis()

        self._chart = QChart()
        self._chart.legend().hide()
        self._chart.setMargins(QMargins(4, 4, 4, 4))
        self._chart.addSeries(self._series)
        self._chart.addAxis(self._x_axis, Qt.AlignmentFlag.AlignBottom)
        self._chart.addAxis(self._y_axis, Qt.AlignmentFlag.AlignLeft)
        self._series.attachAxis(self._x_axis)
        self._series.attachAxis(self._y_axis)

        self._view = QChartView(self._chart)
        self._view.setObjectName("balanceChartView")
        self._view.setRenderHint(QPainter.RenderHint.Antialiasing)

        self._hint = QLabel(SELECT_HINT)
        self._hint.setObjectName("balanceChartHint")
        self._hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._hint.setStyleSheet("color: palette(placeholder-text);")

        self._stack = QStackedLayout(self)
        self._stack.addWidget(self._hint)
        self._stack.addWidget(self._view)
        self.show_ledger(None)

    # ── for the window and for tests ──────────────────────────────────────────────────────

    @property
    def account_id(self) -> str | None:
        return self._account_id

    @property
    def chart(self) -> QChart:
        return self._chart

    @property
    def series(self) -> QLineSeries:
        return self._series

    @property
    def x_axis(self) -> QCategoryAxis:
        """Time in milliseconds since the epoch, labelled at round local moments."""
        return self._x_axis

    @property
    def y_axis(self) -> QCategoryAxis:
        """The balance, labelled at round amounts with thousands separators."""
        return self._y_axis

    def hint(self) -> str | None:
        """The text shown instead of the chart, or None while a chart is shown."""
        return self._hint.text() if self._stack.currentWidget() is self._hint else None

    # ── feeding ───────────────────────────────────────────────────────────────────────────

    def show_ledger(self, ledger: Ledger | None) -> None:
        """Show ``ledger``'s balance history (replacing what was shown); None clears."""
        self._times = []
        self._balances = []
        self._low = self._high = None
        self._last_position = 0
        self._series.clear()
        if ledger is None:
            self._account_id = None
            self._chart.setTitle("")
            self._show_hint(SELECT_HINT)
            return
        self._account_id = ledger.account_id
        self._chart.setTitle(f"Balance of {ledger.account_id}")
        self._take(ledger.entries)
        self._rebuild()

    def append_entries(self, entries: Sequence[LedgerEntry]) -> None:
        """Add the shown ledger's new entries; others and already shown ones are ignored.

        Appends to the series in place (two points per entry); only a series that would grow
        past :data:`MAX_POINTS` is thinned again from the kept history.
        """
        if self._account_id is None:
            return
        before = len(self._balances)
        self._take(
            e
            for e in entries
            if e.account_id == self._account_id and e.stream_position > self._last_position
        )
        added = len(self._balances) - before
        if not added:
            return
        if before == 0 or self._series.count() + 2 * added > MAX_POINTS:
            self._rebuild()
            return
        points: list[QPointF] = []
        for index in range(before, len(self._balances)):
            at = float(self._times[index])
            points.append(QPointF(at, float(self._balances[index - 1])))
            points.append(QPointF(at, float(self._balances[index])))
        self._series.append(points)
        self._series.setPointsVisible(False)
        self._fit_axes()

    # ── internals ─────────────────────────────────────────────────────────────────────────

    def _take(self, entries: Iterable[LedgerEntry]) -> None:
        """Remember entries' times and balances, tracking the extremes as they arrive."""
        low, high = self._low, self._high
        earliest, latest = self._earliest, self._latest
        for entry in entries:
            balance = entry.balance
            at = _msecs(entry.occurred_at)
            if low is None or high is None:  # the first entry
                low = high = balance
                earliest = latest = at
            else:
                low, high = min(low, balance), max(high, balance)
                earliest, latest = min(earliest, at), max(latest, at)
            self._times.append(at)
            self._balances.append(balance)
            self._last_position = entry.stream_position
        self._low, self._high = low, high
        self._earliest, self._latest = earliest, latest

    def _rebuild(self) -> None:
        """Replace the whole series from the kept history, thinned if it is long."""
        if not self._balances:
            self._series.clear()
            self._show_hint(f"No entries for {self._account_id} yet")
            return
        if len(self._balances) * 2 - 1 <= MAX_POINTS:
            kept: Sequence[int] = range(len(self._balances))
        else:
            kept = thin(self._balances, THINNED_VERTICES)
        points: list[QPointF] = []
        previous: float | None = None
        for index in kept:
            at = float(self._times[index])
            balance = float(self._balances[index])
            if previous is not None:
                points.append(QPointF(at, previous))
            points.append(QPointF(at, balance))
            previous = balance
        self._series.replace(points)
        self._series.setPointsVisible(len(points) == 1)  # a new account: its opening dot
        self._fit_axes()
        self._stack.setCurrentWidget(self._view)

    def _show_hint(self, text: str) -> None:
        self._hint.setText(text)
        self._stack.setCurrentWidget(self._hint)

    def _fit_axes(self) -> None:
        """Pad both ranges a little so the line never sits on the frame, and label them."""
        if self._low is None or self._high is None:
            return
        first, last = self._earliest, self._latest
        pad = max((last - first) // 30, _HOUR_MS // 2)
        _set_labels(self._x_axis, first - pad, last + pad, time_ticks(first - pad, last + pad))

        low, high = self._low, self._high
        spread = high - low
        margin = spread * Decimal("0.08") if spread else max(abs(high) * Decimal("0.1"), Decimal(1))
        bottom = low - margin
        if low >= 0 > bottom:
            bottom = Decimal(0)  # a balance that never went negative needs no negative axis
        ticks = money_ticks(bottom, high + margin)
        step = ticks[1][0] - ticks[0][0] if len(ticks) > 1 else Decimal(1)
        # Round outwards to the labels' step, as "nice numbers" would.
        floor = (bottom / step).to_integral_value(ROUND_FLOOR) * step
        ceiling = ((high + margin) / step).to_integral_value(ROUND_CEILING) * step
        _set_labels(self._y_axis, float(floor), float(ceiling), money_ticks(floor, ceiling))


def _label_axis() -> QCategoryAxis:
    axis = QCategoryAxis()
    axis.setLabelsPosition(QCategoryAxis.AxisLabelsPosition.AxisLabelsPositionOnValue)
    return axis


def _set_labels(
    axis: QCategoryAxis, low: float, high: float, ticks: Sequence[tuple[object, str]]
) -> None:
    """Replace ``axis``'s labels by ``ticks`` (value, text) within ``[low, high]``."""
    for label in axis.categoriesLabels():
        axis.remove(label)
    axis.setRange(low, high)
    axis.setStartValue(low)
    for value, text in ticks:
        at = float(value)  # type: ignore[arg-type]
        if low <= at <= high:
            axis.append(text, at)


def _local(ms: int) -> datetime:
    return (_EPOCH + ms * _MILLISECOND).astimezone()


def _ms(moment: datetime) -> int:
    return _msecs(moment.astimezone(UTC))


def time_ticks(first_ms: int, last_ms: int, most: int = MAX_TICKS) -> list[tuple[int, str]]:
    """Round local moments between ``first_ms`` and ``last_ms`` (hours, days, months or years,
    whichever gives at most ``most``) with labels that tell them apart: each tick falls in a
    different unit of what its label shows, so no label repeats."""
    first, last = _local(first_ms), _local(last_ms)
    same_day = first.date() == last.date()
    candidates: list[tuple[Iterator[datetime], str]] = []
    for hours in _HOUR_STEPS:
        candidates.append((_hours(first, hours), "%H:%M" if same_day else "%-d %b %H:%M"))
    for days in _DAY_STEPS:
        candidates.append((_days(first, days), "%-d %b"))
    for months in _MONTH_STEPS:
        candidates.append((_months(first, months), "%b %Y"))
    for years in (1, 2, 5, 10, 20, 50, 100):
        candidates.append((_years(first, years), "%Y"))
    for moments, label in candidates:
        ticks: list[tuple[int, str]] = []
        for moment in moments:
            if moment > last:
                break
            ticks.append((_ms(moment), moment.strftime(label.replace("%-d", str(moment.day)))))
            if len(ticks) > most:
                break
        if 2 <= len(ticks) <= most or (len(ticks) < 2 and label == "%Y" and ticks):
            return ticks
    middle = _local((first_ms + last_ms) // 2)  # a single moment (a new account): say when
    return [((first_ms + last_ms) // 2, middle.strftime(f"{middle.day} %b %Y %H:%M"))]


def _hours(start: datetime, step: int) -> Iterator[datetime]:
    moment = start.replace(minute=0, second=0, microsecond=0)
    moment = moment.replace(hour=moment.hour - moment.hour % step)
    while True:
        if moment >= start:
            yield moment
        moment = (moment + timedelta(hours=step)).astimezone()


def _days(start: datetime, step: int) -> Iterator[datetime]:
    day = start.date()
    if step == 7:  # weeks start on Monday
        day -= timedelta(days=day.weekday())
    elif step > 1:
        day -= timedelta(days=(day.day - 1) % step)
    while True:
        moment = datetime(day.year, day.month, day.day).astimezone()
        if moment >= start:
            yield moment
        day += timedelta(days=step)


def _months(start: datetime, step: int) -> Iterator[datetime]:
    year, month = start.year, start.month - (start.month - 1) % step
    while True:
        moment = datetime(year, month, 1).astimezone()
        if moment >= start:
            yield moment
        month += step
        year, month = year + (month - 1) // 12, (month - 1) % 12 + 1


def _years(start: datetime, step: int) -> Iterator[datetime]:
    year = start.year - start.year % step
    while True:
        moment = datetime(year, 1, 1).astimezone()
        if moment >= start:
            yield moment
        year += step


def money_ticks(low: Decimal, high: Decimal, most: int = MAX_TICKS) -> list[tuple[Decimal, str]]:
    """Round amounts from ``low`` to ``high`` (steps of 1, 2 or 5 times a power of ten), at
    most ``most``, labelled like money with thousands separators (``$20,000``)."""
    if high <= low:
        return [(low, _money_label(low, cents=low != low.to_integral_value()))]
    step = _nice_step((high - low) / (most - 1))
    while True:
        first = (low / step).to_integral_value(ROUND_CEILING) * step
        values = []
        value = first
        while value <= high:
            values.append(value)
            value += step
        if len(values) <= most:
            return [(v, _money_label(v, cents=step < 1)) for v in values]
        step = _nice_step(step * Decimal("1.000001"))


def _nice_step(rough: Decimal) -> Decimal:
    """The smallest of 1, 2, 5 times a power of ten that is at least ``rough``."""
    exponent = rough.adjusted()
    for _ in range(3):
        power = Decimal(1).scaleb(exponent)
        for factor in (1, 2, 5):
            if power * factor >= rough:
                return power * factor
        exponent += 1
    return Decimal(1).scaleb(exponent)


def _money_label(value: Decimal, *, cents: bool) -> str:
    text = format_money(value)
    return text if cents else text.removesuffix(".00")
