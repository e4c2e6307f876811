"""The approval decider: one request above the approval limit, from asking to its outcome.

A clerk's withdrawal, transfer or reversal above the limit is not carried out: it is held in
an approval stream of its own. A supervisor other than the requester approves it (then the
application runs the held command once and records how that went) or rejects it with a reason:

    requested ─approve─▶ approved ─▶ executed
        │                    └─────▶ failed      (the rules, checked again, refused it)
        └──reject──▶ rejected

``decide`` takes the acting clerk's roles, as the staff register holds them. Permissions come
before existence: a clerk who may not approve learns that, not whether a request exists.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import ClassVar, Final, Literal, assert_never

from bank_desktop.domain.errors import (
    ApprovalNotFoundError,
    IllegalStateError,
    PermissionDeniedError,
    UnreadableHistoryError,
    ValidationError,
)
from bank_desktop.domain.history import UnrecognizedEvent
from bank_desktop.domain.money import format_money
from bank_desktop.domain.text import optional_text, required_text

ApprovalKind = Literal["withdrawal", "transfer", "reversal"]
APPROVAL_KINDS: Final[tuple[ApprovalKind, ...]] = ("withdrawal", "transfer", "reversal")
ApprovalStatus = Literal["none", "requested", "approved", "rejected", "executed", "failed"]
FINISHED: Final[frozenset[ApprovalStatus]] = frozenset({"rejected", "executed", "failed"})
#: The longest reason a rejection or failure records.
REASON_LIMIT: Final = 500


@dataclass(frozen=True, slots=True)
class HeldRequest:
    """What the clerk asked for, held until a supervisor decides: enough to run it later.

    ``to_account_id`` for a transfer; ``event_id`` and ``reason`` for a reversal (the
    transaction it reverses, and why).
    """

    kind: ApprovalKind
    account_id: str
    amount: Decimal
    description: str | None = None
    to_account_id: str | None = None
    event_id: str | None = None
    reason: str | None = None

    def describe(self) -> str:
        """A clerk's words for it: "withdrawal of $6,000.00 from account-…"."""
        money = format_money(self.amount)
        if self.kind == "transfer":
            return f"transfer of {money} from {self.account_id} to {self.to_account_id}"
        if self.kind == "reversal":
            return f"reversal of {money} on {self.account_id}"
        return f"withdrawal of {money} from {self.account_id}"


def held_request(
    kind: ApprovalKind,
    account_id: str,
    amount: Decimal,
    *,
    description: str | None = None,
    to_account_id: str | None = None,
    event_id: str | None = None,
    reason: str | None = None,
) -> HeldRequest:
    """A :class:`HeldRequest` with its texts checked and trimmed as they will be stored, so a
    repeat of the same request compares equal to the one recorded. Whether the amount and the
    rest are acceptable is the account's rules' to say (only an amount above the approval
    limit, which is never negative, is ever held)."""
    if kind not in APPROVAL_KINDS:
        raise ValidationError(f"Unknown kind of request {kind!r}.", {"kind": kind})
    held = HeldRequest(
        kind,
        required_text(account_id, "Account id", max_length=200),
        amount,
        optional_text(description, "Description", max_length=200),
        optional_text(to_account_id, "Target account", max_length=200),
        optional_text(event_id, "Event id", max_length=200),
        optional_text(reason, "Reason", max_length=REASON_LIMIT),
    )
    if kind == "transfer" and held.to_account_id is None:
        raise ValidationError("A transfer needs a target account.", {"field": "toAccountId"})
    if kind == "reversal" and held.event_id is None:  # its reason: the account's rules say
        raise ValidationError("A reversal needs the transaction's event id.", {"field": "eventId"})
    return held


# ── Commands ──────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class RequestApproval:
    type: ClassVar[str] = "approval.request"
    approval_id: str
    held: HeldRequest
    requested_by: str
    limit: Decimal | None
    at: datetime


@dataclass(frozen=True, slots=True)
class ApproveRequest:
    type: ClassVar[str] = "approval.approve"
    approval_id: str
    approved_by: str
    at: datetime


@dataclass(frozen=True, slots=True)
class RejectRequest:
    type: ClassVar[str] = "approval.reject"
    approval_id: str
    rejected_by: str
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class RecordExecution:
    """The held command ran: ``balance`` after it (withdrawal, reversal) or ``transfer_id``."""

    type: ClassVar[str] = "approval.record_execution"
    approval_id: str
    balance: Decimal | None
    transfer_id: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class RecordFailure:
    type: ClassVar[str] = "approval.record_failure"
    approval_id: str
    reason: str
    at: datetime


