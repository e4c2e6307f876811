"""The account decider: the seed's four commands and events, its rules, and their state.

``decide`` is pure: the time of every event arrives inside the command, amounts arrive as
exact Decimals already parsed by :func:`~bank_desktop.domain.money.parse_money`.

Beyond the seed (all additive, so a service that knows only the seed's four events still
computes the same balances): transfer legs, reversals (the opposite seed event carrying
``reverses_event_id``), and holds (``hold.placed`` / ``hold.released``, which move no money
but lower the available balance that withdrawals, transfers out and deposit reversals check).
"""

from __future__ import annotations

from decimal import Decimal
from typing import assert_never

from bank_desktop.domain.account_guards import (
    require_funds,
    require_open,
    require_positive,
    require_readable,
)
from bank_desktop.domain.account_types import (
    ACCOUNT_EVENT_TYPES,
    AccountClosed,
    AccountCommand,
    AccountEvent,
    AccountHistoryEvent,
    AccountOpened,
    AccountState,
    AccountStatus,
    ApprovableCommand,
    ApprovedCommandRefused,
    CloseAccount,
    CreditForTransfer,
    DebitForTransfer,
    DepositMoney,
    ExecuteApproved,
    HoldPlaced,
    HoldReleased,
    MoneyDeposited,
    MoneyWithdrawn,
    OpenAccount,
    PlaceHold,
    RefundTransfer,
    ReleaseHold,
    ReverseTransaction,
    WithdrawalRefused,
    WithdrawMoney,
    initial_state,
)
from bank_desktop.domain.errors import (
    AccountNotFoundError,
    DomainError,
    IllegalStateError,
    ValidationError,
)
from bank_desktop.domain.history import UnrecognizedEvent
from bank_desktop.domain.holds import Hold, active_holds
from bank_desktop.domain.money import format_money
from bank_desktop.domain.teller_rules import place_hold, release_hold, reverse
from bank_desktop.domain.text import optional_text, required_text

__all__ = [
    "ACCOUNT_EVENT_TYPES",
    "AccountClosed",
    "AccountCommand",
    "AccountEvent",
    "AccountHistoryEvent",
    "AccountOpened",
    "AccountState",
    "AccountStatus",
    "ApprovableCommand",
    "ApprovedCommandRefused",
    "CloseAccount",
    "CreditForTransfer",
    "DebitForTransfer",
    "DepositMoney",
    "ExecuteApproved",
    "HoldPlaced",
    "HoldReleased",
    "MoneyDeposited",
    "MoneyWithdrawn",
    "OpenAccount",
    "PlaceHold",
    "RefundTransfer",
    "ReleaseHold",
    "ReverseTransaction",
    "WithdrawMoney",
    "WithdrawalRefused",
    "decide",
    "evolve",
    "initial_state",
]

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
        case ReverseTransaction():
            return [reverse(command, state)]
        case PlaceHold():
            return [place_hold(command, state)]
        case ReleaseHold():
            return [release_hold(command, state)]
        case ExecuteApproved():
            return _execute_approved(command, state)
        case _:
            assert_never(command)


def _execute_approved(command: ExecuteApproved, state: AccountState) -> list[AccountEvent]:
    held = command.command
    if not state.exists:  # nothing to fence in a stream that does not exist
        raise AccountNotFoundError(held.account_id, "carry out an approved request")
    require_readable(state, held.account_id)  # not known to be refused: leave it for later
    try:
        return decide(held, state)
    except DomainError as refusal:
        amount = held.amount if isinstance(held, WithdrawMoney) else _reversed_amount(held)
        return [
            ApprovedCommandRefused(
                account_id=held.account_id,
                approval_id=command.approval_id,
                action=held.type,
                amount=amount,
                reason=refusal.message,
                refused_at=held.at,
            )
        ]


def _reversed_amount(command: ReverseTransaction) -> Decimal:
    return command.target.amount if command.target is not None else Decimal("0.00")


def _open(command: OpenAccount, state: AccountState) -> AccountOpened:
    require_readable(state, command.account_id)
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
    require_open(state, command.account_id, "deposit money")
    require_positive(command.amount, "Deposit amount")
    return MoneyDeposited(
        account_id=command.account_id,
        amount=command.amount,
        description=optional_text(command.description, "Description", max_length=200),
        deposited_at=command.at,
    )


def _withdraw(command: WithdrawMoney, state: AccountState) -> MoneyWithdrawn:
    require_funds(state, command.account_id, command.amount, "withdraw money", command.at)
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
        require_funds(state, command.account_id, command.amount, "transfer money", command.at)
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
    require_open(state, command.account_id, "receive a transfer")
    require_positive(command.amount, "Transfer amount")
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
    require_positive(command.amount, "Refund amount")
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
    require_open(state, command.account_id, "close account")
    active = active_holds(state.holds, command.at)
    if active:
        hold = active[0]
        raise IllegalStateError(
            f"Cannot close account {command.account_id}: hold {hold.hold_id} of "
            f"{format_money(hold.amount)} ({hold.reason}) is active. Release it first.",
            {"accountId": command.account_id, "holdId": hold.hold_id},
            state="on_hold",
            action="close account",
        )
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
                state.holds,
                state.reversed_ids,
                state.released_holds,
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
                state.holds,
                _reversed(state, event.reverses_event_id),
                state.released_holds,
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
                state.holds,
                _reversed(state, event.reverses_event_id),
                state.released_holds,
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
                state.holds,
                state.reversed_ids,
                state.released_holds,
            )
        case HoldPlaced():
            hold = Hold(
                event.hold_id, event.amount, event.reason, event.placed_at, event.expires_at
            )
            return AccountState(
                state.account_id,
                state.customer_id,
                state.balance,
                state.status,
                state.opened_at,
                state.closed_at,
                state.last_activity_at,
                state.unrecognized,
                (*state.holds, hold),
                state.reversed_ids,
                state.released_holds,
            )
        case HoldReleased():
            return AccountState(
                state.account_id,
                state.customer_id,
                state.balance,
                state.status,
                state.opened_at,
                state.closed_at,
                state.last_activity_at,
                state.unrecognized,
                tuple(h for h in state.holds if h.hold_id != event.hold_id),
                state.reversed_ids,
                state.released_holds | {event.hold_id},
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
                state.holds,
                state.reversed_ids,
                state.released_holds,
            )
        case _:
            assert_never(event)


def _reversed(state: AccountState, event_id: str | None) -> frozenset[str]:
    return state.reversed_ids if event_id is None else state.reversed_ids | {event_id}
