"""The selected account's balance over time, as a step line (QtCharts).

The balance only changes at an entry, so the line is drawn as steps: flat from one entry to the
next, then straight up or down. Money stays ``Decimal`` until the last moment: values turn into
float only as plotting coordinates, and extremes are picked on the exact values.

A long ledger is thinned to at most :data:`MAX_POINTS` plotted points by min/max buckets (the
first and last entries always kept, and each bucket's lowest and highest balance), so a spike
never disappears from the picture however many entries surround it. A new live entry is
appended to the series; the series is rebuilt only when it outgrows the cap.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Final

from PySide6.QtCharts import QChart, QChartView, QDateTimeAxis, QLineSeries, QValueAxis
from PySide6.QtCore import QDateTime, QMargins, QPointF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QLabel, QStackedLayout, QWidget

from bank_desktop.application.projections import Ledger, LedgerEntry

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
        self._x_axis = QDateTimeAxis()
        self._x_axis.setTickCount(6)
        self._y_axis = QValueAxis()
        self._y_axis.setTickCount(6)

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
    def x_axis(self) -> QDateTimeAxis:
        return self._x_axis

    @property
    def y_axis(self) -> QValueAxis:
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
        self._fit_axes()
        self._stack.setCurrentWidget(self._view)

    def _show_hint(self, text: str) -> None:
        self._hint.setText(text)
        self._stack.setCurrentWidget(self._hint)

    def _fit_axes(self) -> None:
        """Pad both ranges a little so the line never sits on the frame, and pick a date
        format that suits the span (hours within a day, days within months, months beyond)."""
        if self._low is None or self._high is None:
            return
        first, last = self._earliest, self._latest
        span = last - first
        pad = max(span // 30, _HOUR_MS // 2)
        self._x_axis.setRange(
            QDateTime.fromMSecsSinceEpoch(first - pad), QDateTime.fromMSecsSinceEpoch(last + pad)
        )
        self._x_axis.setFormat(date_format(first - pad, last + pad))

        low, high = float(self._low), float(self._high)
        spread = high - low
        margin = spread * 0.08 if spread else max(abs(high) * 0.1, 1.0)
        bottom = low - margin
        if low >= 0 > bottom:
            bottom = 0.0  # a balance that never went negative needs no negative axis
        self._y_axis.setRange(bottom, high + margin)
        self._y_axis.applyNiceNumbers()
        shown = self._y_axis.max() - self._y_axis.min()
        self._y_axis.setLabelFormat("$%.0f" if shown >= 20 else "$%.2f")


def date_format(first_ms: int, last_ms: int) -> str:
    """A QDateTime format that tells ticks apart without clutter for this local-time range."""
    first = QDateTime.fromMSecsSinceEpoch(first_ms)
    last = QDateTime.fromMSecsSinceEpoch(last_ms)
    if first.date() == last.date():
        return "HH:mm"
    span_ms = last_ms - first_ms
    if span_ms <= 3 * _DAY_MS:
        return "d MMM HH:mm"
    if span_ms <= 120 * _DAY_MS:
        return "d MMM"
    # Ticks fall at even intervals, not on New Year: a bare year would mislabel them.
    return "MMM yyyy"
