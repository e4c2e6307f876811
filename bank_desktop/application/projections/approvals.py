"""Approvals: every request held for a supervisor, and where it stands; the queue of pending ones.

What a supervisor's queue shows (who asked, for what, on which account, how much, when) and
what recovery needs (requests approved but not yet carried out). Fed approval events in global
order, from the store (``BankService.pending_approvals``) or from a live subscription; an event
at or below its approval's revision changes nothing, so a replay is harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from bank_desktop.application.control_codec import decode_approval_event
from bank_desktop.application.errors import MalformedEventError
from bank_desktop.domain import approvals as ap
from bank_desktop.eventstore.port import RecordedEvent

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ApprovalSummary:
    """One request for approval as a queue or a status page shows it."""

    approval_id: str
    kind: ap.ApprovalKind
    account_id: str
    amount: Decimal
    requested_by: str
    requested_at: datetime
    status: ap.ApprovalStatus
    description: str | None = None
    to_account_id: str | None = None
    #: A reversal's transaction, and why it is reversed.
    event_id: str | None = None
    request_reason: str | None = None
    limit: Decimal | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    #: Why it was rejected, or why it failed when it ran.
    reason: str | None = None
    balance: Decimal | None = None
    transfer_id: str | None = None
    finished_at: datetime | None = None

    @property
    def approved_by(self) -> str | None:
        return self.decided_by if self.status in ("approved", "executed", "failed") else None

    @property
    def rejected_by(self) -> str | None:
        return self.decided_by if self.status == "rejected" else None

    @property
    def is_pending(self) -> bool:
        return self.status == "requested"


def summary_of(state: ap.ApprovalState) -> ApprovalSummary:
    """The summary of a request that exists (``state.held`` is set)."""
    held = state.held
    assert held is not None
    assert state.approval_id is not None
    assert state.requested_by is not None
    assert state.requested_at is not None
    return ApprovalSummary(
        approval_id=state.approval_id,
        kind=held.kind,
        account_id=held.account_id,
        amount=held.amount,
        requested_by=state.requested_by,
        requested_at=state.requested_at,
        status=state.status,
        description=held.description,
        to_account_id=held.to_account_id,
        event_id=held.event_id,
        request_reason=held.reason,
        limit=state.limit,
        decided_by=state.decided_by,
        decided_at=state.decided_at,
        reason=state.reason,
        balance=state.balance,
        transfer_id=state.transfer_id,
        finished_at=state.finished_at,
    )


class ApprovalsProjection:
    """Requests by id; ``pending()`` oldest first (a queue is worked from its front)."""

    def __init__(self) -> None:
        self._states: dict[str, ap.ApprovalState] = {}
        self._revisions: dict[str, int] = {}
        #: Where each request's first event stands in the store: the queue's order among
        #: requests asked within the same millisecond (event times keep no finer).
        self._arrived: dict[str, int] = {}
        #: The global position of the last approval event applied.
        self.checkpoint = 0

    def __len__(self) -> int:
        return len(self._states)

    def apply(self, events: Iterable[RecordedEvent]) -> set[str]:
        """Fold approval events (others are passed over); returns the approval ids changed."""
        changed: set[str] = set()
        for recorded in events:
            self.checkpoint = max(self.checkpoint, recorded.global_position)
            if recorded.type not in ap.APPROVAL_EVENT_TYPES:
                continue
            stream = recorded.stream_id
            if recorded.stream_position <= self._revisions.get(stream, 0):
                continue
            try:
                event = decode_approval_event(recorded)
            except MalformedEventError as exc:
                _log.warning("Approvals skip %s", exc)
                continue
            if event is None:  # pragma: no cover - the type was checked above
                continue
            state = self._states.get(stream, ap.initial_state())
            self._states[stream] = ap.evolve(state, event)
            self._revisions[stream] = recorded.stream_position
            self._arrived.setdefault(stream, recorded.global_position)
            changed.add(stream)
        return changed

    def get(self, approval_id: str) -> ApprovalSummary | None:
        state = self._states.get(approval_id)
        return None if state is None or state.held is None else summary_of(state)

    def pending(self) -> list[ApprovalSummary]:
        """Requests waiting for a supervisor, oldest first."""
        rows = [
            summary_of(state)
            for state in self._states.values()
            if state.status == "requested" and state.held is not None
        ]
        return sorted(rows, key=self._arrival)

    def requested_by(self, clerk_id: str) -> list[ApprovalSummary]:
        """Every request ``clerk_id`` made, newest first, whatever became of it."""
        rows = [
            summary_of(state)
            for state in self._states.values()
            if state.requested_by == clerk_id and state.held is not None
        ]
        return sorted(rows, key=self._arrival, reverse=True)

    def _arrival(self, row: ApprovalSummary) -> tuple[datetime, int]:
        return row.requested_at, self._arrived.get(row.approval_id, 0)

    def approved_unfinished(self) -> dict[str, datetime]:
        """Approved requests not yet carried out (id → approved at): recovery's work."""
        due: dict[str, datetime] = {}
        for approval_id, state in self._states.items():
            at = state.decided_at or state.requested_at
            if state.status == "approved" and at is not None:
                due[approval_id] = at
        return due
