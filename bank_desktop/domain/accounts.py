"""The account decider: the seed's four commands and events, its rules, and their state.

``decide`` is pure: the time of every event arrives inside the command, amounts arrive as
exact Decimals already parsed by :func:`~bank_desktop.domain.money.parse_money`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import ClassVar, Literal, assert_never

from bank_desktop.domain.errors import (
    AccountNotFoundError,
    DomainError,
    IllegalStateError,
    UnreadableHistoryError,
    ValidationError,
)
from bank_desktop.domain.history import UnrecognizedEvent
from bank_desktop.domain.money import ZERO, format_money
from bank_desktop.domain.text import optional_text, required_text

AccountStatus = Literal["not_found", "open", "closed"]

# ── Commands (intent; can be refused) ─────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class OpenAccount:
    type: ClassVar[str] = "account.open"
    account_id: str
    customer_id: str
    initial_balance: Decimal
    at: datetime


@dataclass(frozen=True, slots=True)
class DepositMoney:
    type: ClassVar[str] = "money.deposit"
    account_id: str
    amount: Decimal
    description: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class WithdrawMoney:
    type: ClassVar[str] = "money.withdraw"
    account_id: str
    amount: Decimal
    description: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class CloseAccount:
    type: ClassVar[str] = "account.close"
    account_id: str
    reason: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class DebitForTransfer:
    """The debit leg of a transfer.

    Unlike a clerk's withdrawal, a refusal here is recorded (``WithdrawalRefused``) instead of
    raised: the record consumes the leg's command id in the account stream, so a second
    driver of the same transfer (a recovering process) can never debit it after the refusal.
    """

    type: ClassVar[str] = "transfer.debit"
    account_id: str
    transfer_id: str
    to_account_id: str
    amount: Decimal
    description: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class CreditForTransfer:
    """The credit leg of a transfer; refused only for a missing or closed account (permanent)."""

    type: ClassVar[str] = "transfer.credit"
    account_id: str
    transfer_id: str
    from_account_id: str
    amount: Decimal
    description: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class RefundTransfer:
    """Pays a debited transfer back to its source when the credit side refused it.

    A compensating entry: it lands even on an account closed in the meantime, because the
    alternative is money that vanishes with the failed transfer.
    """

    type: ClassVar[str] = "transfer.refund"
    account_id: str
    transfer_id: str
    to_account_id: str
    amount: Decimal
    reason: str
    at: datetime


#: Commands that may be held for a supervisor's approval and run later by ExecuteApproved.
ApprovableCommand = WithdrawMoney


@dataclass(frozen=True, slots=True)
class ExecuteApproved:
    """Run a command a supervisor approved; a refusal is recorded, not raised.

    Like a transfer's debit leg: the record (``ApprovedCommandRefused``) consumes the
    execution's command id in the account's stream, so a second driver of the same approval
    (a recovering process) can never carry it out after the first found it refused, even if
    the balance has changed in between.
    """

    type: ClassVar[str] = "approval.execute"
    approval_id: str
    command: ApprovableCommand


AccountCommand = (
    OpenAccount
    | DepositMoney
    | WithdrawMoney
    | CloseAccount
    | DebitForTransfer
    | CreditForTransfer
    | RefundTransfer
    | ExecuteApproved
)

# ── Events (facts; immutable, past tense) ─────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class AccountOpened:
    type: ClassVar[str] = "account.opened"
    account_id: str
    customer_id: str
    initial_balance: Decimal
    opened_at: datetime


@dataclass(frozen=True, slots=True)
class MoneyDeposited:
    type: ClassVar[str] = "money.deposited"
    account_id: str
    amount: Decimal
    description: str | None
    deposited_at: datetime
    transfer_id: str | None = None
    counterparty_account_id: str | None = None
    reversal: bool = False


@dataclass(frozen=True, slots=True)
class MoneyWithdrawn:
    type: ClassVar[str] = "money.withdrawn"
    account_id: str
    amount: Decimal
    description: str | None
    withdrawn_at: datetime
    transfer_id: str | None = None
    counterparty_account_id: str | None = None


@dataclass(frozen=True, slots=True)
class WithdrawalRefused:
    """A transfer's debit leg was refused; the balance is unchanged."""

    type: ClassVar[str] = "money.withdrawal_refused"
    account_id: str
    amount: Decimal
    reason: str
    refused_at: datetime
    transfer_id: str
    counterparty_account_id: str


@dataclass(frozen=True, slots=True)
class AccountClosed:
    type: ClassVar[str] = "account.closed"
    account_id: str
    reason: str | None
    closed_at: datetime


