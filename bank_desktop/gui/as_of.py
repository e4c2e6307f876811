"""The ledger as of a date: a date field in the ledger panel, and the ledger cut at the end of
that day.

Empty, the panel is live. With a date (typed as shown, ``2026-11-01``, or picked with
Alt+Down), the ledger, chart and title show the account at midnight after that day (local
time): its lines up to then, the balance and available balance of that moment, whether it
was open. The cut is :func:`~bank_desktop.application.projections.as_of.as_of`, the same as
``bank-desktop show --as-of`` and ``GET /accounts/{id}?asOf=``. Esc in the field (or
emptying it) goes back to live; Enter moves on to the ledger.
"""

from __future__ import annotations

from datetime import date, datetime

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from bank_desktop.application.projections import Ledger
from bank_desktop.application.projections.as_of import AsOf, as_of, end_of_day
from bank_desktop.gui.statement_dialog import DateField

LIVE_HINT = "today (live)"


def cut(ledger: Ledger, moment: datetime) -> tuple[Ledger, AsOf]:
    """``ledger`` as it stood at ``moment``: a ledger of the lines up to then (the links
    between them only), and the account's state at that moment."""
    state = as_of(ledger.account_id, ledger.entries, moment)
    view = Ledger(ledger.account_id)
    view.entries = list(state.entries)
    view.position = state.entries[-1].stream_position if state.entries else 0
    view.balance = state.balance
    shown = {entry.event_id for entry in state.entries}
    view.reversed_by = {
        line: reversal for line, reversal in ledger.reversed_by.items() if reversal in shown
    }
    return view, state


class AsOfField(DateField):
    """The date field; Esc empties it (back to live), Enter hands on to the ledger."""

    finished = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape and self.text():
            self.clear()
            return
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.finished.emit()
            return
        super().keyPressEvent(event)


class AsOfBar(QWidget):
    """ "As of: [date]" for the ledger panel; ``day_changed`` with the day, or None for live."""

    day_changed = Signal(object)  #: date | None

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.field = AsOfField(QDate())
        self.field.setObjectName("asOfEdit")
        self.field.setPlaceholderText(LIVE_HINT)
        self.field.setToolTip(
            "Show the ledger at the end of a day: type it as 2026-11-01 or pick it with "
            "Alt+Down; Esc goes back to live (Ctrl+G comes here)"
        )
        # Room for the hint and the calendar button, never squeezed by a long title.
        self.field.setFixedWidth(self.field.fontMetrics().horizontalAdvance(LIVE_HINT) + 48)
        label = QLabel("As &of:")
        label.setBuddy(self.field)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(label)
        layout.addWidget(self.field)
        self._day: date | None = None
        self.field.textChanged.connect(lambda _: self._typed(self.field.date()))

    @property
    def day(self) -> date | None:
        """The day shown, or None while live."""
        return self._day

    def moment(self) -> datetime | None:
        """The end of the day shown (local midnight after it), or None while live."""
        return None if self._day is None else end_of_day(self._day)

    def show_day(self, day: date | None) -> None:
        """Show ``day`` (None: live), as if typed."""
        self.field.setDate(QDate() if day is None else QDate(day.year, day.month, day.day))

    def _typed(self, value: QDate) -> None:
        text = self.field.text().strip()
        if value.isValid():
            day: date | None = date(value.year(), value.month(), value.day())
        elif not text:
            day = None
        else:
            self.field.setProperty("invalid", True)  # half a date: wait for the rest
            self._repolish()
            return
        self.field.setProperty("invalid", False)
        self._repolish()
        if day != self._day:
            self._day = day
            self.day_changed.emit(day)

    def _repolish(self) -> None:
        self.field.style().unpolish(self.field)
        self.field.style().polish(self.field)
