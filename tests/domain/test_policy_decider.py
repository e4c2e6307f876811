"""The policy decider: only admins set the approval limit; what needs approval under it."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from functools import partial

import pytest
from hypothesis import given as hgiven
from hypothesis import strategies as st

from bank_desktop.domain import policy
from bank_desktop.domain.errors import PermissionDeniedError, ValidationError
from bank_desktop.domain.history import UnrecognizedEvent
from bank_desktop.domain.policy import ApprovalLimitSet, PolicyState, SetApprovalLimit
from tests.domain.decider_spec import DeciderSpec

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
as_admin: DeciderSpec[PolicyState, SetApprovalLimit, ApprovalLimitSet] = DeciderSpec(
    partial(policy.decide, roles={"teller", "admin"}),
    policy.evolve,
    policy.initial_state,
)
as_supervisor: DeciderSpec[PolicyState, SetApprovalLimit, ApprovalLimitSet] = DeciderSpec(
    partial(policy.decide, roles={"teller", "supervisor"}),
    policy.evolve,
    policy.initial_state,
)


def test_an_admin_sets_and_removes_the_limit() -> None:
    events = as_admin.given().when(SetApprovalLimit(Decimal("5000.00"), "admin-1", T0))
    assert events == [ApprovalLimitSet(Decimal("5000.00"), "admin-1", T0)]
    state = as_admin.given(*events).state
    assert state.approval_limit == Decimal("5000.00")
    assert state.set_by == "admin-1"
    removed = as_admin.given(*events).when(SetApprovalLimit(None, "admin-1", T0))
    assert removed == [ApprovalLimitSet(None, "admin-1", T0)]


def test_only_admins_set_it() -> None:
    with pytest.raises(PermissionDeniedError, match="sup-1 is not an admin"):
        as_supervisor.given().when(SetApprovalLimit(Decimal("10"), "sup-1", T0))


def test_the_same_limit_again_changes_nothing() -> None:
    first = ApprovalLimitSet(Decimal("5000.00"), "admin-1", T0)
    assert as_admin.given(first).when(SetApprovalLimit(Decimal("5000"), "admin-1", T0)) == []


def test_a_negative_limit_is_refused() -> None:
    with pytest.raises(ValidationError, match="must not be negative"):
        as_admin.given().when(SetApprovalLimit(Decimal("-1"), "admin-1", T0))


def test_what_needs_approval() -> None:
    none = PolicyState()
    assert not policy.needs_approval(none, Decimal("1000000"))
    limited = PolicyState(Decimal("5000.00"))
    assert not policy.needs_approval(limited, Decimal("5000.00"))  # at the limit: no
    assert policy.needs_approval(limited, Decimal("5000.01"))
    zero = PolicyState(Decimal("0"))
    assert policy.needs_approval(zero, Decimal("0.01"))


def test_an_unreadable_policy_asks_for_approval_of_everything() -> None:
    state = as_admin.given(
        ApprovalLimitSet(Decimal("5000"), "admin-1", T0),
        UnrecognizedEvent("policy.future", 2),  # type: ignore[arg-type]
    ).state
    assert policy.needs_approval(state, Decimal("1"))


@hgiven(
    limit=st.decimals(min_value=0, max_value=10**9, places=2),
    amount=st.decimals(min_value=Decimal("0.01"), max_value=10**9, places=2),
)
def test_above_the_limit_is_exactly_what_needs_approval(limit: Decimal, amount: Decimal) -> None:
    assert policy.needs_approval(PolicyState(limit), amount) == (amount > limit)
