"""Why a ledger line is there: who, when, under which request, what it reverses or what
reversed it, and the transfer it belongs to.

Built from the ledger on screen (:func:`~bank_desktop.application.projections.why.explain`,
the same explanation ``bank-desktop why`` prints), so it opens at once. Read-only: Enter or
Esc closes it; every value can be selected and copied (a request id for a colleague).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from bank_desktop.application.projections.why import Explanation, describe
from bank_desktop.gui.forms.base import fit_title


def _moment(explanation: Explanation) -> str:
    moment = explanation.occurred_at.astimezone()
    return f"{moment:%Y-%m-%d %H:%M:%S %Z}"


def rows(explanation: Explanation) -> list[tuple[str, str]]:
    """The explanation as (label, value) rows, in the order a clerk asks."""
    entry = explanation.entry
    shown = [
        ("What:", describe(entry)),
        ("Who:", entry.clerk_id or "not recorded"),
        ("When:", _moment(explanation)),
        ("Request:", entry.request_id or "not recorded"),
    ]
    if entry.correlation_id and entry.correlation_id != entry.request_id:
        shown.append(("Part of:", entry.correlation_id))
    if entry.transfer_id:
        direction = "from" if entry.amount > 0 else "to"
        shown.append(
            ("Transfer:", f"{entry.transfer_id} ({direction} {entry.counterparty_account_id})")
        )
    if entry.reverses_event_id is not None:
        target = explanation.reverses
        what = describe(target) if target is not None else "a line not in this ledger"
        shown.append(("Reverses:", f"{what} ({entry.reverses_event_id})"))
    if explanation.reversed_by is not None:
        undone = explanation.reversed_by
        shown.append(("Reversed by:", f"{describe(undone)} ({undone.event_id})"))
    shown.append(
        (
            "Event:",
            f"{entry.event_id} (position {entry.stream_position} of {entry.account_id}, "
            f"{entry.global_position:,} in the store)",
        )
    )
    return shown


class WhyDialog(QDialog):
    """One ledger line explained; ``open()`` it, Enter or Esc closes it."""

    def __init__(self, explanation: Explanation, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("whyDialog")
        entry = explanation.entry
        self.setWindowTitle(f"Why – {entry.kind.replace('_', ' ')} in {entry.account_id}")
        fit_title(self)
        self.explanation = explanation
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self.values: dict[str, QLabel] = {}
        for label, value in rows(explanation):
            shown = QLabel(value)
            shown.setWordWrap(True)
            shown.setTextInteractionFlags(
                Qt.TextInteractionFlag.TextSelectableByMouse
                | Qt.TextInteractionFlag.TextSelectableByKeyboard
            )
            shown.setObjectName(f"why{label.rstrip(':').replace(' ', '')}")
            form.addRow(label, shown)
            self.values[label.rstrip(":")] = shown
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close = buttons.button(QDialogButtonBox.StandardButton.Close)
        close.setDefault(True)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        close.clicked.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)
        close.setFocus()

    def text(self) -> str:
        """Everything shown, one line per row (for tests and a clipboard)."""
        return "\n".join(f"{label}: {value.text()}" for label, value in self.values.items())
