"""What every command form shares: keyboard flow, inline validation, one posting per request.

Focus starts in the first field and Tab follows the fields in order; Enter submits (the submit
button is the dialog's default), Esc cancels. The command id is fixed when the form opens, so
a double Enter, a retry after an error, or a retry after a lost answer never posts twice. While
the command is in flight the submit button is disabled; a refusal shows in ``formError`` and
keeps what the clerk typed.

Errors: one at a time. A field's own hint (an amount checked as typed) shows under it; a
refusal, or a check made on Enter, shows in ``formError`` instead (the field hints step back),
with focus on the field to fix and its text selected; editing any field clears it, so a
corrected input never sits under a stale refusal. The dialog grows to fit the message rather
than squash its fields.

Commands run through the window's :class:`BackgroundWork`. Esc while a command is on its way
closes the form but not the command: the form detaches from it, and the window announces the
outcome (what was asked, and saved or not) where the clerk sees it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QFocusEvent, QFontMetrics
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from bank_desktop.application.ids import new_command_id
from bank_desktop.application.projections import AccountBalance
from bank_desktop.domain import (
    ApprovalRequired,
    DomainError,
    ValidationError,
    format_money,
    parse_money,
)
from bank_desktop.gui.forms.busy import Busy
from bank_desktop.gui.messages import describe_error
from bank_desktop.gui.models.accounts import available_now
from bank_desktop.gui.workers import BackgroundWork


class AmountEdit(QLineEdit):
    """A money field checked as the clerk types (``1,234.56`` is fine, ``0.001`` is not)."""

    def __init__(
        self, field: str, *, allow_zero: bool = False, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._field = field
        self._allow_zero = allow_zero
        self.setPlaceholderText("0.00")
        self.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.problem = QLabel(self)
        self.problem.setObjectName(f"{field.replace(' ', '')}Problem")
        self.problem.setWordWrap(True)
        self.problem.setVisible(False)
        self._hint_suppressed = False
        self.textChanged.connect(self._check)

    def amount(self) -> Decimal:
        """The parsed amount; raises ValidationError with the clerk-facing reason."""
        value = parse_money(self.text(), field=self._field)
        if value < 0 or (value == 0 and not self._allow_zero):
            rule = "must not be negative" if self._allow_zero else "must be positive"
            raise ValidationError(f"{self._field} {rule}.", {"field": self._field})
        return value

    def error(self) -> str | None:
        try:
            self.amount()
        except DomainError as exc:
            return exc.message
        return None

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        self._tidy()

    def _tidy(self) -> None:
        """On leaving the field, show a valid amount as it will be read: ``1,250.50`` for
        ``1250.5``. An invalid one stays as typed, so the clerk sees what to fix; Enter
        (which does not leave it) keeps the text exactly as typed."""
        try:
            value = self.amount()
        except DomainError:
            return
        tidy = f"{value:,.2f}"
        if tidy != self.text():
            self.setText(tidy)

    def suppress_hint(self, suppressed: bool) -> None:
        """Hide the hint while the form's own error speaks (never two messages at once)."""
        self._hint_suppressed = suppressed
        self._check()

    def _check(self) -> None:
        problem = self.error() if self.text().strip() else None
        self.setProperty("invalid", problem is not None)
        self.style().unpolish(self)
        self.style().polish(self)
        self.problem.setText(problem or "")
        self.problem.setVisible(problem is not None and not self._hint_suppressed)
        self.setToolTip(problem or "")


