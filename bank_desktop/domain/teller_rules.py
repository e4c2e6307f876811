"""The teller's-day rules of the account decider: reversals and holds.

A reversal records the opposite seed event (a deposit undone by a withdrawal, and the other
way round) with ``reverses_event_id``, so seed-style projections stay right. A hold moves no
money; it lowers the available balance until it is released or expires.
"""

from __future__ import annotations

from bank_desktop.domain.account_guards import (
    require_available,
    require_open,
    require_positive,
)
from bank_desktop.domain.account_types import (
    AccountState,
    HoldPlaced,
    HoldReleased,
    MoneyDeposited,
    MoneyWithdrawn,
    PlaceHold,
    ReleaseHold,
    ReverseTransaction,
)
from bank_desktop.domain.errors import (
    HoldNotFoundError,
    IllegalStateError,
    TransactionNotFoundError,
    ValidationError,
)
from bank_desktop.domain.reversals import DEPOSITED, WITHDRAWN
from bank_desktop.domain.text import required_text


def reverse(command: ReverseTransaction, state: AccountState) -> MoneyDeposited | MoneyWithdrawn:
    account_id, event_id = command.account_id, command.event_id
    reason = required_text(command.reason, "Reason", max_length=200)
    require_open(state, account_id, "reverse a transaction")
    target = command.target
    if target is None or target.account_id != account_id or target.event_id != event_id:
        raise TransactionNotFoundError(account_id, event_id)
    if target.event_type not in (DEPOSITED, WITHDRAWN):
        _cannot_reverse(
            command,
            f"it is a {target.label}: only a deposit or a withdrawal can be reversed.",
            "not_money",
        )
    if target.reverses_event_id is not None:
        _cannot_reverse(
            command,
            f"it is itself the reversal of {target.reverses_event_id}.",
            "reversal",
        )
    if target.transfer_id is not None or target.is_refund:
        _cannot_reverse(
            command,
            f"it is part of transfer {target.transfer_id}; move the money back with a new "
            "transfer.",
            "transfer_leg",
        )
    if event_id in state.reversed_ids:
        _cannot_reverse(command, "it was already reversed.", "reversed")
    if target.event_type == DEPOSITED:
        require_positive(target.amount, "Reversal amount")
        require_available(state, target.amount, command.at)
        return MoneyWithdrawn(
            account_id=account_id,
            amount=target.amount,
            description=reason,
            withdrawn_at=command.at,
            reverses_event_id=event_id,
        )
    require_positive(target.amount, "Reversal amount")
    return MoneyDeposited(
        account_id=account_id,
        amount=target.amount,
        description=reason,
        deposited_at=command.at,
        reverses_event_id=event_id,
    )


def _cannot_reverse(command: ReverseTransaction, why: str, state: str) -> None:
    raise IllegalStateError(
        f"Transaction {command.event_id} cannot be reversed: {why}",
        {"accountId": command.account_id, "eventId": command.event_id},
        state=state,
        action="reverse a transaction",
    )


def place_hold(command: PlaceHold, state: AccountState) -> HoldPlaced:
    reason = required_text(command.reason, "Reason", max_length=200)
    require_open(state, command.account_id, "place a hold")
    require_positive(command.amount, "Hold amount")
    if command.expires_at is not None and command.expires_at <= command.at:
        raise ValidationError(
            "A hold's expiry must be in the future.",
            {"expiresAt": command.expires_at.isoformat(), "now": command.at.isoformat()},
        )
    if command.hold_id in state.released_holds or any(
        hold.hold_id == command.hold_id for hold in state.holds
    ):
        raise IllegalStateError(
            f"Hold {command.hold_id} already exists on account {command.account_id}.",
            {"accountId": command.account_id, "holdId": command.hold_id},
            state="exists",
            action="place a hold",
        )
    require_available(state, command.amount, command.at)
    return HoldPlaced(
        account_id=command.account_id,
        hold_id=command.hold_id,
        amount=command.amount,
        reason=reason,
        placed_at=command.at,
        expires_at=command.expires_at,
    )


def release_hold(command: ReleaseHold, state: AccountState) -> HoldReleased:
    account_id, hold_id = command.account_id, command.hold_id
    require_open(state, account_id, "release a hold")
    if hold_id in state.released_holds:
        raise IllegalStateError(
            f"Hold {hold_id} was already released.",
            {"accountId": account_id, "holdId": hold_id},
            state="released",
            action="release a hold",
        )
    hold = next((h for h in state.holds if h.hold_id == hold_id), None)
    if hold is None:
        raise HoldNotFoundError(account_id, hold_id)
    if not hold.is_active(command.at):
        expired = hold.expires_at.isoformat() if hold.expires_at else ""
        raise IllegalStateError(
            f"Hold {hold_id} expired at {expired}; it no longer counts and needs no release.",
            {"accountId": account_id, "holdId": hold_id, "expiresAt": expired},
            state="expired",
            action="release a hold",
        )
    return HoldReleased(account_id, hold_id, hold.amount, command.at)
