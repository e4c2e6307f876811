"""The end-of-day journal (Ctrl+J): a day's transactions, optionally one clerk's, with totals by
kind, counts and the sum of every balance at the start and end of the day, which reconcile;
saved as PDF or CSV.

The dialog only collects input and shows what a worker read: the journal is folded from the
store's whole history (:func:`~bank_desktop.application.journal.journal_from_store`, the same
as ``bank-desktop journal`` and ``GET /journal``) through the window's
:class:`~bank_desktop.gui.workers.BackgroundWork`, and files are written there too. Keys: the
day is focused (typed as shown, or Alt+Down for a calendar), Tab to the clerk, Enter shows;
Alt+P saves the PDF, Alt+V the CSV, next to the name in the File field; Esc closes.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any, Final

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from bank_desktop.application.journal import Journal
from bank_desktop.domain import format_money
from bank_desktop.gui.accounts_page import ID_COLUMN_CAP, fit_column, table
from bank_desktop.gui.forms.base import fit_title
from bank_desktop.gui.journal_files import (
    balance_rows,
    total_label,
    who,
    write_journal_csv,
    write_journal_pdf,
)
from bank_desktop.gui.messages import describe_error
from bank_desktop.gui.models.journal import (
    ACCOUNT,
    AMOUNT,
    CLERK,
    CUSTOMER,
    JournalLinesModel,
    JournalTotalsModel,
)
from bank_desktop.gui.statement_dialog import DateField
from bank_desktop.gui.workers import BackgroundWork, Job

ReadJournal = Callable[[date, str | None], Journal]
NameAccounts = Callable[[Iterable[str]], Mapping[str, str]]
LINE_SAMPLES: Final = (
    "23:59:59",
    "account-xxxxxxxxxxxx",
    "Customer Name",
    "Transfer out",
    "-$99,999.99",
    None,
    "clerk-00",
)
#: Texts measured per column to fit it: the longest few (measuring thousands costs).
_FIT_SAMPLE: Final = 20
TOTAL_SAMPLES: Final = ("Refused transfer debits", "99,999", "$99,999,999.99 held")
_UNSAFE_IN_NAME: Final = re.compile(r"[^A-Za-z0-9._-]+")


def default_file_name(day: date, clerk_id: str | None) -> str:
    """``journal-2026-11-03`` (``-clerk-7`` for one clerk's); the format adds its suffix."""
    clerk = f"-{_UNSAFE_IN_NAME.sub('_', clerk_id)}" if clerk_id else ""
    return f"journal-{day.isoformat()}{clerk}"


class JournalDialog(QDialog):
    """A day's journal: lines, totals, balance sums; ``saved(Path)`` once a file is written."""

    saved = Signal(Path)

    def __init__(
        self,
        read: ReadJournal,
        names: NameAccounts,
        *,
        default_directory: Path,
        jobs: BackgroundWork,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("journalDialog")
        self.setWindowTitle("End-of-day journal")
        fit_title(self)
        self.resize(1180, 680)
        self._read, self._names, self._jobs = read, names, jobs
        self._directory = default_directory
        self._asked = 0  #: which load is the latest (an older one's answer is dropped)
        self._loading: Job | None = None
        self._saving: Job | None = None
        self.journal: Journal | None = None
        self._shown_names: dict[str, str] = {}

        self.day_edit = DateField(QDate.currentDate())
        self.day_edit.setObjectName("journalDateEdit")
        self.clerk_edit = QLineEdit()
        self.clerk_edit.setObjectName("journalClerkEdit")
        self.clerk_edit.setPlaceholderText("all clerks")
        self.show_button = QPushButton("&Show")
        self.show_button.setObjectName("journalShowButton")
        self.show_button.setDefault(True)
        self.summary = QLabel("")
        self.summary.setObjectName("journalSummary")
        self.summary.setWordWrap(True)
        self.lines_model = JournalLinesModel(self)
        self.totals_model = JournalTotalsModel(self)
        self.lines_view = table("journalLines", self.lines_model, LINE_SAMPLES)
        self.totals_view = table("journalTotals", self.totals_model, TOTAL_SAMPLES)
        self.balances = QFormLayout()
        self.path_edit = QLineEdit(str(default_directory / default_file_name(date.today(), None)))
        self.path_edit.setObjectName("journalPathEdit")
        self.pdf_button = QPushButton("Save &PDF")
        self.pdf_button.setObjectName("journalPdfButton")
        self.csv_button = QPushButton("Save CS&V")
        self.csv_button.setObjectName("journalCsvButton")
        for button in (self.pdf_button, self.csv_button):
            button.setAutoDefault(False)  # Enter shows the journal, it never saves
            button.setEnabled(False)
        self.error_label = QLabel("")
        self.error_label.setObjectName("formError")
        self.error_label.setWordWrap(True)
        self._auto_path = self.path_edit.text()
        self._lay_out()
        self.show_button.clicked.connect(self.load)
        self.pdf_button.clicked.connect(lambda: self.save("PDF"))
        self.csv_button.clicked.connect(lambda: self.save("CSV"))
        self.day_edit.setFocus()

    def _lay_out(self) -> None:
        inputs = QHBoxLayout()
        day_label = QLabel("&Day:")
        day_label.setBuddy(self.day_edit)
        clerk_label = QLabel("C&lerk:")
        clerk_label.setBuddy(self.clerk_edit)
        for widget in (day_label, self.day_edit, clerk_label, self.clerk_edit, self.show_button):
            inputs.addWidget(widget)
        inputs.addStretch(1)
        side = QVBoxLayout()
        side.addWidget(QLabel("Totals by kind"))
        side.addWidget(self.totals_view, 1)
        side.addWidget(QLabel("Balances"))
        side.addLayout(self.balances)
        self.totals_view.setMinimumWidth(sum(self.totals_view.columnWidth(c) for c in range(3)) + 4)
        body = QHBoxLayout()
        body.addWidget(self.lines_view, 3)
        body.addLayout(side, 0)
        file_row = QHBoxLayout()
        file_label = QLabel("&File:")
        file_label.setBuddy(self.path_edit)
        for widget in (file_label, self.path_edit, self.pdf_button, self.csv_button):
            file_row.addWidget(widget)
        file_row.setStretch(1, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(inputs)
        layout.addWidget(self.summary)
        layout.addLayout(body, 1)
        layout.addLayout(file_row)
        layout.addWidget(self.error_label)
        layout.addWidget(buttons)
        order = (
            self.day_edit,
            self.clerk_edit,
            self.show_button,
            self.lines_view,
            self.totals_view,
            self.path_edit,
            self.pdf_button,
            self.csv_button,
        )
        for before, after in itertools.pairwise(order):
            QWidget.setTabOrder(before, after)

    # ── reading ───────────────────────────────────────────────────────────────────────────

    def accept(self) -> None:
        """Enter shows the journal of the day and clerk typed (the dialog stays open)."""
        self.load()

    def load(self) -> None:
        """Read the journal of the day (and clerk) typed, on a worker."""
        value = self.day_edit.date()
        if not value.isValid():
            text = self.day_edit.text().strip()
            self.show_error(
                f"{text!r} is not a date: type it as 2026-11-03." if text else "Enter a day.",
                self.day_edit,
            )
            return
        day = date(value.year(), value.month(), value.day())
        clerk = self.clerk_edit.text().strip() or None
        self._asked += 1
        asked, read = self._asked, self._read
        if self._loading is not None:
            self._loading.detach()  # superseded: its answer is not wanted
        self.show_error("")
        self.summary.setText(f"Reading the journal of {day.isoformat()}…")
        self._loading = self._jobs.run(
            lambda: read(day, clerk),
            receiver=self,
            on_success=lambda journal: self._loaded(asked, journal),
            on_failure=lambda exc: self._failed(asked, exc),
        )

    @property
    def loading(self) -> bool:
        return self._loading is not None

    def _loaded(self, asked: int, journal: Journal) -> None:
        if asked != self._asked:
            return
        self._loading = None
        self.journal = journal
        names = dict(self._names({line.account_id for line in journal.lines}))
        self._shown_names = names
        self.lines_model.set_journal(journal, names)
        self._fit_lines()
        self.totals_model.set_journal(journal)
        self._show_balances(journal)
        self.summary.setText(summary(journal))
        suggested = str(self._directory / default_file_name(journal.day, journal.clerk_id))
        if self.path_edit.text() == self._auto_path:
            self.path_edit.setText(suggested)
        self._auto_path = suggested
        for button in (self.pdf_button, self.csv_button):
            button.setEnabled(self._saving is None)

    def _fit_lines(self) -> None:
        """Widen the lines' columns for the longest values shown (money never elides)."""
        model, view = self.lines_model, self.lines_view
        for column in (ACCOUNT, CUSTOMER, AMOUNT, CLERK):
            texts = {str(model.index(row, column).data()) for row in range(model.rowCount())}
            longest = sorted(texts, key=len)[-_FIT_SAMPLE:]
            fit_column(view, column, longest, cap=0 if column == AMOUNT else ID_COLUMN_CAP)

    def _failed(self, asked: int, exc: BaseException) -> None:
        if asked != self._asked:
            return
        self._loading = None
        self.summary.setText("")
        self.show_error(describe_error(exc))

    def _show_balances(self, journal: Journal) -> None:
        while self.balances.rowCount():
            self.balances.removeRow(0)
        for label, value in balance_rows(journal):
            shown = QLabel(f"<b>{value}</b>")
            shown.setAlignment(Qt.AlignmentFlag.AlignRight)
            shown.setObjectName("journalReconciles" if label == "Reconciles" else "")
            self.balances.addRow(f"{label}:", shown)

    # ── saving ────────────────────────────────────────────────────────────────────────────

    def target(self, file_format: str) -> Path:
        """The file to write: the File field's name (in the default folder when relative)
        with the format's suffix."""
        path = Path(self.path_edit.text().strip()).expanduser()
        if not path.is_absolute():
            path = self._directory / path
        suffix = ".pdf" if file_format == "PDF" else ".csv"
        return path if path.suffix.lower() == suffix else path.with_name(path.name + suffix)

    def save(self, file_format: str) -> None:
        """Write the journal shown as PDF or CSV, on a worker."""
        journal = self.journal
        if journal is None or self._saving is not None:
            return
        if not self.path_edit.text().strip():
            self.show_error("Enter a file name to save the journal to.", self.path_edit)
            return
        path = self.target(file_format)
        if not path.parent.is_dir():
            self.show_error(f"The folder {path.parent} does not exist.", self.path_edit)
            return
        names = dict(self._shown_names)

        def write() -> Path:
            if file_format == "PDF":
                return write_journal_pdf(journal, path, names)
            return write_journal_csv(journal, path)

        self.show_error("")
        for button in (self.pdf_button, self.csv_button):
            button.setEnabled(False)
        self._saving = self._jobs.run(
            write, receiver=self, on_success=self._saved, on_failure=self._not_saved
        )

    def _saved(self, path: Any) -> None:
        self._saving = None
        for button in (self.pdf_button, self.csv_button):
            button.setEnabled(True)
        self.error_label.setText(f"Saved to {path}.")
        self.saved.emit(path)

    def _not_saved(self, exc: BaseException) -> None:
        self._saving = None
        for button in (self.pdf_button, self.csv_button):
            button.setEnabled(True)
        if isinstance(exc, OSError):
            where = f" ({exc.filename})" if exc.filename else ""
            self.show_error(f"Could not save the journal: {exc.strerror or exc}{where}.")
        else:
            self.show_error(describe_error(exc))

    @property
    def saving(self) -> bool:
        return self._saving is not None

    def show_error(self, message: str, field: QWidget | None = None) -> None:
        self.error_label.setText(message)
        if field is not None:
            field.setFocus(Qt.FocusReason.OtherFocusReason)

    def reject(self) -> None:
        """Esc or Close: a read or a save on its way goes on, unheard."""
        for job in (self._loading, self._saving):
            if job is not None:
                job.detach()
        super().reject()


def summary(journal: Journal) -> str:
    """``2026-11-03 (CET) · all clerks · 12 lines · reconciled``: the journal in one line."""
    moved = [
        f"{total_label(kind).lower()} {total.count:,}"
        for kind, total in journal.totals.items()
        if total.count
    ]
    state = (
        "reconciled"
        if journal.reconciles
        else "NOT RECONCILED: the balance sums do not add up with the lines"
    )
    skipped = (
        f" · {journal.skipped:,} stored event(s) this version cannot read left out"
        if journal.skipped
        else ""
    )
    return (
        f"{journal.day.isoformat()} ({journal.zone}) · {who(journal)} · "
        f"{len(journal.lines):,} lines{': ' if moved else ''}{', '.join(moved)} · "
        f"net {format_money(journal.net)} · {state}{skipped}"
    )