ApprovalCommand = RequestApproval | ApproveRequest | RejectRequest | RecordExecution | RecordFailure

# ── Events ────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class ApprovalRequested:
    type: ClassVar[str] = "approval.requested"
    approval_id: str
    held: HeldRequest
    requested_by: str
    limit: Decimal | None
    requested_at: datetime


@dataclass(frozen=True, slots=True)
class RequestApproved:
    type: ClassVar[str] = "approval.approved"
    approval_id: str
    approved_by: str
    approved_at: datetime


@dataclass(frozen=True, slots=True)
class RequestRejected:
    type: ClassVar[str] = "approval.rejected"
    approval_id: str
    rejected_by: str
    reason: str
    rejected_at: datetime


@dataclass(frozen=True, slots=True)
class ApprovedRequestExecuted:
    type: ClassVar[str] = "approval.executed"
    approval_id: str
    balance: Decimal | None
    transfer_id: str | None
    executed_at: datetime


@dataclass(frozen=True, slots=True)
class ApprovedRequestFailed:
    type: ClassVar[str] = "approval.failed"
    approval_id: str
    reason: str
    failed_at: datetime


ApprovalEvent = (
    ApprovalRequested
    | RequestApproved
    | RequestRejected
    | ApprovedRequestExecuted
    | ApprovedRequestFailed
)
ApprovalHistoryEvent = ApprovalEvent | UnrecognizedEvent
APPROVAL_EVENT_TYPES: Final[tuple[str, ...]] = (
    ApprovalRequested.type,
    RequestApproved.type,
    RequestRejected.type,
    ApprovedRequestExecuted.type,
    ApprovedRequestFailed.type,
)

# ── State ─────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class ApprovalState:
    """One request for approval and where it stands (``status``)."""

    approval_id: str | None = None
    held: HeldRequest | None = None
    requested_by: str | None = None
    limit: Decimal | None = None
    status: ApprovalStatus = "none"
    requested_at: datetime | None = None
    #: Who approved or rejected it, and when.
    decided_by: str | None = None
    decided_at: datetime | None = None
    #: Why it was rejected, or why it failed when it ran.
    reason: str | None = None
    #: What running it gave: the balance after it, or the transfer's id.
    balance: Decimal | None = None
    transfer_id: str | None = None
    finished_at: datetime | None = None
    unrecognized: str | None = None

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED

    @property
    def approved_by(self) -> str | None:
        return self.decided_by if self.status in ("approved", "executed", "failed") else None

    @property
    def rejected_by(self) -> str | None:
        return self.decided_by if self.status == "rejected" else None

    @property
    def kind(self) -> ApprovalKind | None:
        return None if self.held is None else self.held.kind

    @property
    def account_id(self) -> str | None:
        return None if self.held is None else self.held.account_id

    @property
    def amount(self) -> Decimal | None:
        return None if self.held is None else self.held.amount


def initial_state() -> ApprovalState:
    return ApprovalState()


# ── decide ────────────────────────────────────────────────────────────────────────────────


def decide(
    command: ApprovalCommand, state: ApprovalState, roles: Collection[str] = ()
) -> list[ApprovalEvent]:
    """``roles``: what the acting clerk holds in the staff register (approve and reject)."""
    match command:
        case RequestApproval():
            _require_readable(state, command.approval_id)
            return [_request(command, state)]
        case ApproveRequest():
            _require_supervisor(roles, command.approved_by, "approve")
            _require_exists(state, command.approval_id, "approve")
            if command.approved_by == state.requested_by:
                raise PermissionDeniedError(
                    f"{command.approved_by} asked for request {command.approval_id} and "
                    "cannot approve it: another supervisor must (four eyes).",
                    {"approvalId": command.approval_id, "clerkId": command.approved_by},
                )
            _require_status(state, "requested", command.approval_id, "approve")
            return [RequestApproved(command.approval_id, command.approved_by, command.at)]
        case RejectRequest():
            _require_supervisor(roles, command.rejected_by, "reject")
            _require_exists(state, command.approval_id, "reject")
            reason = required_text(command.reason, "Reason", max_length=REASON_LIMIT)
            _require_status(state, "requested", command.approval_id, "reject")
            return [RequestRejected(command.approval_id, command.rejected_by, reason, command.at)]
        case RecordExecution():
            _require_exists(state, command.approval_id, "record the execution")
            _require_status(state, "approved", command.approval_id, "record the execution")
            return [
                ApprovedRequestExecuted(
                    command.approval_id, command.balance, command.transfer_id, command.at
                )
            ]
        case RecordFailure():
            _require_exists(state, command.approval_id, "record the failure")
            _require_status(state, "approved", command.approval_id, "record the failure")
            reason = required_text(command.reason, "Reason", max_length=REASON_LIMIT)
            return [ApprovedRequestFailed(command.approval_id, reason, command.at)]
        case _:
            assert_never(command)


