"""Checks the account rules share: the account is readable and open, an amount is positive
and no more than is available."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from bank_desktop.domain.account_types import AccountState
from bank_desktop.domain.errors import (
    AccountNotFoundError,
    IllegalStateError,
    UnreadableHistoryError,
    ValidationError,
)
from bank_desktop.domain.holds import active_holds, held_amount
from bank_desktop.domain.money import format_money


def require_positive(amount: Decimal, what: str) -> None:
    if amount <= 0:
        raise ValidationError(f"{what} must be positive.", {"amount": str(amount)})


def require_funds(
    state: AccountState,
    account_id: str,
    amount: Decimal,
    action: str,
    at: datetime,
) -> None:
    require_open(state, account_id, action)
    require_positive(amount, "Withdrawal amount")
    require_available(state, amount, at)


def require_available(state: AccountState, amount: Decimal, at: datetime) -> None:
    """Refuse ``amount`` above what is available at ``at``. The seed's wording ("Balance:")
    stays when no hold is active; with one, the message names the available amount."""
    held = held_amount(active_holds(state.holds, at))
    available = state.balance - held
    if available >= amount:
        return
    if held:
        raise ValidationError(
            f"Insufficient funds. Available: {format_money(available)}, "
            f"Requested: {format_money(amount)}",
            {
                "balance": str(state.balance),
                "available": str(available),
                "held": str(held),
                "requested": str(amount),
            },
        )
    raise ValidationError(
        f"Insufficient funds. Balance: {format_money(state.balance)}, "
        f"Requested: {format_money(amount)}",
        {"balance": str(state.balance), "requested": str(amount)},
    )


def require_readable(state: AccountState, account_id: str) -> None:
    if state.unrecognized is not None:
        raise UnreadableHistoryError(account_id, "Account", state.unrecognized)


def require_open(state: AccountState, account_id: str, action: str) -> None:
    require_readable(state, account_id)
    if state.status == "open":
        return
    if state.status == "not_found":
        raise AccountNotFoundError(account_id, action)
    raise IllegalStateError(
        f"Account {account_id} is closed.", {"accountId": account_id}, state="closed", action=action
    )
