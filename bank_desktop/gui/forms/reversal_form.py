"""Reversing a ledger line keyed by mistake: never an edit, never a delete.

The reversal is the opposite seed event with a link to the line it undoes, so every reader of
the store (the seed's own projection too) sees the right balance. Which lines can be reversed
(a deposit or a withdrawal, once; not a reversal, not a transfer leg; never into an
overdraft) is the rules' to decide: a refusal shows in the form with the reason kept.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from PySide6.QtWidgets import QWidget

from bank_desktop.application import BankService
from bank_desktop.application.projections import LedgerEntry
from bank_desktop.application.projections.why import describe
from bank_desktop.domain import format_money
from bank_desktop.gui.forms.base import Action, CommandForm, line_edit
from bank_desktop.gui.workers import BackgroundWork


class ReversalForm(CommandForm):
    """The line to reverse, the account's figures, and the reason; succeeds with the balance
    after the reversal."""

    def __init__(
        self,
        bank: BankService,
        entry: LedgerEntry,
        *,
        jobs: BackgroundWork,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            f"Reverse a line – {entry.account_id}", "Reverse", jobs=jobs, parent=parent
        )
        self.setObjectName("reversalForm")
        self._bank = bank
        self.entry = entry
        self.account_id = entry.account_id
        self.add_info("Line:", describe(entry)).setWordWrap(True)
        self.add_info("Event:", entry.event_id)
        self.add_balance("Balance:", None)
        self.reason = line_edit("reasonEdit", placeholder="Keyed 500 instead of 50")
        self.add_field("&Reason:", self.reason)

    def command(self) -> Action:
        bank, key, entry = self._bank, self.command_id, self.entry
        reason = self.reason.text()
        return lambda: bank.reverse(entry.account_id, entry.event_id, reason, command_id=key)

    def label(self) -> str:
        entry = self.entry
        return (
            f"Reversal of the {entry.kind.replace('_', ' ')} of {format_money(abs(entry.amount))}"
            f" of {entry.occurred_at.astimezone():%Y-%m-%d %H:%M} in {entry.account_id}"
        )

    def describe_result(self) -> Callable[[Any], str]:
        def describe_balance(balance: Decimal) -> str:
            return f"balance {format_money(balance)}"

        return describe_balance