@dataclass(frozen=True, slots=True)
class ApprovedCommandRefused:
    """An approved request was refused when it ran (the rules are checked again then);
    nothing changed on the account."""

    type: ClassVar[str] = "approval.execution_refused"
    account_id: str
    approval_id: str
    action: str  #: the refused command's type, e.g. ``money.withdraw``
    amount: Decimal
    reason: str
    refused_at: datetime


AccountEvent = (
    AccountOpened
    | MoneyDeposited
    | MoneyWithdrawn
    | WithdrawalRefused
    | AccountClosed
    | ApprovedCommandRefused
)
#: What ``evolve`` folds: the events above, and any stored event this version does not know.
AccountHistoryEvent = AccountEvent | UnrecognizedEvent
ACCOUNT_EVENT_TYPES: tuple[str, ...] = (
    AccountOpened.type,
    MoneyDeposited.type,
    MoneyWithdrawn.type,
    WithdrawalRefused.type,
    AccountClosed.type,
    ApprovedCommandRefused.type,
)

# ── State ─────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class AccountState:
    """What the rules need to know about one account, folded from its stream."""

    account_id: str | None = None
    customer_id: str | None = None
    balance: Decimal = ZERO
    status: AccountStatus = "not_found"
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    last_activity_at: datetime | None = None
    #: The first event of the stream this version does not understand (None: all of it).
    unrecognized: str | None = None

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    @property
    def exists(self) -> bool:
        return self.status != "not_found"


def initial_state() -> AccountState:
    return AccountState()


# ── decide ────────────────────────────────────────────────────────────────────────────────


def decide(command: AccountCommand, state: AccountState) -> list[AccountEvent]:
    match command:
        case OpenAccount():
            return [_open(command, state)]
        case DepositMoney():
            return [_deposit(command, state)]
        case WithdrawMoney():
            return [_withdraw(command, state)]
        case CloseAccount():
            return [_close(command, state)]
        case DebitForTransfer():
            return [_debit_for_transfer(command, state)]
        case CreditForTransfer():
            return [_credit_for_transfer(command, state)]
        case RefundTransfer():
            return [_refund(command, state)]
        case ExecuteApproved():
            return _execute_approved(command, state)
        case _:
            assert_never(command)


def _execute_approved(command: ExecuteApproved, state: AccountState) -> list[AccountEvent]:
    held = command.command
    if not state.exists:  # nothing to fence in a stream that does not exist
        raise AccountNotFoundError(held.account_id, "carry out an approved request")
    _require_readable(state, held.account_id)  # not known to be refused: leave it for later
    try:
        return decide(held, state)
    except DomainError as refusal:
        return [
            ApprovedCommandRefused(
                account_id=held.account_id,
                approval_id=command.approval_id,
                action=held.type,
                amount=held.amount,
                reason=refusal.message,
                refused_at=held.at,
            )
        ]


def _open(command: OpenAccount, state: AccountState) -> AccountOpened:
    _require_readable(state, command.account_id)
    if state.exists:
        raise IllegalStateError(
            f"Account {command.account_id} already exists.",
            {"accountId": command.account_id},
            state=state.status,
            action="open account",
        )
    customer_id = required_text(command.customer_id, "Customer id", max_length=64)
    if command.initial_balance < 0:
        raise ValidationError(
            "Initial balance must be non-negative.",
            {"initialBalance": str(command.initial_balance)},
        )
    return AccountOpened(
        account_id=command.account_id,
        customer_id=customer_id,
        initial_balance=command.initial_balance,
        opened_at=command.at,
    )


def _deposit(command: DepositMoney, state: AccountState) -> MoneyDeposited:
    _require_open(state, command.account_id, "deposit money")
    _require_positive(command.amount, "Deposit amount")
    return MoneyDeposited(
        account_id=command.account_id,
        amount=command.amount,
        description=optional_text(command.description, "Description", max_length=200),
        deposited_at=command.at,
    )


def _withdraw(command: WithdrawMoney, state: AccountState) -> MoneyWithdrawn:
    _require_funds(state, command.account_id, command.amount, "withdraw money")
    return MoneyWithdrawn(
        account_id=command.account_id,
        amount=command.amount,
        description=optional_text(command.description, "Description", max_length=200),
        withdrawn_at=command.at,
    )


def _debit_for_transfer(
    command: DebitForTransfer, state: AccountState
) -> MoneyWithdrawn | WithdrawalRefused:
    if not state.exists:  # nothing to fence in a stream that does not exist
        raise AccountNotFoundError(command.account_id, "transfer money")
    try:
        _require_funds(state, command.account_id, command.amount, "transfer money")
    except DomainError as refusal:
        return WithdrawalRefused(
            account_id=command.account_id,
            amount=command.amount,
            reason=refusal.message,
            refused_at=command.at,
            transfer_id=command.transfer_id,
            counterparty_account_id=command.to_account_id,
        )
    return MoneyWithdrawn(
        account_id=command.account_id,
        amount=command.amount,
        description=optional_text(command.description, "Description", max_length=200),
        withdrawn_at=command.at,
        transfer_id=command.transfer_id,
        counterparty_account_id=command.to_account_id,
    )


