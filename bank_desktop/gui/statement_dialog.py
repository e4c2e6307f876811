"""Export one account's statement for a date range, as PDF or CSV, without freezing the window.

The dialog only collects and checks input. Reading the ledger, folding the statement and writing
the file happen on a worker thread (through the window's :class:`BackgroundWork`) with values
captured on the GUI thread first, so no widget is touched off it. The keyboard flow matches the
command forms: focus starts in the first field, Tab follows the fields, Enter exports, Esc
cancels; a failure shows in ``formError`` and keeps everything the clerk entered.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Final

from PySide6.QtCore import QDate, QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QFocusEvent, QKeyEvent
from PySide6.QtWidgets import (
    QCalendarWidget,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from bank_desktop.application.projections import Ledger, statement
from bank_desktop.gui.forms.base import fit_title, grow_to_fit
from bank_desktop.gui.forms.busy import Busy
from bank_desktop.gui.messages import describe_error
from bank_desktop.gui.statements import write_csv, write_pdf
from bank_desktop.gui.workers import BackgroundWork

FORMATS: Final = ("PDF", "CSV")
_SUFFIXES: Final = {"PDF": ".pdf", "CSV": ".csv"}
_FILTERS: Final = {"PDF": "PDF documents (*.pdf)", "CSV": "CSV spreadsheets (*.csv)"}
_UNSAFE_IN_NAME: Final = re.compile(r"[^A-Za-z0-9._-]+")
_DATE_FORMAT: Final = "yyyy-MM-dd"
_ISO_DATE: Final = re.compile(r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})")
_COMPACT_DATE: Final = re.compile(r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})")


class ExportCancelledError(Exception):
    """The clerk cancelled before the file was written; nothing was saved."""


def period_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """``[first 00:00 local, last + 1 day 00:00 local)`` as aware datetimes (DST-correct)."""
    start = datetime.combine(first, time(0)).astimezone()
    end = datetime.combine(last + timedelta(days=1), time(0)).astimezone()
    return start, end


def default_file_name(account_id: str, first: date, last: date, file_format: str) -> str:
    """``statement-<account>-<from>-<to>.pdf``, with anything unsafe in a name replaced."""
    account = _UNSAFE_IN_NAME.sub("_", account_id)
    return f"statement-{account}-{first:%Y-%m-%d}-{last:%Y-%m-%d}{_SUFFIXES[file_format]}"


def _as_date(value: QDate) -> date:
    return date(value.year(), value.month(), value.day())


def parse_date(text: str) -> date | None:
    """An ISO date as a clerk types it: ``2026-08-01``, ``2026-8-1`` or ``20260801``."""
    text = text.strip()
    found = _ISO_DATE.fullmatch(text) or _COMPACT_DATE.fullmatch(text)
    if found is None:
        return None
    try:
        return date(int(found["y"]), int(found["m"]), int(found["d"]))
    except ValueError:  # 2026-13-01, 2026-02-30
        return None


class DateField(QLineEdit):
    """A date typed as it is shown (ISO ``yyyy-MM-dd``), or picked from a calendar popup.

    Qt's QDateEdit reads digits section by section: typing the displayed ``2026-08-01`` did
    nothing and ``20260801`` worked only from the year section. Here the field is plain text:
    the whole date is selected when the field is entered from the keyboard, so typing
    replaces it; it is read on leaving and shown back in the one format. Alt+Down (or F4, or
    the calendar icon) opens a calendar: arrows move, Enter picks, Esc closes.
    """

    dateChanged = Signal(QDate)

    def __init__(self, value: QDate, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._last = QDate()
        self.setPlaceholderText("yyyy-mm-dd")
        self.setToolTip("A date such as 2026-08-01 (or 20260801); Alt+Down opens a calendar")
        self.setMaxLength(10)
        self._popup = QCalendarWidget(self)
        self._popup.setWindowFlags(Qt.WindowType.Popup)
        self._popup.setObjectName("datePopup")
        self._popup.setGridVisible(True)
        self._popup.setVerticalHeaderFormat(
            QCalendarWidget.VerticalHeaderFormat.NoVerticalHeader  # no week numbers
        )
        self._popup.setMinimumWidth(320)  # room for the day names with the table's padding
        self._popup.activated.connect(self._picked)
        self._popup.installEventFilter(self)
        picker = self.addAction(
            self.style().standardIcon(QStyle.StandardPixmap.SP_ArrowDown),
            QLineEdit.ActionPosition.TrailingPosition,
        )
        picker.setToolTip("Pick from a calendar (Alt+Down)")
        picker.triggered.connect(self.show_calendar)
        self.textChanged.connect(self._text_changed)
        self.editingFinished.connect(self._normalise)
        self.setDate(value)

    def date(self) -> QDate:
        """The date typed, or an invalid QDate when the text is empty or not a date."""
        value = parse_date(self.text())
        return QDate() if value is None else QDate(value.year, value.month, value.day)

    def setDate(self, value: QDate) -> None:
        self.setText(value.toString(_DATE_FORMAT) if value.isValid() else "")

    def calendar(self) -> QCalendarWidget:
        return self._popup

    def show_calendar(self) -> None:
        current = self.date()
        self._popup.setSelectedDate(current if current.isValid() else QDate.currentDate())
        self._popup.adjustSize()
        below = self.mapToGlobal(self.rect().bottomLeft())
        self._popup.move(below)
        self._popup.show()
        self._popup.setFocus(Qt.FocusReason.PopupFocusReason)

    def _picked(self, value: QDate) -> None:
        self._popup.hide()
        self.setDate(value)
        self.setFocus(Qt.FocusReason.PopupFocusReason)
        self.selectAll()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            watched is self._popup
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Escape
        ):
            self._popup.hide()  # Esc closes the calendar, not the dialog
            self.setFocus(Qt.FocusReason.PopupFocusReason)
            return True
        return super().eventFilter(watched, event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        alt_down = (
            event.key() == Qt.Key.Key_Down and event.modifiers() & Qt.KeyboardModifier.AltModifier
        )
        if alt_down or event.key() == Qt.Key.Key_F4:
            self.show_calendar()
            return
        super().keyPressEvent(event)

    def focusInEvent(self, event: QFocusEvent) -> None:
        super().focusInEvent(event)
        if event.reason() != Qt.FocusReason.MouseFocusReason:
            QTimer.singleShot(0, self.selectAll)  # typing replaces the whole date

    def _text_changed(self, _text: str) -> None:
        value = self.date()
        if value != self._last:
            self._last = value
            self.dateChanged.emit(value)

    def _normalise(self) -> None:
        value = self.date()
        if value.isValid() and self.text() != value.toString(_DATE_FORMAT):
            self.setText(value.toString(_DATE_FORMAT))


class StatementDialog(QDialog):
    """Pick a period, a format and a file; ``exported(Path)`` once the file is written."""

    exported = Signal(Path)

    def __init__(
        self,
        account_id: str,
        load_ledger: Callable[[], Ledger],
        *,
        customer_id: str | None,
        default_directory: Path,
        jobs: BackgroundWork | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._jobs = jobs or BackgroundWork()
        self.setObjectName("statementDialog")
        self.setWindowTitle(f"Export statement — {account_id}")
        fit_title(self)
        self._account_id = account_id
        self._load_ledger = load_ledger
        self._customer_id = customer_id
        self._directory = default_directory
        self._cancel: threading.Event | None = None
        self._file_dialog: QFileDialog | None = None

        today = QDate.currentDate()
        self.from_edit = self._date_edit("statementFromEdit", QDate(today.year(), today.month(), 1))
        self.to_edit = self._date_edit("statementToEdit", today)
        self.format_combo = QComboBox()
        self.format_combo.setObjectName("statementFormatCombo")
        self.format_combo.addItems(list(FORMATS))
        self.path_edit = QLineEdit()
        self.path_edit.setObjectName("statementPathEdit")
        self.path_edit.setMinimumWidth(420)  # room for a folder and the suggested name
        self.browse_button = QPushButton("&Browse…")
        self.browse_button.setObjectName("statementBrowseButton")
        self.browse_button.setAutoDefault(False)  # Enter in the dialog exports, never browses
        self._auto_path = self._suggested_path()
        self.path_edit.setText(str(self._auto_path))
        self.error_label = QLabel()
        self.error_label.setObjectName("formError")
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.export_button = QPushButton("Export")
        self.export_button.setObjectName("statementExportButton")
        self.export_button.setDefault(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.addButton(self.export_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self._busy = Busy(self.export_button, self._still_working, self)
        self._lay_out(account_id)
        self._connect()
        self.from_edit.setFocus()

    def _lay_out(self, account_id: str) -> None:
        file_row = QHBoxLayout()
        file_row.addWidget(self.path_edit, 1)
        file_row.addWidget(self.browse_button)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        form.addRow("Account:", QLabel(account_id))
        form.addRow("&From:", self.from_edit)
        form.addRow("&To:", self.to_edit)
        form.addRow("F&ormat:", self.format_combo)
        file_label = QLabel("&File:")
        file_label.setBuddy(self.path_edit)  # a row of a layout gets no buddy by itself
        form.addRow(file_label, file_row)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)
        for before, after in (
            (self.from_edit, self.to_edit),
            (self.to_edit, self.format_combo),
            (self.format_combo, self.path_edit),
            (self.path_edit, self.browse_button),
            (self.browse_button, self.export_button),
        ):
            QWidget.setTabOrder(before, after)

    def _connect(self) -> None:
        self.buttons.accepted.connect(self.export)
        self.buttons.rejected.connect(self.reject)
        self.from_edit.dateChanged.connect(self._dates_changed)
        self.to_edit.dateChanged.connect(self._dates_changed)
        self.format_combo.currentTextChanged.connect(self._format_changed)
        self.browse_button.clicked.connect(self.browse)
        self.path_edit.textEdited.connect(lambda _: self.error_label.clear())

    @staticmethod
    def _date_edit(object_name: str, value: QDate) -> DateField:
        edit = DateField(value)
        edit.setObjectName(object_name)
        return edit

    # ── reading the form ──────────────────────────────────────────────────────────────────

    @property
    def in_flight(self) -> bool:
        return self._busy.in_flight

    def file_format(self) -> str:
        return self.format_combo.currentText()

    def period(self) -> tuple[datetime, datetime]:
        """The chosen period, ``[from 00:00, to + 1 day 00:00)`` in local time."""
        return period_bounds(_as_date(self.from_edit.date()), _as_date(self.to_edit.date()))

    def target_path(self) -> Path | None:
        """The file to write: a relative name lands in the default folder; the format's
        extension is added when the name has none."""
        text = self.path_edit.text().strip()
        if not text:
            return None
        path = Path(text).expanduser()
        if not path.is_absolute():
            path = self._directory / path
        if not path.suffix:
            path = path.with_suffix(_SUFFIXES[self.file_format()])
        return path

    def validate(self) -> tuple[str, QWidget] | None:
        """Why the form cannot be exported, and the field to fix; None if it can."""
        for edit, which in ((self.from_edit, "start"), (self.to_edit, "end")):
            text = edit.text().strip()
            if not text:
                return f"Enter the {which} date, e.g. 2026-08-01.", edit
            if not edit.date().isValid():
                return f"{text!r} is not a date: type it as 2026-08-01.", edit
        if self.from_edit.date() > self.to_edit.date():
            return "The start date must be on or before the end date.", self.from_edit
        path = self.target_path()
        if path is None:
            return "Choose a file to save the statement to.", self.path_edit
        if not path.parent.is_dir():
            return f"The folder {path.parent} does not exist.", self.path_edit
        if path.is_dir():
            return f"{path} is a folder; add a file name.", self.path_edit
        return None

    # ── keeping the path in step ──────────────────────────────────────────────────────────

    def _suggested_path(self) -> Path:
        today = QDate.currentDate()
        start, end = self.from_edit.date(), self.to_edit.date()
        first = _as_date(start if start.isValid() else today)
        last = _as_date(end if end.isValid() else today)
        return self._directory / default_file_name(
            self._account_id, first, last, self.file_format()
        )

    def _dates_changed(self) -> None:
        """Rename the suggested file with the dates, unless the clerk typed a name."""
        if self.path_edit.text() == str(self._auto_path):
            self._auto_path = self._suggested_path()
            self.path_edit.setText(str(self._auto_path))
        self.error_label.clear()

    def _format_changed(self, file_format: str) -> None:
        """Switch a ``.pdf``/``.csv`` extension to match; other names are the clerk's."""
        suffix = _SUFFIXES[file_format]
        self._auto_path = self._auto_path.with_suffix(suffix)
        text = self.path_edit.text().strip()
        if text and Path(text).suffix.lower() in _SUFFIXES.values():
            self.path_edit.setText(str(Path(text).with_suffix(suffix)))
        self.error_label.clear()

    def browse(self) -> None:
        """Pick the file in a save dialog opened with ``open()``: the window keeps running."""
        if self._file_dialog is not None and self._file_dialog.isVisible():
            self._file_dialog.raise_()
            return
        current = self.target_path() or self._directory
        dialog = QFileDialog(self, "Save statement as", str(current.parent))
        dialog.setObjectName("statementFileDialog")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setFileMode(QFileDialog.FileMode.AnyFile)
        dialog.setNameFilter(_FILTERS[self.file_format()])
        dialog.setDefaultSuffix(_SUFFIXES[self.file_format()].lstrip("."))
        dialog.selectFile(current.name)
        dialog.fileSelected.connect(self._file_chosen)
        self._file_dialog = dialog
        dialog.open()

    def _file_chosen(self, name: str) -> None:
        if name:
            self.path_edit.setText(name)
            self.error_label.clear()
        self.path_edit.setFocus()

    # ── exporting ─────────────────────────────────────────────────────────────────────────

    def accept(self) -> None:
        """Enter and the Export button both export; the dialog closes only once it worked."""
        self.export()

    def export(self) -> None:
        """Check the input, then write the statement on a worker thread."""
        if self._busy.in_flight:
            return  # a second Enter while the first export is running
        problem = self.validate()
        if problem is not None:
            message, field = problem
            self.show_error(message)
            field.setFocus()
            return
        path = self.target_path()
        assert path is not None  # validate() checked it
        start, end = self.period()
        job = _ExportJob(
            load_ledger=self._load_ledger,
            start=start,
            end=end,
            file_format=self.file_format(),
            path=path,
            customer_id=self._customer_id,
            cancel=threading.Event(),
        )
        self._cancel = job.cancel
        self.show_error("")
        self._busy.start(
            self._jobs.run(job, receiver=self, on_success=self._done, on_failure=self._failed)
        )

    def reject(self) -> None:
        """Esc or Cancel: close now. An export still reading the ledger is told not to write;
        one already writing finishes, but its result is ignored."""
        if self._cancel is not None:
            self._cancel.set()
            self._cancel = None
        self._busy.detach()  # its outcome is no longer this dialog's business
        super().reject()

    def show_error(self, message: str) -> None:
        self.error_label.setText(message)
        grow_to_fit(self)

    def _still_working(self) -> None:
        if not self.error_label.text():
            self.error_label.setText("Exporting… (large statements take a few seconds)")

    def _done(self, path: Any) -> None:
        self._cancel = None
        self._busy.finished()
        self.error_label.clear()
        self.exported.emit(path)
        super().accept()

    def _failed(self, exc: BaseException) -> None:
        self._cancel = None
        self._busy.finished()
        self.show_error(_describe(exc))


@dataclass(frozen=True, slots=True)
class _ExportJob:
    """What runs on the worker: read, fold, write. Holds plain values, never a widget."""

    load_ledger: Callable[[], Ledger]
    start: datetime
    end: datetime
    file_format: str
    path: Path
    customer_id: str | None
    cancel: threading.Event

    def __call__(self) -> Path:
        result = statement(self.load_ledger(), self.start, self.end)
        if self.cancel.is_set():
            raise ExportCancelledError("The export was cancelled; nothing was saved.")
        if self.file_format == "CSV":
            write_csv(result, self.path, customer_id=self.customer_id)
        else:
            write_pdf(result, self.path, customer_id=self.customer_id)
        return self.path


def _describe(exc: BaseException) -> str:
    """A sentence for the clerk: file problems name the file, the rest go through the seam."""
    if isinstance(exc, OSError):
        reason = exc.strerror or str(exc)
        where = f" ({exc.filename})" if exc.filename else ""
        return f"Could not save the statement: {reason}{where}. Nothing was written."
    return describe_error(exc)