class CommandForm(QDialog):
    """A dialog that runs one command off the GUI thread; subclasses add fields and ``command``."""

    succeeded = Signal(object)

    def __init__(
        self, title: str, submit_text: str, *, jobs: BackgroundWork, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        fit_title(self)
        self.command_id = new_command_id()
        self._jobs = jobs
        self._field_keys: dict[str, QWidget] = {}
        self.account_id: str | None = None  #: the account the command acts on, if one
        self.balance_label: QLabel | None = None
        self.available_label: QLabel | None = None
        self._fields: list[QWidget] = []
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self.error_label = QLabel()
        self.error_label.setObjectName("formError")
        self.error_label.setVisible(False)
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.submit_button = QPushButton(submit_text)
        self.submit_button.setDefault(True)
        self.submit_button.setAutoDefault(True)
        self.buttons.addButton(self.submit_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)
        self._busy = Busy(self.submit_button, self._still_waiting, self)

    # ── building ──────────────────────────────────────────────────────────────────────────

    def add_field(self, label: str, widget: QWidget, *, keys: Sequence[str] = ()) -> None:
        """Add a row; Tab follows the order rows were added in. ``keys`` name the field in a
        refusal's details (``{"requested": …}``, ``{"field": "Amount"}``), so a refusal can
        put the focus on the field to fix."""
        self.form.addRow(label, widget)
        if isinstance(widget, AmountEdit):
            self.form.addRow("", widget.problem)
            widget.problem.installEventFilter(self)  # a hint shown or hidden: make room
        if isinstance(widget, QLineEdit):
            widget.textEdited.connect(self._edited)
        if self._fields:
            QWidget.setTabOrder(self._fields[-1], widget)
        self._fields.append(widget)
        name = label.replace("&", "").rstrip(":").strip()
        for key in (name, *keys):
            self._field_keys[_key(key)] = widget

    def add_info(self, label: str, text: str) -> QLabel:
        """A read-only row; without a label it spans the form's width (a note)."""
        info = QLabel(text)
        info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        if label:
            self.form.addRow(label, info)
        else:
            self.form.addRow(info)
        return info

    def add_balance(self, label: str, balance: Decimal | None) -> None:
        """Rows with the account's balance and its available balance (the balance less active
        holds, what a debit may take); the window keeps them current (:meth:`show_row`)."""
        self.balance_label = self.add_info(label, "" if balance is None else format_money(balance))
        self.balance_label.setObjectName("balanceInfo")
        self.available_label = self.add_info("Available:", "")
        self.available_label.setObjectName("availableInfo")

    def balance_changed(self, balance: Decimal, is_open: bool) -> None:
        """The projection moved this form's account (any desk): show the figure it shows now."""
        if self.balance_label is not None:
            self.balance_label.setText(format_money(balance))

    def show_row(self, row: AccountBalance) -> None:
        """The account's row as the projection has it now (when the form opens, and on every
        change from any desk). A row whose history is not fully read shows no figures: they
        would ignore part of it (the table says "unknown" too)."""
        if row.unrecognized is not None:
            for label in (self.balance_label, self.available_label):
                if label is not None:
                    label.setText("unknown")
            return
        self.balance_changed(row.balance, row.is_open)
        if self.available_label is not None:
            self.available_label.setText(format_money(available_now(row)))

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if self._fields:
            QTimer.singleShot(0, self._fields[0].setFocus)

    # ── submitting ────────────────────────────────────────────────────────────────────────

    def validate(self) -> Problem | None:
        """Why the input cannot be sent and the field to fix, or None; checked before sending."""
        for widget in self._fields:
            if isinstance(widget, AmountEdit):
                problem = widget.error()
                if problem:
                    return problem, widget
        return None

    def command(self) -> Action:
        """Read the fields (here, on the GUI thread) and return the work to run on a worker.

        The returned callable must not touch widgets: Qt widgets are not thread-safe, so every
        value it needs is captured now.
        """
        raise NotImplementedError

    def label(self) -> str:
        """What the clerk asked for, read from the fields now ("Deposit of $5.00 into …")."""
        raise NotImplementedError

    def describe_result(self) -> Callable[[Any], str]:
        """A function that puts the command's result in words ("balance $15.00"); it may run
        after the form is gone, so it captures values, never widgets."""
        return lambda _result: ""

    def accept(self) -> None:
        self.submit()

    def submit(self) -> None:
        if self._busy.in_flight:
            return  # a second Enter while the first is still on its way
        problem = self.validate()
        if problem:
            self.show_error(*problem)
            return
        try:
            work = self.command()
            label = self.label()
        except DomainError as exc:
            self.show_error(exc.message, self.field_for(exc))
            return
        self.show_error("")
        job = self._jobs.run(
            work,
            receiver=self,
            on_success=self._done,
            on_failure=self._failed,
            label=label,
            describe=self.describe_result(),
        )
        self._busy.start(job)

    @property
    def in_flight(self) -> bool:
        return self._busy.in_flight

    def reject(self) -> None:
        """Esc or Cancel closes the form; a command already sent is not taken back: the window
        announces its outcome."""
        self._busy.detach()
        super().reject()

    def _still_waiting(self) -> None:
        self.show_error(
            "Still waiting for the store… nothing is lost. The result shows here; after "
            "Esc the window tells you."
        )

    def _done(self, result: Any) -> None:
        self._busy.finished(enable=False)
        self.succeeded.emit(result)
        super().accept()

    def _failed(self, exc: BaseException) -> None:
        if isinstance(exc, ApprovalRequired):
            # Not a refusal: the request is recorded and waits for a supervisor. Nothing is
            # left to do here; the window says "Sent for approval (#…)" and, later, how the
            # supervisor decided.
            self._busy.finished(enable=False)
            QDialog.accept(self)
            return
        self._busy.finished()
        self.show_error(describe_error(exc), self.field_for(exc))

    # ── errors ────────────────────────────────────────────────────────────────────────────

    def field_for(self, exc: BaseException) -> QWidget | None:
        """The field a refusal is about, from its details; None when it names none."""
        if not isinstance(exc, DomainError):
            return None
        names = [*exc.details, str(exc.details.get("field", ""))]
        for name in names:
            widget = self._field_keys.get(_key(name))
            if widget is not None:
                return widget
        return None

    def show_error(self, message: str, field: QWidget | None = None) -> None:
        """Show ``message`` as the form's one error (empty: none), focus ``field`` with its text
        selected, and make room for the message."""
        self.error_label.setText(message)
        self.error_label.setVisible(bool(message))
        for widget in self._fields:
            if isinstance(widget, AmountEdit):
                widget.suppress_hint(bool(message))
        if field is not None:
            field.setFocus(Qt.FocusReason.OtherFocusReason)
            if isinstance(field, QLineEdit):
                field.selectAll()
        self.fit_to_contents()

    def _edited(self, _text: str) -> None:
        """The clerk changed a field: an error about the old input no longer applies."""
        if self.error_label.text() and not self._busy.in_flight:
            self.show_error("")

    def fit_to_contents(self) -> None:
        grow_to_fit(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.Show, QEvent.Type.Hide):
            QTimer.singleShot(0, self.fit_to_contents)
        return super().eventFilter(watched, event)


#: Room a window manager's title bar takes beside the title: the icon and three buttons.
TITLE_BAR_EXTRAS = 120
FORM_MIN_WIDTH = 420


def fit_title(dialog: QWidget) -> None:
    """Make ``dialog`` at least wide enough for its whole title (measured in bold, as title
    bars often draw it): narrow dialogs had their titles, and the account in them, elided."""
    font = dialog.font()
    font.setBold(True)
    title = QFontMetrics(font).horizontalAdvance(dialog.windowTitle())
    dialog.setMinimumWidth(max(FORM_MIN_WIDTH, title + TITLE_BAR_EXTRAS))


def grow_to_fit(dialog: QWidget) -> None:
    """Grow ``dialog`` to the height its layout needs at its width.

    A top-level window does not follow a word-wrapped label's height by itself: a message
    that wraps onto more lines squashed the fields above it instead of growing the dialog.
    """
    layout = dialog.layout()
    if layout is None:
        return
    layout.activate()
    needed = (
        layout.totalHeightForWidth(dialog.width())
        if layout.hasHeightForWidth()
        else layout.totalSizeHint().height()
    )
    if needed > dialog.height():
        dialog.resize(dialog.width(), needed)


def _key(name: str) -> str:
    return "".join(name.split()).casefold()


Problem = tuple[str, QWidget | None]


def line_edit(object_name: str, *, placeholder: str = "") -> QLineEdit:
    edit = QLineEdit()
    edit.setObjectName(object_name)
    edit.setPlaceholderText(placeholder)
    return edit


def amount_edit(object_name: str, field: str, *, allow_zero: bool = False) -> AmountEdit:
    edit = AmountEdit(field, allow_zero=allow_zero)
    edit.setObjectName(object_name)
    return edit


Action = Callable[[], Any]
