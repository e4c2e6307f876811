"""The transfer process decider: the progress of one transfer, recorded in its own stream.

The money itself moves in the two account streams (an ordinary withdrawal and deposit that
carry the transfer id); this stream records how far the process got, so a crash between any
two steps can be finished or reversed exactly once:

    requested ─▶ debited ─▶ completed
        │            └────▶ reversed   (the credit side refused; the debit was paid back)
        └─────▶ rejected               (the debit side refused; nothing moved)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import ClassVar, Literal, assert_never

from bank_desktop.domain.errors import IllegalStateError, UnreadableHistoryError, ValidationError
from bank_desktop.domain.history import UnrecognizedEvent
from bank_desktop.domain.text import optional_text, required_text

TransferStatus = Literal["none", "requested", "debited", "completed", "rejected", "reversed"]
TERMINAL_STATUSES: frozenset[TransferStatus] = frozenset({"completed", "rejected", "reversed"})
TransferStep = Literal["debit", "credit", "done"]

# ── Commands ──────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class RequestTransfer:
    type: ClassVar[str] = "transfer.request"
    transfer_id: str
    from_account_id: str
    to_account_id: str
    amount: Decimal
    description: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class RecordDebit:
    type: ClassVar[str] = "transfer.record_debit"
    transfer_id: str
    at: datetime


@dataclass(frozen=True, slots=True)
class CompleteTransfer:
    type: ClassVar[str] = "transfer.complete"
    transfer_id: str
    at: datetime


@dataclass(frozen=True, slots=True)
class RejectTransfer:
    type: ClassVar[str] = "transfer.reject"
    transfer_id: str
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ReverseTransfer:
    type: ClassVar[str] = "transfer.reverse"
    transfer_id: str
    reason: str
    at: datetime


TransferCommand = (
    RequestTransfer | RecordDebit | CompleteTransfer | RejectTransfer | ReverseTransfer
)

# ── Events ────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class TransferRequested:
    type: ClassVar[str] = "transfer.requested"
    transfer_id: str
    from_account_id: str
    to_account_id: str
    amount: Decimal
    description: str | None
    requested_at: datetime


@dataclass(frozen=True, slots=True)
class TransferDebited:
    type: ClassVar[str] = "transfer.debited"
    transfer_id: str
    debited_at: datetime


@dataclass(frozen=True, slots=True)
class TransferCompleted:
    type: ClassVar[str] = "transfer.completed"
    transfer_id: str
    completed_at: datetime


@dataclass(frozen=True, slots=True)
class TransferRejected:
    type: ClassVar[str] = "transfer.rejected"
    transfer_id: str
    reason: str
    rejected_at: datetime


@dataclass(frozen=True, slots=True)
class TransferReversed:
    type: ClassVar[str] = "transfer.reversed"
    transfer_id: str
    reason: str
    reversed_at: datetime


TransferEvent = (
    TransferRequested | TransferDebited | TransferCompleted | TransferRejected | TransferReversed
)
#: What ``evolve`` folds: the events above, and any stored event this version does not know.
TransferHistoryEvent = TransferEvent | UnrecognizedEvent
TRANSFER_EVENT_TYPES: tuple[str, ...] = (
    TransferRequested.type,
    TransferDebited.type,
    TransferCompleted.type,
    TransferRejected.type,
    TransferReversed.type,
)

# ── State ─────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class TransferState:
    transfer_id: str | None = None
    from_account_id: str | None = None
    to_account_id: str | None = None
    amount: Decimal = Decimal("0.00")
    description: str | None = None
    status: TransferStatus = "none"
    requested_at: datetime | None = None
    updated_at: datetime | None = None
    reason: str | None = None
    #: The first event of the stream this version does not understand (None: all of it).
    unrecognized: str | None = None

    @property
    def is_finished(self) -> bool:
        return self.status in TERMINAL_STATUSES


def initial_state() -> TransferState:
    return TransferState()


def next_step(state: TransferState) -> TransferStep:
    """What the process must do next; recovery resumes a crashed transfer from here."""
    if state.status == "requested":
        return "debit"
    if state.status == "debited":
        return "credit"
    return "done"


# ── decide ────────────────────────────────────────────────────────────────────────────────


def decide(command: TransferCommand, state: TransferState) -> list[TransferEvent]:
    if state.unrecognized is not None:  # where the transfer stands is not known: do nothing
        raise UnreadableHistoryError(command.transfer_id, "Transfer", state.unrecognized)
    match command:
        case RequestTransfer():
            return [_request(command, state)]
        case RecordDebit():
            _require(state, "requested", command.transfer_id, "record the debit")
            return [TransferDebited(command.transfer_id, command.at)]
        case CompleteTransfer():
            _require(state, "debited", command.transfer_id, "complete")
            return [TransferCompleted(command.transfer_id, command.at)]
        case RejectTransfer():
            _require(state, "requested", command.transfer_id, "reject")
            reason = required_text(command.reason, "Reason", max_length=500)
            return [TransferRejected(command.transfer_id, reason, command.at)]
        case ReverseTransfer():
            _require(state, "debited", command.transfer_id, "reverse")
            reason = required_text(command.reason, "Reason", max_length=500)
            return [TransferReversed(command.transfer_id, reason, command.at)]
        case _:
            assert_never(command)


def _request(command: RequestTransfer, state: TransferState) -> TransferRequested:
    if state.status != "none":
        raise IllegalStateError(
            f"Transfer {command.transfer_id} already exists.",
            {"transferId": command.transfer_id},
            state=state.status,
            action="request transfer",
        )
    source = required_text(command.from_account_id, "Source account", max_length=200)
    target = required_text(command.to_account_id, "Target account", max_length=200)
    if source == target:
        raise ValidationError("Cannot transfer to the same account.", {"accountId": source})
    if command.amount <= 0:
        raise ValidationError("Transfer amount must be positive.", {"amount": str(command.amount)})
    return TransferRequested(
        transfer_id=command.transfer_id,
        from_account_id=source,
        to_account_id=target,
        amount=command.amount,
        description=optional_text(command.description, "Description", max_length=200),
        requested_at=command.at,
    )


def _require(state: TransferState, status: TransferStatus, transfer_id: str, action: str) -> None:
    if state.status != status:
        raise IllegalStateError(
            f"Transfer {transfer_id} cannot {action}: it is {state.status}.",
            {"transferId": transfer_id},
            state=state.status,
            action=action,
        )


# ── evolve ────────────────────────────────────────────────────────────────────────────────


def evolve(state: TransferState, event: TransferHistoryEvent) -> TransferState:
    match event:
        case TransferRequested():
            return TransferState(
                transfer_id=event.transfer_id,
                from_account_id=event.from_account_id,
                to_account_id=event.to_account_id,
                amount=event.amount,
                description=event.description,
                status="requested",
                requested_at=event.requested_at,
                updated_at=event.requested_at,
                unrecognized=state.unrecognized,
            )
        case UnrecognizedEvent():
            if state.unrecognized is not None:
                return state
            return replace(state, unrecognized=event.describe())
        case TransferDebited():
            return replace(state, status="debited", updated_at=event.debited_at)
        case TransferCompleted():
            return replace(state, status="completed", updated_at=event.completed_at)
        case TransferRejected():
            return replace(
                state, status="rejected", updated_at=event.rejected_at, reason=event.reason
            )
        case TransferReversed():
            return replace(
                state, status="reversed", updated_at=event.reversed_at, reason=event.reason
            )
        case _:
            assert_never(event)