def _credit_for_transfer(command: CreditForTransfer, state: AccountState) -> MoneyDeposited:
    _require_open(state, command.account_id, "receive a transfer")
    _require_positive(command.amount, "Transfer amount")
    return MoneyDeposited(
        account_id=command.account_id,
        amount=command.amount,
        description=optional_text(command.description, "Description", max_length=200),
        deposited_at=command.at,
        transfer_id=command.transfer_id,
        counterparty_account_id=command.from_account_id,
    )


def _refund(command: RefundTransfer, state: AccountState) -> MoneyDeposited:
    # A compensation: it only gives back what the transfer took, so neither a closed account
    # nor history this version cannot read may hold it up (the money would vanish).
    if not state.exists:
        raise AccountNotFoundError(command.account_id, "refund a transfer")
    _require_positive(command.amount, "Refund amount")
    return MoneyDeposited(
        account_id=command.account_id,
        amount=command.amount,
        description=f"Reversal: transfer to {command.to_account_id} failed",
        deposited_at=command.at,
        transfer_id=command.transfer_id,
        counterparty_account_id=command.to_account_id,
        reversal=True,
    )


def _close(command: CloseAccount, state: AccountState) -> AccountClosed:
    _require_open(state, command.account_id, "close account")
    if state.balance != 0:
        raise ValidationError(
            f"Cannot close account with non-zero balance: {format_money(state.balance)}",
            {"balance": str(state.balance)},
        )
    return AccountClosed(
        account_id=command.account_id,
        reason=optional_text(command.reason, "Reason", max_length=200),
        closed_at=command.at,
    )


def _require_positive(amount: Decimal, what: str) -> None:
    if amount <= 0:
        raise ValidationError(f"{what} must be positive.", {"amount": str(amount)})


def _require_funds(state: AccountState, account_id: str, amount: Decimal, action: str) -> None:
    _require_open(state, account_id, action)
    _require_positive(amount, "Withdrawal amount")
    if state.balance < amount:
        raise ValidationError(
            f"Insufficient funds. Balance: {format_money(state.balance)}, "
            f"Requested: {format_money(amount)}",
            {"balance": str(state.balance), "requested": str(amount)},
        )


def _require_readable(state: AccountState, account_id: str) -> None:
    if state.unrecognized is not None:
        raise UnreadableHistoryError(account_id, "Account", state.unrecognized)


def _require_open(state: AccountState, account_id: str, action: str) -> None:
    _require_readable(state, account_id)
    if state.status == "open":
        return
    if state.status == "not_found":
        raise AccountNotFoundError(account_id, action)
    raise IllegalStateError(
        f"Account {account_id} is closed.", {"accountId": account_id}, state="closed", action=action
    )


# ── evolve ────────────────────────────────────────────────────────────────────────────────


def evolve(state: AccountState, event: AccountHistoryEvent) -> AccountState:
    # Explicit constructors rather than dataclasses.replace: this runs for every event of a
    # stream when it is first loaded, and replace() costs several times more.
    match event:
        case AccountOpened():
            return AccountState(
                event.account_id,
                event.customer_id,
                event.initial_balance,
                "open",
                event.opened_at,
                None,
                event.opened_at,
                state.unrecognized,
            )
        case MoneyDeposited():
            return AccountState(
                state.account_id,
                state.customer_id,
                state.balance + event.amount,
                state.status,
                state.opened_at,
                state.closed_at,
                event.deposited_at,
                state.unrecognized,
            )
        case MoneyWithdrawn():
            return AccountState(
                state.account_id,
                state.customer_id,
                state.balance - event.amount,
                state.status,
                state.opened_at,
                state.closed_at,
                event.withdrawn_at,
                state.unrecognized,
            )
        case WithdrawalRefused() | ApprovedCommandRefused():
            return state
        case AccountClosed():
            return AccountState(
                state.account_id,
                state.customer_id,
                state.balance,
                "closed",
                state.opened_at,
                event.closed_at,
                event.closed_at,
                state.unrecognized,
            )
        case UnrecognizedEvent():
            if state.unrecognized is not None:
                return state  # the first one is what the clerk is told about
            return AccountState(
                state.account_id,
                state.customer_id,
                state.balance,
                state.status,
                state.opened_at,
                state.closed_at,
                state.last_activity_at,
                event.describe(),
            )
        case _:
            assert_never(event)
