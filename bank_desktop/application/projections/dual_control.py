"""Dual control as one desk sees it: who holds which role, the approval limit, every request.

The window's Approvals and My requests tabs, and which of them a clerk may use, follow this
fold. It is loaded once from the store (:func:`load_dual_control`, a worker's job) and then fed
the window's live pages (every event; those of other kinds are passed over), so a grant, a new
limit or a request made at another desk shows here as soon as the live feed delivers it, with
no polling of its own. Applying is idempotent per stream (an event at or below its stream's
revision changes nothing), so pages the load had already read may arrive again.

Only roles are kept from the staff register: its tokens and their key are never needed on a
clerk's screen, so their events are not even read.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

from bank_desktop.application.control_codec import decode_policy_history, decode_staff_history
from bank_desktop.application.errors import MalformedEventError
from bank_desktop.application.projections.approvals import ApprovalsProjection, ApprovalSummary
from bank_desktop.domain import policy, staff
from bank_desktop.domain.approvals import APPROVAL_EVENT_TYPES
from bank_desktop.eventstore.port import EventStore, RecordedEvent

_log = logging.getLogger(__name__)

#: The staff register's and the policy's one stream each (as the service writes them).
STAFF_STREAM: Final = "staff"
POLICY_STREAM: Final = "policy"
ROLE_EVENT_TYPES: Final = (staff.RoleGranted.type, staff.RoleRevoked.type)
#: What a desk reads of dual control across the store: roles and approvals (never tokens);
#: the policy's short stream is read whole, so a change this version does not know counts.
DESK_EVENT_TYPES: Final = (*ROLE_EVENT_TYPES, *APPROVAL_EVENT_TYPES)
_PAGE: Final = 1000


@dataclass(slots=True)
class DualControlChanges:
    """What one :meth:`DualControlView.apply` changed."""

    approvals: set[str] = field(default_factory=set)  #: approval ids whose state moved
    roles: set[str] = field(default_factory=set)  #: clerks granted or revoked a role
    policy: bool = False  #: the approval limit was set

    def __bool__(self) -> bool:
        return bool(self.approvals or self.roles or self.policy)


class DualControlView:
    """Roles per clerk, the policy and every request for approval, folded in global order."""

    def __init__(self) -> None:
        self.approvals = ApprovalsProjection()
        self._granted: dict[str, frozenset[staff.Role]] = {}
        self._staff_revision = 0
        self.policy = policy.initial_state()
        self._policy_revision = 0
        #: The last global position applied (of any type: the live feed's pages count too).
        self.checkpoint = 0

    # ── reading ───────────────────────────────────────────────────────────────────────────

    def roles_of(self, clerk_id: str) -> frozenset[staff.Role]:
        """Every role ``clerk_id`` holds, teller included (as the service reads it)."""
        return self._granted.get(clerk_id, frozenset()) | {staff.TELLER}

    @property
    def approval_limit(self) -> Decimal | None:
        """The limit in force; None when there is none (or the policy is not fully read, when
        the service holds every amount above zero: see :attr:`limit_unreadable`)."""
        return self.policy.approval_limit if self.policy.unrecognized is None else None

    @property
    def limit_unreadable(self) -> bool:
        """The policy holds a change this version does not understand: every amount above
        zero then needs approval."""
        return self.policy.unrecognized is not None

    def pending(self) -> list[ApprovalSummary]:
        """Requests waiting for a supervisor, oldest first."""
        return self.approvals.pending()

    def requested_by(self, clerk_id: str) -> list[ApprovalSummary]:
        """Every request ``clerk_id`` made, newest first, whatever became of it."""
        return self.approvals.requested_by(clerk_id)

    def get(self, approval_id: str) -> ApprovalSummary | None:
        return self.approvals.get(approval_id)

    # ── folding ───────────────────────────────────────────────────────────────────────────

    @staticmethod
    def concerns(event: RecordedEvent) -> bool:
        """Whether :meth:`apply` would look at ``event`` (to hold back only those)."""
        kind = event.type
        return (
            kind in APPROVAL_EVENT_TYPES
            or (event.stream_id == STAFF_STREAM and kind in ROLE_EVENT_TYPES)
            or event.stream_id == POLICY_STREAM
        )

    def apply(self, events: Iterable[RecordedEvent]) -> DualControlChanges:
        """Fold events in global order (other kinds are passed over, repeats skipped)."""
        changes = DualControlChanges()
        wanted: list[RecordedEvent] = []
        for recorded in events:
            self.checkpoint = max(self.checkpoint, recorded.global_position)
            kind = recorded.type
            if kind in APPROVAL_EVENT_TYPES:
                wanted.append(recorded)
            elif recorded.stream_id == STAFF_STREAM and kind in ROLE_EVENT_TYPES:
                self._role(recorded, changes)
            elif recorded.stream_id == POLICY_STREAM:
                self._policy(recorded, changes)
        if wanted:
            changes.approvals |= self.approvals.apply(wanted)
        return changes

    def _role(self, recorded: RecordedEvent, changes: DualControlChanges) -> None:
        if recorded.stream_position <= self._staff_revision:
            return
        self._staff_revision = recorded.stream_position
        try:
            event = decode_staff_history(recorded)
        except MalformedEventError as exc:
            _log.warning("Roles skip %s", exc)
            return
        granted = dict(self._granted)
        match event:
            case staff.RoleGranted():
                granted[event.clerk_id] = granted.get(event.clerk_id, frozenset()) | {event.role}
            case staff.RoleRevoked():
                left = granted.get(event.clerk_id, frozenset()) - {event.role}
                if left:
                    granted[event.clerk_id] = left
                else:
                    granted.pop(event.clerk_id, None)
            case _:  # pragma: no cover - only role events reach here
                return
        self._granted = granted
        changes.roles.add(event.clerk_id)

    def _policy(self, recorded: RecordedEvent, changes: DualControlChanges) -> None:
        if recorded.stream_position <= self._policy_revision:
            return
        self._policy_revision = recorded.stream_position
        try:
            event = decode_policy_history(recorded)
        except MalformedEventError as exc:
            _log.warning("The policy skips %s", exc)
            return
        self.policy = policy.evolve(self.policy, event)
        changes.policy = True


def load_dual_control(store: EventStore) -> DualControlView:
    """Read roles, the policy and every request from the store (blocking: a worker's job)."""
    view = DualControlView()
    view.apply(store.read_stream(POLICY_STREAM))
    after = 0
    while True:
        batch = store.read_all(
            after=after, limit=_PAGE, types=DESK_EVENT_TYPES, with_metadata=False
        )
        view.apply(batch)
        if len(batch) < _PAGE:
            return view
        after = batch[-1].global_position
