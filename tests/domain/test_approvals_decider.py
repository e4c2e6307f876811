"""The approval decider: four eyes, permissions before existence, and a state machine that only
moves along its arrows.

    requested ─approve─▶ approved ─▶ executed | failed
        └──reject──▶ rejected
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial

import pytest

from bank_desktop.domain import approvals
from bank_desktop.domain.approvals import (
    ApprovalCommand,
    ApprovalEvent,
    ApprovalRequested,
    ApprovalState,
    ApprovedRequestExecuted,
    ApprovedRequestFailed,
    ApproveRequest,
    RecordExecution,
    RecordFailure,
    RejectRequest,
    RequestApproval,
    RequestApproved,
    RequestRejected,
    held_request,
)
from bank_desktop.domain.errors import (
    ApprovalNotFoundError,
    IllegalStateError,
    PermissionDeniedError,
    ValidationError,
)
from tests.domain.decider_spec import DeciderSpec

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=1)
T2 = T0 + timedelta(minutes=2)
AP = "approval-abcdefghijkl"
SUPERVISOR = frozenset({"teller", "supervisor"})
TELLER = frozenset({"teller"})


def spec(roles: frozenset[str]) -> DeciderSpec[ApprovalState, ApprovalCommand, ApprovalEvent]:
    return DeciderSpec(
        partial(approvals.decide, roles=roles),
        approvals.evolve,
        approvals.initial_state,
    )


as_supervisor = spec(SUPERVISOR)
as_teller = spec(TELLER)
HELD = held_request("withdrawal", "account-1", Decimal("6000.00"), description="Car")
REQUESTED = ApprovalRequested(AP, HELD, "teller-1", Decimal("5000.00"), T0)
APPROVED = RequestApproved(AP, "sup-1", T1)


class TestRequesting:
    def test_a_request_above_the_limit_is_recorded(self) -> None:
        events = as_teller.given().when(
            RequestApproval(AP, HELD, "teller-1", Decimal("5000.00"), T0)
        )
        assert events == [REQUESTED]
        state = as_teller.given(*events).state
        assert state.status == "requested"
        assert (state.kind, state.account_id, state.amount) == (
            "withdrawal",
            "account-1",
            Decimal("6000.00"),
        )
        assert state.requested_by == "teller-1"

    def test_a_request_within_the_limit_is_not(self) -> None:
        with pytest.raises(ValidationError, match="needs no approval"):
            as_teller.given().when(RequestApproval(AP, HELD, "teller-1", Decimal("6000"), T0))

    def test_a_second_request_under_one_id_is_refused(self) -> None:
        with pytest.raises(IllegalStateError, match="exists already"):
            as_teller.given(REQUESTED).when(
                RequestApproval(AP, HELD, "teller-1", Decimal("5000"), T0)
            )

    def test_held_requests_are_checked_and_trimmed(self) -> None:
        held = held_request("transfer", " account-1 ", Decimal("1"), to_account_id="account-2")
        assert held.account_id == "account-1"
        with pytest.raises(ValidationError, match="target account"):
            held_request("transfer", "account-1", Decimal("1"))
        with pytest.raises(ValidationError, match="event id"):
            held_request("reversal", "account-1", Decimal("1"), reason="Keyed twice")


class TestApproving:
    def test_another_supervisor_approves(self) -> None:
        events = as_supervisor.given(REQUESTED).when(ApproveRequest(AP, "sup-1", T1))
        assert events == [APPROVED]
        state = as_supervisor.given(REQUESTED, *events).state
        assert state.status == "approved"
        assert state.approved_by == "sup-1"

    def test_approving_your_own_request_is_refused(self) -> None:
        own = ApprovalRequested(AP, HELD, "sup-1", Decimal("5000"), T0)
        with pytest.raises(PermissionDeniedError, match="four eyes"):
            as_supervisor.given(own).when(ApproveRequest(AP, "sup-1", T1))

    def test_a_clerk_without_the_supervisor_role_cannot_approve(self) -> None:
        with pytest.raises(PermissionDeniedError, match="not a supervisor"):
            as_teller.given(REQUESTED).when(ApproveRequest(AP, "teller-2", T1))

    def test_permissions_are_checked_before_existence(self) -> None:
        with pytest.raises(PermissionDeniedError):
            as_teller.given().when(ApproveRequest(AP, "teller-2", T1))
        with pytest.raises(PermissionDeniedError):
            as_teller.given().when(RejectRequest(AP, "teller-2", "no", T1))
        with pytest.raises(ApprovalNotFoundError):
            as_supervisor.given().when(ApproveRequest(AP, "sup-1", T1))

    def test_approving_twice_or_after_a_reject_is_refused(self) -> None:
        with pytest.raises(IllegalStateError, match="was approved by sup-1"):
            as_supervisor.given(REQUESTED, APPROVED).when(ApproveRequest(AP, "sup-2", T2))
        rejected = RequestRejected(AP, "sup-1", "No ID shown", T1)
        with pytest.raises(IllegalStateError, match="was rejected by sup-1"):
            as_supervisor.given(REQUESTED, rejected).when(ApproveRequest(AP, "sup-2", T2))

    def test_own_request_is_refused_even_once_decided(self) -> None:
        """Permission first: the requester learns they may not approve, not its status."""
        own = ApprovalRequested(AP, HELD, "sup-1", Decimal("5000"), T0)
        decided = RequestApproved(AP, "sup-2", T1)
        with pytest.raises(PermissionDeniedError):
            as_supervisor.given(own, decided).when(ApproveRequest(AP, "sup-1", T2))


class TestRejecting:
    def test_a_supervisor_rejects_with_a_reason(self) -> None:
        events = as_supervisor.given(REQUESTED).when(RejectRequest(AP, "sup-1", " No ID ", T1))
        assert events == [RequestRejected(AP, "sup-1", "No ID", T1)]
        state = as_supervisor.given(REQUESTED, *events).state
        assert (state.status, state.rejected_by, state.reason) == ("rejected", "sup-1", "No ID")
        assert state.is_finished

    def test_a_reason_is_required(self) -> None:
        with pytest.raises(ValidationError, match="Reason is required"):
            as_supervisor.given(REQUESTED).when(RejectRequest(AP, "sup-1", "  ", T1))

    def test_an_approved_request_cannot_be_rejected(self) -> None:
        with pytest.raises(IllegalStateError):
            as_supervisor.given(REQUESTED, APPROVED).when(RejectRequest(AP, "sup-2", "x", T2))


class TestOutcome:
    def test_execution_and_failure_are_recorded_once_approved(self) -> None:
        done = as_teller.given(REQUESTED, APPROVED).when(
            RecordExecution(AP, Decimal("4000.00"), None, T2)
        )
        assert done == [ApprovedRequestExecuted(AP, Decimal("4000.00"), None, T2)]
        state = as_teller.given(REQUESTED, APPROVED, *done).state
        assert (state.status, state.balance, state.approved_by) == (
            "executed",
            Decimal("4000.00"),
            "sup-1",
        )
        failed = as_teller.given(REQUESTED, APPROVED).when(RecordFailure(AP, "Closed", T2))
        assert failed == [ApprovedRequestFailed(AP, "Closed", T2)]

    @pytest.mark.parametrize(
        "command",
        [RecordExecution(AP, Decimal("1"), None, T2), RecordFailure(AP, "x", T2)],
    )
    def test_nothing_is_recorded_before_approval_or_twice(self, command: ApprovalCommand) -> None:
        with pytest.raises(IllegalStateError):
            as_teller.given(REQUESTED).when(command)
        done = ApprovedRequestExecuted(AP, Decimal("1"), None, T2)
        with pytest.raises(IllegalStateError):
            as_teller.given(REQUESTED, APPROVED, done).when(command)
        with pytest.raises(ApprovalNotFoundError):
            as_teller.given().when(command)
