"""The desk's fold of dual control: loaded from the store, then fed live pages, it agrees with
what the service reads (roles, the limit, every request and where it stands)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bank_desktop.application import BankService
from bank_desktop.application.projections.dual_control import (
    DualControlView,
    load_dual_control,
)
from bank_desktop.domain import ApprovalFailedError, ApprovalRequired
from bank_desktop.eventstore.port import EventStore
from tests.application.conftest import StepClock


def clerk(store: EventStore, clerk_id: str) -> BankService:
    return BankService(store, clerk_id=clerk_id, clock=StepClock())


def ask(call: Callable[[], object]) -> str:
    with pytest.raises(ApprovalRequired) as raised:
        call()
    return raised.value.approval_id


@pytest.fixture
def staffed(store: EventStore) -> EventStore:
    admin = clerk(store, "admin-1")
    admin.grant_role("admin-1", "admin")
    admin.grant_role("sup-1", "supervisor")
    admin.set_approval_limit("5000")
    admin.issue_token("sup-1")  # a token's events are never read by a desk
    return store


def test_load_reads_roles_limit_and_requests(staffed: EventStore) -> None:
    teller, sup = clerk(staffed, "teller-1"), clerk(staffed, "sup-1")
    acct = teller.open_account("cust-1", "20000")
    first = ask(lambda: teller.withdraw(acct, "6000"))
    second = ask(lambda: teller.withdraw(acct, "7000"))
    sup.approve(first)

    view = load_dual_control(staffed)

    assert view.roles_of("sup-1") == {"teller", "supervisor"}
    assert view.roles_of("admin-1") == {"teller", "admin"}
    assert view.roles_of("teller-1") == {"teller"}
    assert view.approval_limit == Decimal("5000.00")
    assert [p.approval_id for p in view.pending()] == [second]
    assert view.pending() == sup.pending_approvals()
    mine = view.requested_by("teller-1")
    assert [r.approval_id for r in mine] == [second, first]  # newest first
    assert mine[1].status == "executed"
    assert mine[1].balance == Decimal("14000.00")
    assert view.requested_by("sup-1") == []


def test_live_pages_follow_and_repeats_change_nothing(staffed: EventStore) -> None:
    view = load_dual_control(staffed)
    loaded_at = view.checkpoint
    admin, teller = clerk(staffed, "admin-1"), clerk(staffed, "teller-1")
    acct = teller.open_account("cust-1", "9000")
    request = ask(lambda: teller.withdraw(acct, "6000"))
    admin.grant_role("sup-2", "supervisor")
    admin.revoke_role("sup-1", "supervisor")
    admin.set_approval_limit("8000")
    teller.withdraw(acct, "4000")  # below the limit: the balance is now too low
    with pytest.raises(ApprovalFailedError):
        clerk(staffed, "sup-2").approve(request)

    page = staffed.read_all(after=0, limit=10_000)  # from the start: the loaded part repeats
    changes = view.apply(page)

    assert changes.approvals == {request}
    assert changes.roles == {"sup-1", "sup-2"}
    assert changes.policy
    assert view.checkpoint > loaded_at
    assert view.roles_of("sup-1") == {"teller"}
    assert view.roles_of("sup-2") == {"teller", "supervisor"}
    assert view.approval_limit == Decimal("8000.00")
    failed = view.get(request)
    assert failed is not None
    assert failed.status == "failed"
    assert failed.approved_by == "sup-2"
    assert failed.reason is not None
    assert "Insufficient funds" in failed.reason

    again = view.apply(page)
    assert not again


def test_an_empty_store_has_no_limit_and_no_roles(store: EventStore) -> None:
    view = load_dual_control(store)
    assert view.approval_limit is None
    assert not view.limit_unreadable
    assert view.roles_of("anyone") == {"teller"}
    assert view.pending() == []
    assert not DualControlView().apply([])


def test_concerns_names_what_apply_reads(staffed: EventStore) -> None:
    teller = clerk(staffed, "teller-1")
    acct = teller.open_account("cust-1", "9000")
    ask(lambda: teller.withdraw(acct, "6000"))
    everything = staffed.read_all(after=0, limit=10_000)
    kept = [e for e in everything if DualControlView.concerns(e)]
    assert {e.type for e in kept} == {
        "staff.role_granted",
        "policy.approval_limit_set",
        "approval.requested",
    }
    view = DualControlView()
    view.apply(kept)
    whole = DualControlView()
    whole.apply(everything)
    assert view.pending() == whole.pending()
    assert view.roles_of("sup-1") == whole.roles_of("sup-1")
    assert view.approval_limit == whole.approval_limit


def test_requests_in_the_same_millisecond_queue_in_the_order_they_arrived(
    staffed: EventStore,
) -> None:
    """Event times keep milliseconds, so two desks (or one quick one) can ask within the same
    one: the queue then follows the store's order, never the random approval ids."""
    instant = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
    teller = BankService(staffed, clerk_id="teller-1", clock=lambda: instant)
    acct = teller.open_account("cust-1", "90000")
    asked = [ask(lambda n=n: teller.withdraw(acct, str(6000 + n))) for n in range(8)]
    sup = clerk(staffed, "sup-1")

    assert [p.approval_id for p in load_dual_control(staffed).pending()] == asked
    assert [p.approval_id for p in sup.pending_approvals()] == asked
    mine = load_dual_control(staffed).requested_by("teller-1")
    assert [r.approval_id for r in mine] == asked[::-1]  # newest first
