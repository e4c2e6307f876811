"""Help, Verify history: the store's history verified on a worker, with progress and a report,
and the status bar's warning while the last verification found problems.

The work is ``bank_desktop.auditing.run_verification``, exactly what ``bank-desktop verify``
runs; it goes through the window's ``BackgroundWork``, owned by the window, so the outcome
updates the status bar even when the clerk closed the dialog meanwhile. Progress comes from
the worker through a signal of an object that lives as long as the window.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from bank_desktop.application.verification import VerificationReport
from bank_desktop.auditing import LastVerification, last_verification, run_verification
from bank_desktop.gui.messages import describe_error
from bank_desktop.gui.workers import BackgroundWork

#: The status bar's warning while the last verification of the store found problems.
WARNING_OBJECT: Final = "verificationStatus"


class ProgressRelay(QObject):
    """Carries progress from the worker to the GUI thread (queued, as it lives there)."""

    changed = Signal(int, int)

    def report(self, done: int, total: int) -> None:
        self.changed.emit(done, total)


class VerifyHistoryDialog(QDialog):
    """Progress while the history is verified, then the report; Esc closes it (the work goes
    on, and the status bar shows its outcome)."""

    def __init__(self, store_shown: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("verifyHistoryDialog")
        self.setWindowTitle("Verify history")
        self.resize(760, 460)
        self.status = QLabel(f"Verifying the history of {store_shown}…")
        self.status.setObjectName("verifyStatus")
        self.status.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setObjectName("verifyProgress")
        self.progress.setRange(0, 0)  # busy until the first page tells the total
        self.report = QPlainTextEdit()
        self.report.setObjectName("verifyReport")
        self.report.setReadOnly(True)
        self.report.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.report.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.report.setPlaceholderText("The report appears here when verification ends.")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.progress)
        layout.addWidget(self.report, 1)
        layout.addWidget(buttons)
        self.done_report: VerificationReport | None = None

    def set_progress(self, done: int, total: int) -> None:
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
            self.progress.setFormat(f"%p%  ({done:,} of {total:,} events)")

    def show_report(self, report: VerificationReport) -> None:
        self.done_report = report
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        self.progress.setFormat("done")
        self.status.setText(
            "No problems found."
            if report.ok
            else f"{report.problems:,} problem(s) found: the history or the read model is not "
            "what it should be. Give this report to whoever audits the store."
        )
        self.status.setProperty("problems", not report.ok)
        lines = [str(f) for f in sorted(report.findings, key=lambda f: not f.problem)]
        self.report.setPlainText("\n".join([*report.summary(), "", *lines]).rstrip())
        self.report.setFocus(Qt.FocusReason.OtherFocusReason)

    def show_failure(self, error: BaseException) -> None:
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("not verified")
        self.status.setText(f"The history could not be verified: {describe_error(error)}")


class Verification(QObject):
    """The window's part: starts verifications, shows them, keeps the status bar's warning."""

    finished = Signal(object)  #: VerificationReport
    failed = Signal(object)  #: the exception, when the store could not be verified at all

    def __init__(
        self,
        jobs: BackgroundWork,
        warning: QLabel,
        *,
        url: str,
        shown: str,
        data_dir: Path,
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self._jobs = jobs
        self._warning = warning
        self._url = url
        self._shown = shown
        self._data_dir = data_dir
        self._window = parent
        self._relay = ProgressRelay(self)
        self.running = False
        warning.setObjectName(WARNING_OBJECT)
        warning.hide()

    def load_last(self, store_url: str) -> None:
        """Show the warning if the last verification of ``store_url`` found problems."""
        self.show_last(last_verification(self._data_dir, store_url))

    def show_last(self, last: LastVerification | None) -> None:
        if last is None or last.ok:
            self._warning.hide()
            return
        self._warning.setText(
            f"⚠ The last verification ({last.when}) found {last.problems:,} problem(s)"
        )
        self._warning.setToolTip(
            "\n".join([*last.summary, "Help › Verify history to run it again."])
        )
        self._warning.show()

    def start(self) -> VerifyHistoryDialog:
        """Open the dialog and verify on a worker (a second start while one runs only opens a
        dialog that waits for the same outcome)."""
        dialog = VerifyHistoryDialog(self._shown, self._window)
        self._relay.changed.connect(dialog.set_progress)
        self.finished.connect(dialog.show_report)
        self.failed.connect(dialog.show_failure)
        if not self.running:
            self.running = True
            url, data_dir, relay = self._url, self._data_dir, self._relay
            self._jobs.run(
                lambda: run_verification(url, data_dir, progress=relay.report),
                receiver=self,
                on_success=self._verified,
                on_failure=self._failed,
            )
        return dialog

    def _verified(self, report: VerificationReport) -> None:
        self.running = False
        self.show_last(
            LastVerification(
                report.store, report.finished_at.isoformat(), report.problems, report.summary()
            )
        )
        self.finished.emit(report)

    def _failed(self, error: BaseException) -> None:
        self.running = False
        self.failed.emit(error)