def _request(command: RequestApproval, state: ApprovalState) -> ApprovalRequested:
    if state.status != "none":
        raise IllegalStateError(
            f"Request {command.approval_id} exists already.",
            {"approvalId": command.approval_id},
            state=state.status,
            action="request approval",
        )
    held = command.held
    if command.limit is not None and held.amount <= command.limit:
        raise ValidationError(
            f"A {held.describe()} is within the approval limit of "
            f"{format_money(command.limit)} and needs no approval.",
            {"amount": str(held.amount), "approvalLimit": str(command.limit)},
        )
    requested_by = required_text(command.requested_by, "Clerk id", max_length=64)
    return ApprovalRequested(command.approval_id, held, requested_by, command.limit, command.at)


def _require_supervisor(roles: Collection[str], clerk: str, verb: str) -> None:
    if "supervisor" not in roles:
        raise PermissionDeniedError(
            f"Only a supervisor can {verb} requests; {clerk} is not a supervisor.",
            {"clerkId": clerk, "required": "supervisor"},
        )


def _require_readable(state: ApprovalState, approval_id: str) -> None:
    if state.unrecognized is not None:
        raise UnreadableHistoryError(approval_id, "Request", state.unrecognized)


def _require_exists(state: ApprovalState, approval_id: str, action: str) -> None:
    _require_readable(state, approval_id)
    if state.status == "none":
        raise ApprovalNotFoundError(approval_id, action)


def _require_status(
    state: ApprovalState, status: ApprovalStatus, approval_id: str, action: str
) -> None:
    if state.status == status:
        return
    where = {
        "none": "it was never requested",
        "requested": "it still waits for a supervisor",
        "approved": f"it was approved by {state.decided_by}",
        "rejected": f"it was rejected by {state.decided_by}",
        "executed": f"it was approved by {state.decided_by} and carried out",
        "failed": f"it was approved by {state.decided_by} but could not be carried out",
    }[state.status]
    raise IllegalStateError(
        f"Request {approval_id} cannot be {_past(action)}: {where}.",
        {"approvalId": approval_id, "decidedBy": state.decided_by},
        state=state.status,
        action=action,
    )


def _past(action: str) -> str:
    return {"approve": "approved", "reject": "rejected"}.get(action, f"changed ({action})")


# ── evolve ────────────────────────────────────────────────────────────────────────────────


def evolve(state: ApprovalState, event: ApprovalHistoryEvent) -> ApprovalState:
    match event:
        case ApprovalRequested():
            return ApprovalState(
                approval_id=event.approval_id,
                held=event.held,
                requested_by=event.requested_by,
                limit=event.limit,
                status="requested",
                requested_at=event.requested_at,
                unrecognized=state.unrecognized,
            )
        case RequestApproved():
            return replace(
                state, status="approved", decided_by=event.approved_by, decided_at=event.approved_at
            )
        case RequestRejected():
            return replace(
                state,
                status="rejected",
                decided_by=event.rejected_by,
                decided_at=event.rejected_at,
                reason=event.reason,
                finished_at=event.rejected_at,
            )
        case ApprovedRequestExecuted():
            return replace(
                state,
                status="executed",
                balance=event.balance,
                transfer_id=event.transfer_id,
                finished_at=event.executed_at,
            )
        case ApprovedRequestFailed():
            return replace(state, status="failed", reason=event.reason, finished_at=event.failed_at)
        case UnrecognizedEvent():
            if state.unrecognized is not None:
                return state
            return replace(state, unrecognized=event.describe())
        case _:
            assert_never(event)
