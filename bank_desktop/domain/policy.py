"""The policy decider: the approval limit above which money leaves only with a second pair of eyes.

Withdrawals, transfers and reversals above the limit need a supervisor's approval, whoever
asks (supervisors and admins included). Only admins set the limit; who holds which role is the
staff register's knowledge (:mod:`bank_desktop.domain.staff`), so ``decide`` takes the acting
clerk's roles as read from there.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import ClassVar, Final, assert_never

from bank_desktop.domain.errors import (
    PermissionDeniedError,
    UnreadableHistoryError,
    ValidationError,
)
from bank_desktop.domain.history import UnrecognizedEvent
from bank_desktop.domain.money import format_money

# ── Commands and events ───────────────────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class SetApprovalLimit:
    """Set the limit; ``None`` removes it (no request then needs approval)."""

    type: ClassVar[str] = "policy.set_approval_limit"
    limit: Decimal | None
    set_by: str
    at: datetime


PolicyCommand = SetApprovalLimit


@dataclass(frozen=True, slots=True)
class ApprovalLimitSet:
    type: ClassVar[str] = "policy.approval_limit_set"
    limit: Decimal | None
    set_by: str
    set_at: datetime


PolicyEvent = ApprovalLimitSet
PolicyHistoryEvent = PolicyEvent | UnrecognizedEvent
POLICY_EVENT_TYPES: Final[tuple[str, ...]] = (ApprovalLimitSet.type,)

# ── State ─────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class PolicyState:
    approval_limit: Decimal | None = None
    set_by: str | None = None
    set_at: datetime | None = None
    #: The first event of the stream this version does not understand (None: all of it).
    unrecognized: str | None = None


def initial_state() -> PolicyState:
    return PolicyState()


def needs_approval(state: PolicyState, amount: Decimal) -> bool:
    """Whether moving ``amount`` needs a supervisor's approval under this policy.

    A policy this version cannot fully read still has a limit it knows; an unknown later
    change might have lowered it, so everything above zero then needs approval.
    """
    if state.unrecognized is not None:
        return amount > 0
    return state.approval_limit is not None and amount > state.approval_limit


def describe_limit(limit: Decimal | None) -> str:
    return "no limit" if limit is None else format_money(limit)


# ── decide / evolve ───────────────────────────────────────────────────────────────────────


def decide(
    command: PolicyCommand, state: PolicyState, roles: Collection[str] = ()
) -> list[PolicyEvent]:
    """``roles``: what the acting clerk holds in the staff register."""
    match command:
        case SetApprovalLimit():
            if "admin" not in roles:
                raise PermissionDeniedError(
                    f"Only an admin can set the approval limit; {command.set_by} is not an admin.",
                    {"clerkId": command.set_by, "required": "admin"},
                )
            if state.unrecognized is not None:
                raise UnreadableHistoryError("policy", "The policy", state.unrecognized)
            limit = command.limit
            if limit is not None and limit < 0:
                raise ValidationError(
                    "Approval limit must not be negative.", {"approvalLimit": str(limit)}
                )
            if limit == state.approval_limit:
                return []
            return [ApprovalLimitSet(limit, command.set_by, command.at)]
        case _:
            assert_never(command)


def evolve(state: PolicyState, event: PolicyHistoryEvent) -> PolicyState:
    match event:
        case ApprovalLimitSet():
            return PolicyState(event.limit, event.set_by, event.set_at, state.unrecognized)
        case UnrecognizedEvent():
            if state.unrecognized is not None:
                return state
            return PolicyState(state.approval_limit, state.set_by, state.set_at, event.describe())
        case _:
            assert_never(event)
