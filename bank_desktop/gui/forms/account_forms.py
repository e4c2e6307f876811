"""The clerk's command forms: deposit, withdraw, transfer, close account (and, from its own
module, open account)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from PySide6.QtCore import QStringListModel, Qt
from PySide6.QtWidgets import QCompleter, QWidget

from bank_desktop.application import BankService
from bank_desktop.domain import format_money
from bank_desktop.gui.forms.base import Action, CommandForm, Problem, amount_edit, line_edit
from bank_desktop.gui.forms.open_account import OpenAccountForm
from bank_desktop.gui.workers import BackgroundWork

__all__ = ["CloseAccountForm", "MoneyForm", "OpenAccountForm", "TransferForm"]


class MoneyForm(CommandForm):
    """Deposit or withdrawal on one account; succeeds with the new balance."""

    def __init__(
        self,
        bank: BankService,
        account_id: str,
        *,
        withdraw: bool,
        balance: Decimal | None = None,
        jobs: BackgroundWork,
        parent: QWidget | None = None,
    ) -> None:
        verb = "Withdraw" if withdraw else "Deposit"
        super().__init__(f"{verb} – {account_id}", verb, jobs=jobs, parent=parent)
        self._bank = bank
        self._withdraw = withdraw
        self.account_id = self._account = account_id
        self.add_info("Account:", account_id)
        self.add_balance("Balance:", balance)
        self.amount = amount_edit("amountEdit", "Amount")
        self.description = line_edit(
            "descriptionEdit", placeholder="Cash withdrawal" if withdraw else "Paycheck"
        )
        self.add_field("&Amount:", self.amount, keys=("amount", "requested"))
        self.add_field("&Description:", self.description)

    def command(self) -> Action:
        run = self._bank.withdraw if self._withdraw else self._bank.deposit
        account, key = self._account, self.command_id
        amount, description = self.amount.amount(), self.description.text() or None
        return lambda: run(account, amount, description, command_id=key)

    def label(self) -> str:
        amount = format_money(self.amount.amount())
        if self._withdraw:
            return f"Withdrawal of {amount} from {self.account_id}"
        return f"Deposit of {amount} into {self.account_id}"

    def describe_result(self) -> Callable[[Any], str]:
        return lambda balance: f"balance {format_money(balance)}"


class TransferForm(CommandForm):
    """Source is the selected account (its balance shown, live); the target completes by
    account id or customer, with suggestions wide enough to read whole."""

    def __init__(
        self,
        bank: BankService,
        account_id: str,
        *,
        targets: Sequence[tuple[str, str]],
        balance: Decimal | None = None,
        customer: str | None = None,
        jobs: BackgroundWork,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(f"Transfer from {account_id}", "Transfer", jobs=jobs, parent=parent)
        self._bank = bank
        self.account_id = self._account = account_id
        self._customers = dict(targets)
        if customer is not None:
            self._customers[account_id] = customer
        self.add_info("From:", self._who(account_id))
        self.add_balance("Balance:", balance)
        self.target = line_edit("targetAccountEdit", placeholder="account id or customer")
        choices = [f"{acct}  ({cust})" for acct, cust in targets if acct != account_id]
        completer = QCompleter(QStringListModel(choices, self), self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setMaxVisibleItems(12)
        _fit_popup(completer, choices)
        self.target.setCompleter(completer)
        self.amount = amount_edit("amountEdit", "Amount")
        self.description = line_edit("descriptionEdit", placeholder="Rent share")
        self.add_field("&To account:", self.target, keys=("Target account", "targetAccountId"))
        self.add_field("&Amount:", self.amount, keys=("amount", "requested"))
        self.add_field("&Description:", self.description)

    def target_account(self) -> str:
        """The account id typed or picked ("account-x  (cust-1)" → "account-x")."""
        return self.target.text().strip().split("  (", 1)[0].strip()

    def validate(self) -> Problem | None:
        target = self.target_account()
        if not target:
            return "Target account is required.", self.target
        if target == self.account_id:
            return "Cannot transfer to the same account.", self.target
        return super().validate()

    def command(self) -> Action:
        bank, source, key = self._bank, self._account, self.command_id
        target, amount = self.target_account(), self.amount.amount()
        description = self.description.text() or None
        return lambda: bank.transfer(source, target, amount, description, command_id=key)

    def label(self) -> str:
        amount = format_money(self.amount.amount())
        source, target = self._who(self._account), self._who(self.target_account())
        return f"Transfer of {amount} from {source} to {target}"

    def _who(self, account_id: str) -> str:
        """``account-… (customer)``, or the bare id when the customer is not known."""
        customer = self._customers.get(account_id)
        return f"{account_id} ({customer})" if customer else account_id

    def describe_result(self) -> Callable[[Any], str]:
        return lambda transfer_id: f"transfer {transfer_id}"


def _fit_popup(completer: QCompleter, choices: Sequence[str]) -> None:
    """Make the suggestion list wide enough for the longest suggestions (by length: measuring
    every one of 100,000 accounts would stall the form's opening)."""
    popup = completer.popup()
    if popup is None:
        return
    longest = sorted(choices, key=len)[-20:]
    widest = max((popup.fontMetrics().horizontalAdvance(text) for text in longest), default=0)
    scrollbar = popup.verticalScrollBar().sizeHint().width()
    popup.setMinimumWidth(widest + scrollbar + 2 * popup.frameWidth() + 24)


class CloseAccountForm(CommandForm):
    """The confirmation itself: the clerk sees what is closed and confirms with Enter.

    An account closes only at a zero balance: while the (live) balance is not zero the form
    says what it is and what to do, and the Close button stays disabled.
    """

    def __init__(
        self,
        bank: BankService,
        account_id: str,
        *,
        balance: Decimal | None = None,
        jobs: BackgroundWork,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(f"Close {account_id}?", "Close account", jobs=jobs, parent=parent)
        self._bank = bank
        self.account_id = self._account = account_id
        self._balance = balance
        self.add_info("Account:", account_id)
        self.add_balance("Balance:", balance)
        self.warning = self.add_info("", "")
        self.warning.setObjectName("closeWarning")
        self.warning.setWordWrap(True)
        self.reason = line_edit("reasonEdit", placeholder="Customer request")
        self.add_field("&Reason:", self.reason)
        self._show_rule()

    def balance_changed(self, balance: Decimal, is_open: bool) -> None:
        super().balance_changed(balance, is_open)
        self._balance = balance
        self._show_rule()

    def _show_rule(self) -> None:
        balance = self._balance
        if balance is None or balance == 0:
            self.warning.setText("Closing is final.")
            self.submit_button.setEnabled(not self.in_flight)
        else:
            self.warning.setText(
                f"The balance is {format_money(balance)}: it must be $0.00 before the account "
                "can close. Withdraw or transfer it first."
            )
            self.submit_button.setEnabled(False)
        self.fit_to_contents()

    def validate(self) -> Problem | None:
        if self._balance is not None and self._balance != 0:
            return self.warning.text(), None
        return super().validate()

    def command(self) -> Action:
        bank, account, key = self._bank, self._account, self.command_id
        reason = self.reason.text() or None

        def close() -> str:
            bank.close_account(account, reason, command_id=key)
            return account

        return close

    def label(self) -> str:
        return f"Closing {self.account_id}"
