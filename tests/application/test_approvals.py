"""Approvals through ``BankService`` (DESIGN §10): requests above the limit wait, supervisors
decide, approved requests run once with the rules checked again, repeats report the state,
and recovery finishes what a crash interrupted.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest

from bank_desktop.application import BankService
from bank_desktop.application.ids import internal_id
from bank_desktop.domain import (
    ApprovalFailedError,
    ApprovalNotFoundError,
    ApprovalRejectedError,
    ApprovalRequired,
    CommandIdReservedError,
    CommandIdReusedError,
    DomainError,
    IllegalStateError,
    PermissionDeniedError,
    ValidationError,
)
from bank_desktop.eventstore.port import EventStore, RecordedEvent
from tests.application.conftest import StepClock

LIMIT = Decimal("5000.00")


class Crash(Exception):
    """Stands in for the process dying right after a durable step."""


def crash_at(step: str) -> Callable[[str, str], None]:
    def observe(_: str, name: str) -> None:
        if name == step:
            raise Crash(step)

    return observe


class Desk:
    """The bank's staff on one store: an admin, two supervisors, two tellers."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.admin = self.clerk("admin-1")
        self.admin.grant_role("admin-1", "admin")
        self.admin.grant_role("sup-1", "supervisor")
        self.admin.grant_role("sup-2", "supervisor")
        self.admin.set_approval_limit(LIMIT)
        self.sup = self.clerk("sup-1")
        self.sup2 = self.clerk("sup-2")
        self.teller = self.clerk("teller-1")

    def clerk(self, clerk_id: str, **options: object) -> BankService:
        return BankService(self.store, clerk_id=clerk_id, clock=StepClock(), **options)  # type: ignore[arg-type]

    def request(self, bank: BankService, call: Callable[[], object]) -> str:
        with pytest.raises(ApprovalRequired) as raised:
            call()
        return raised.value.approval_id


@pytest.fixture
def desk(store: EventStore) -> Iterator[Desk]:
    return Desk(store)


def money_events(store: EventStore, stream: str) -> list[RecordedEvent]:
    return [e for e in store.read_stream(stream) if e.type.startswith("money.")]


class TestAsking:
    def test_above_the_limit_waits_and_moves_nothing(self, desk: Desk) -> None:
        acct = desk.teller.open_account("cust-1", "10000")
        before = desk.store.read_stream(acct)
        with pytest.raises(ApprovalRequired) as raised:
            desk.teller.withdraw(acct, "6000.00", description="Car")
        approval_id = raised.value.approval_id
        assert approval_id.startswith("approval-")
        assert isinstance(raised.value, DomainError)
        assert "Sent for approval" in raised.value.message
        assert desk.store.read_stream(acct) == before
        assert desk.teller.get_account(acct).balance == Decimal("10000.00")
        (pending,) = desk.sup.pending_approvals()
        assert pending.approval_id == approval_id
        assert pending.requested_by == "teller-1"
        assert pending.kind == "withdrawal"
        assert pending.account_id == acct
        assert pending.amount == Decimal("6000.00")
        assert isinstance(pending.amount, Decimal)
        assert pending.description == "Car"
        assert pending.limit == LIMIT

    def test_at_the_limit_goes_through(self, desk: Desk) -> None:
        acct = desk.teller.open_account("cust-1", "10000")
        assert desk.teller.withdraw(acct, "5000.00") == Decimal("5000.00")
        assert desk.sup.pending_approvals() == []

    def test_the_limit_applies_to_supervisors_and_admins_too(self, desk: Desk) -> None:
        acct = desk.admin.open_account("cust-1", "20000")
        for bank in (desk.sup, desk.admin):
            desk.request(bank, lambda b=bank: b.withdraw(acct, "5000.01"))  # type: ignore[misc]
        assert len(desk.sup2.pending_approvals()) == 2

    def test_what_the_rules_refuse_now_is_refused_not_sent(self, desk: Desk) -> None:
        acct = desk.teller.open_account("cust-1", "100")
        rich = desk.teller.open_account("cust-2", "10000")
        before = desk.store.head_position()
        with pytest.raises(ValidationError, match="Insufficient funds"):
            desk.teller.withdraw(acct, "6000")
        with pytest.raises(ValidationError, match="Insufficient funds"):
            desk.teller.transfer(acct, rich, "6000")
        with pytest.raises(DomainError, match="does not exist"):
            desk.teller.transfer(rich, "account-nowhere", "6000")
        with pytest.raises(ValidationError, match="same account"):
            desk.teller.transfer(acct, acct, "6000")
        assert desk.store.head_position() == before
        assert desk.sup.pending_approvals() == []

    def test_a_transfer_above_the_limit_waits_too(self, desk: Desk) -> None:
        source = desk.teller.open_account("cust-1", "9000")
        target = desk.teller.open_account("cust-2", "0")
        approval_id = desk.request(
            desk.teller, lambda: desk.teller.transfer(source, target, "7000")
        )
        (pending,) = desk.sup.pending_approvals()
        assert (pending.approval_id, pending.kind, pending.to_account_id) == (
            approval_id,
            "transfer",
            target,
        )
        assert desk.teller.get_account(source).balance == Decimal("9000.00")


class TestRepeating:
    def test_a_repeat_reports_the_state_then_the_result(self, desk: Desk) -> None:
        acct = desk.teller.open_account("cust-1", "10000")
        first = desk.request(
            desk.teller, lambda: desk.teller.withdraw(acct, "6000", command_id="w-1")
        )
        again = desk.request(
            desk.teller, lambda: desk.teller.withdraw(acct, "6000", command_id="w-1")
        )
        assert again == first
        assert len(desk.sup.pending_approvals()) == 1
        desk.sup.approve(first)
        assert desk.teller.withdraw(acct, "6000", command_id="w-1") == Decimal("4000.00")
        assert desk.teller.withdraw(acct, "6000.00", command_id="w-1") == Decimal("4000.00")
        assert len(money_events(desk.store, acct)) == 1

    def test_a_repeat_of_a_rejected_request_says_why(self, desk: Desk) -> None:
        acct = desk.teller.open_account("cust-1", "10000")
        approval_id = desk.request(
            desk.teller, lambda: desk.teller.withdraw(acct, "6000", command_id="w-1")
        )
        rejected = desk.sup.reject(approval_id, reason="No ID shown")
        assert (rejected.status, rejected.rejected_by, rejected.reason) == (
            "rejected",
            "sup-1",
            "No ID shown",
        )
        with pytest.raises(ApprovalRejectedError, match="rejected by sup-1: No ID shown"):
            desk.teller.withdraw(acct, "6000", command_id="w-1")
        assert desk.sup.pending_approvals() == []

    def test_the_id_names_one_request(self, desk: Desk) -> None:
        acct = desk.teller.open_account("cust-1", "10000")
        desk.request(desk.teller, lambda: desk.teller.withdraw(acct, "6000", command_id="w-1"))
        with pytest.raises(CommandIdReusedError):
            desk.teller.withdraw(acct, "7000", command_id="w-1")
        with pytest.raises(CommandIdReusedError):
            desk.teller.deposit(acct, "10", command_id="w-1")
        with pytest.raises(CommandIdReusedError):
            desk.teller.withdraw(acct, "10", command_id="w-1")  # within the limit: still taken

    def test_a_held_request_stays_held_when_the_limit_is_raised(self, desk: Desk) -> None:
        acct = desk.teller.open_account("cust-1", "10000")
        first = desk.request(
            desk.teller, lambda: desk.teller.withdraw(acct, "6000", command_id="w-1")
        )
        desk.admin.set_approval_limit("10000")
        again = desk.request(
            desk.teller, lambda: desk.teller.withdraw(acct, "6000", command_id="w-1")
        )
        assert again == first
        assert desk.teller.get_account(acct).balance == Decimal("10000.00")

    def test_a_request_made_before_the_limit_replays_after_it(self, desk: Desk) -> None:
        desk.admin.set_approval_limit(None)
        acct = desk.teller.open_account("cust-1", "10000")
        assert desk.teller.withdraw(acct, "6000", command_id="w-1") == Decimal("4000.00")
        desk.admin.set_approval_limit(LIMIT)
        assert desk.teller.withdraw(acct, "6000", command_id="w-1") == Decimal("4000.00")
        assert desk.sup.pending_approvals() == []

    def test_execution_ids_are_not_a_clients_to_take(self, desk: Desk) -> None:
        acct = desk.teller.open_account("cust-1", "10000")
        approval_id = desk.request(desk.teller, lambda: desk.teller.withdraw(acct, "6000"))
        with pytest.raises(CommandIdReservedError):
            desk.teller.deposit(acct, "1", command_id=f"{approval_id}:execute")


class TestDeciding:
    def test_only_another_supervisor_approves(self, desk: Desk) -> None:
        acct = desk.sup.open_account("cust-1", "10000")
        approval_id = desk.request(desk.sup, lambda: desk.sup.withdraw(acct, "6000"))
        with pytest.raises(PermissionDeniedError, match="four eyes"):
            desk.sup.approve(approval_id)
        with pytest.raises(PermissionDeniedError, match="not a supervisor"):
            desk.teller.approve(approval_id)
        with pytest.raises(PermissionDeniedError, match="not a supervisor"):
            desk.admin.approve(approval_id)  # an admin manages staff; approving is not theirs
        approved = desk.sup2.approve(approval_id)
        assert (approved.status, approved.approved_by, approved.balance) == (
            "executed",
            "sup-2",
            Decimal("4000.00"),
        )

    def test_approving_twice_or_after_a_reject(self, desk: Desk) -> None:
        acct = desk.teller.open_account("cust-1", "20000")
        first = desk.request(desk.teller, lambda: desk.teller.withdraw(acct, "6000"))
        desk.sup.approve(first)
        with pytest.raises(IllegalStateError, match="approved by sup-1 and carried out"):
            desk.sup2.approve(first)
        second = desk.request(desk.teller, lambda: desk.teller.withdraw(acct, "6000"))
        desk.sup.reject(second, reason="Suspicious")
        with pytest.raises(IllegalStateError, match="rejected by sup-1"):
            desk.sup2.approve(second)
        with pytest.raises(IllegalStateError):
            desk.sup2.reject(second, reason="again")

    def test_permissions_before_existence(self, desk: Desk) -> None:
        unknown = "approval-aaaaaaaaaaaa"
        with pytest.raises(PermissionDeniedError):
            desk.teller.approve(unknown)
        with pytest.raises(PermissionDeniedError):
            desk.teller.reject(unknown, reason="x")
        with pytest.raises(ApprovalNotFoundError):
            desk.sup.approve(unknown)
        acct = desk.teller.open_account("cust-1", "1")
        with pytest.raises(ApprovalNotFoundError):
            desk.sup.approve(acct)  # another kind of stream is no request
        with pytest.raises(PermissionDeniedError):
            desk.teller.approve(acct)
        with pytest.raises(ApprovalNotFoundError):
            desk.sup.get_approval(unknown)

    def test_a_rejection_needs_a_reason(self, desk: Desk) -> None:
        acct = desk.teller.open_account("cust-1", "10000")
        approval_id = desk.request(desk.teller, lambda: desk.teller.withdraw(acct, "6000"))
        with pytest.raises(ValidationError, match="Reason is required"):
            desk.sup.reject(approval_id, reason=" ")
        assert desk.sup.get_approval(approval_id).status == "requested"

    def test_a_supervisors_request_id_makes_approve_safe_to_repeat(self, desk: Desk) -> None:
        acct = desk.teller.open_account("cust-1", "10000")
        approval_id = desk.request(desk.teller, lambda: desk.teller.withdraw(acct, "6000"))
        first = desk.sup.approve(approval_id, command_id="decide-1")
        again = desk.sup.approve(approval_id, command_id="decide-1")
        assert first == again
        assert len(money_events(desk.store, acct)) == 1


class TestCarryingOut:
    def test_the_rules_are_checked_again_when_it_runs(self, desk: Desk) -> None:
        acct = desk.teller.open_account("cust-1", "10000")
        approval_id = desk.request(
            desk.teller, lambda: desk.teller.withdraw(acct, "6000", command_id="w-1")
        )
        desk.teller.withdraw(acct, "4500")  # the balance changed meanwhile
        with pytest.raises(ApprovalFailedError, match="Insufficient funds") as raised:
            desk.sup.approve(approval_id)
        assert raised.value.approval_id == approval_id
        assert desk.teller.get_account(acct).balance == Decimal("5500.00")
        summary = desk.sup.get_approval(approval_id)
        assert (summary.status, summary.approved_by) == ("failed", "sup-1")
        assert summary.reason is not None
        assert "Insufficient funds" in summary.reason
        refused = [
            e for e in desk.store.read_stream(acct) if e.type == "approval.execution_refused"
        ]
        assert len(refused) == 1
        with pytest.raises(ApprovalFailedError):
            desk.teller.withdraw(acct, "6000", command_id="w-1")
        assert desk.teller.get_account(acct).balance == Decimal("5500.00")

    def test_execution_events_say_who_asked_and_who_approved(self, desk: Desk) -> None:
        acct = desk.teller.open_account("cust-1", "10000")
        approval_id = desk.request(desk.teller, lambda: desk.teller.withdraw(acct, "6000"))
        desk.sup.approve(approval_id)
        (withdrawn,) = [e for e in desk.store.read_stream(acct) if e.type == "money.withdrawn"]
        assert withdrawn.metadata["clerkId"] == "sup-1"  # whose process wrote it
        assert withdrawn.metadata["requestedBy"] == "teller-1"
        assert withdrawn.metadata["approvedBy"] == "sup-1"
        assert withdrawn.metadata["approvalId"] == approval_id
        assert withdrawn.metadata["commandId"] == str(internal_id(approval_id, "execute"))
        assert withdrawn.metadata["commandScope"] == "internal"
        requested = desk.store.read_stream(approval_id)[0]
        assert requested.metadata["clerkId"] == "teller-1"

    def test_an_approved_transfer(self, desk: Desk) -> None:
        source = desk.teller.open_account("cust-1", "9000")
        target = desk.teller.open_account("cust-2", "0")
        approval_id = desk.request(
            desk.teller, lambda: desk.teller.transfer(source, target, "7000", command_id="t-1")
        )
        done = desk.sup.approve(approval_id)
        assert done.status == "executed"
        assert done.transfer_id is not None
        assert desk.teller.transfer(source, target, "7000", command_id="t-1") == done.transfer_id
        assert desk.teller.get_account(source).balance == Decimal("2000.00")
        assert desk.teller.get_account(target).balance == Decimal("7000.00")
        for account in (source, target):
            (leg,) = money_events(desk.store, account)
            assert leg.metadata["approvedBy"] == "sup-1"
            assert leg.metadata["requestedBy"] == "teller-1"

    def test_an_approved_transfer_whose_source_was_drained_fails(self, desk: Desk) -> None:
        source = desk.teller.open_account("cust-1", "9000")
        target = desk.teller.open_account("cust-2", "0")
        approval_id = desk.request(
            desk.teller, lambda: desk.teller.transfer(source, target, "7000")
        )
        desk.teller.withdraw(source, "3000")
        with pytest.raises(ApprovalFailedError, match="Insufficient funds"):
            desk.sup.approve(approval_id)
        assert desk.teller.get_account(source).balance == Decimal("6000.00")
        assert desk.teller.get_account(target).balance == Decimal("0.00")

    def test_an_approved_transfer_to_an_account_closed_meanwhile_is_paid_back(
        self, desk: Desk
    ) -> None:
        source = desk.teller.open_account("cust-1", "9000")
        target = desk.teller.open_account("cust-2", "0")
        approval_id = desk.request(
            desk.teller, lambda: desk.teller.transfer(source, target, "7000")
        )
        desk.teller.close_account(target)
        with pytest.raises(ApprovalFailedError, match="got the money back"):
            desk.sup.approve(approval_id)
        assert desk.teller.get_account(source).balance == Decimal("9000.00")

    def test_seed_style_balances_stay_right(self, desk: Desk) -> None:
        """A service built from the seed knows four event types; the rest it ignores."""
        acct = desk.teller.open_account("cust-1", "10000")
        ok = desk.request(desk.teller, lambda: desk.teller.withdraw(acct, "6000"))
        refused = desk.request(desk.teller, lambda: desk.teller.withdraw(acct, "5500"))
        rejected = desk.request(desk.teller, lambda: desk.teller.withdraw(acct, "5200"))
        desk.sup.approve(ok)
        with pytest.raises(ApprovalFailedError):
            desk.sup.approve(refused)
        desk.sup.reject(rejected, reason="no")
        balance = Decimal(0)
        for event in desk.store.read_all(limit=10_000):
            if event.stream_id != acct:
                continue
            if event.type == "account.opened":
                balance = event.data["initialBalance"]
            elif event.type == "money.deposited":
                balance += event.data["amount"]
            elif event.type == "money.withdrawn":
                balance -= event.data["amount"]
        assert balance == desk.teller.get_account(acct).balance == Decimal("4000.00")


class TestRecovery:
    @pytest.mark.parametrize("step", ["approved", "carried-out"])
    def test_a_crash_after_approval_is_finished_by_recover(self, desk: Desk, step: str) -> None:
        acct = desk.teller.open_account("cust-1", "10000")
        approval_id = desk.request(
            desk.teller, lambda: desk.teller.withdraw(acct, "6000", command_id="w-1")
        )
        dying = desk.clerk("sup-1", on_approval_step=crash_at(step))
        with pytest.raises(Crash):
            dying.approve(approval_id)
        assert desk.sup.get_approval(approval_id).status == "approved"
        report = desk.clerk("recoverer").recover()
        assert report.approvals_executed == [approval_id]
        assert desk.teller.get_account(acct).balance == Decimal("4000.00")
        assert len(money_events(desk.store, acct)) == 1
        assert desk.clerk("recoverer").recover().approvals_executed == []
        assert desk.teller.withdraw(acct, "6000", command_id="w-1") == Decimal("4000.00")

    def test_a_crashed_transfer_approval_is_finished_once(self, desk: Desk) -> None:
        source = desk.teller.open_account("cust-1", "9000")
        target = desk.teller.open_account("cust-2", "0")
        approval_id = desk.request(
            desk.teller, lambda: desk.teller.transfer(source, target, "7000")
        )
        dying = desk.clerk("sup-1", on_transfer_step=crash_at("debited"))
        with pytest.raises(Crash):
            dying.approve(approval_id)
        report = desk.clerk("recoverer").recover()
        assert report.approvals_executed == [approval_id]
        assert desk.teller.get_account(source).balance == Decimal("2000.00")
        assert desk.teller.get_account(target).balance == Decimal("7000.00")
        assert desk.sup.get_approval(approval_id).status == "executed"

    def test_recent_approvals_are_left_to_their_approver(self, desk: Desk) -> None:
        from datetime import timedelta

        acct = desk.teller.open_account("cust-1", "10000")
        approval_id = desk.request(desk.teller, lambda: desk.teller.withdraw(acct, "6000"))
        with pytest.raises(Crash):
            desk.clerk("sup-1", on_approval_step=crash_at("approved")).approve(approval_id)
        recoverer = desk.clerk("recoverer")
        assert recoverer.recover(older_than=timedelta(hours=1)).approvals_executed == []
        assert recoverer.recover().approvals_executed == [approval_id]


def test_eight_supervisors_approving_at_once_carry_it_out_once(store: EventStore) -> None:
    desk = Desk(store)
    supervisors = [f"sup-{i}" for i in range(3, 11)]
    for clerk in supervisors:
        desk.admin.grant_role(clerk, "supervisor")
    acct = desk.teller.open_account("cust-1", "10000")
    approval_id = desk.request(desk.teller, lambda: desk.teller.withdraw(acct, "6000"))
    banks = [desk.clerk(clerk) for clerk in supervisors]
    start = threading.Barrier(len(banks))
    outcomes: list[str] = []

    def approve(bank: BankService) -> None:
        start.wait()
        try:
            bank.approve(approval_id)
        except IllegalStateError:
            outcomes.append("refused")
        else:
            outcomes.append("approved")

    threads = [threading.Thread(target=approve, args=(bank,)) for bank in banks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["approved"] + ["refused"] * 7
    assert len(money_events(store, acct)) == 1
    assert desk.teller.get_account(acct).balance == Decimal("4000.00")
    assert desk.sup.get_approval(approval_id).status == "executed"


class TestReversals:
    """A reversal of an amount above the limit waits for a supervisor like a withdrawal."""

    def test_a_large_reversal_waits_and_is_carried_out_once_approved(self, desk: Desk) -> None:
        acct = desk.teller.open_account("cust-1", "100")
        desk.teller.deposit(acct, "8000", description="Keyed 8000 instead of 80")
        deposit_id = desk.store.read_stream(acct)[-1].event_id
        approval_id = desk.request(
            desk.teller,
            lambda: desk.teller.reverse(acct, deposit_id, "Keyed 8000", command_id="r-1"),
        )
        (pending,) = desk.sup.pending_approvals()
        assert (pending.kind, pending.amount, pending.event_id, pending.request_reason) == (
            "reversal",
            Decimal("8000.00"),
            deposit_id,
            "Keyed 8000",
        )
        assert desk.teller.get_account(acct).balance == Decimal("8100.00")
        done = desk.sup.approve(approval_id)
        assert (done.status, done.balance) == ("executed", Decimal("100.00"))
        assert desk.teller.reverse(acct, deposit_id, "Keyed 8000", command_id="r-1") == Decimal(
            "100.00"
        )
        (reversal,) = [e for e in desk.store.read_stream(acct) if e.data.get("reversesEventId")]
        assert reversal.type == "money.withdrawn"
        assert reversal.metadata["approvedBy"] == "sup-1"

    def test_a_reversal_the_balance_no_longer_covers_fails_on_record(self, desk: Desk) -> None:
        acct = desk.teller.open_account("cust-1", "0")
        desk.teller.deposit(acct, "4000")
        desk.teller.deposit(acct, "4000")
        deposit_id = desk.store.read_stream(acct)[-1].event_id
        desk.admin.set_approval_limit("3000")
        approval_id = desk.request(
            desk.teller, lambda: desk.teller.reverse(acct, deposit_id, "Keyed twice")
        )
        desk.teller.withdraw(acct, "2500")
        desk.teller.withdraw(acct, "2500")  # 3000 left: the 4000 deposit can no longer go back
        with pytest.raises(ApprovalFailedError, match="Insufficient funds"):
            desk.sup.approve(approval_id)
        assert desk.teller.get_account(acct).balance == Decimal("3000.00")

    def test_small_reversals_and_refusals_are_as_before(self, desk: Desk) -> None:
        acct = desk.teller.open_account("cust-1", "0")
        desk.teller.deposit(acct, "50")
        deposit_id = desk.store.read_stream(acct)[-1].event_id
        with pytest.raises(ValidationError, match="Reason is required"):
            desk.teller.reverse(acct, deposit_id, "")
        assert desk.teller.reverse(acct, deposit_id, "Wrong account") == Decimal("0.00")
        assert desk.sup.pending_approvals() == []


def test_the_why_view_and_the_journal_say_who_asked_and_who_approved(desk: Desk) -> None:
    from datetime import UTC, datetime

    from bank_desktop.application.journal import journal_csv, journal_from_store
    from bank_desktop.application.projections import load_ledger
    from bank_desktop.application.projections.why import explain_line

    acct = desk.teller.open_account("cust-1", "10000")
    approval_id = desk.request(desk.teller, lambda: desk.teller.withdraw(acct, "6000"))
    desk.sup.approve(approval_id)
    (withdrawn,) = [e for e in desk.store.read_stream(acct) if e.type == "money.withdrawn"]
    lines = explain_line(load_ledger(desk.store, acct), withdrawn.event_id).lines()
    assert "Approval: requested by teller-1, approved by sup-1" in lines
    day = datetime.fromisoformat(withdrawn.data["withdrawnAt"]).date()  # the desk's clock's day
    journal = journal_from_store(desk.store, day, UTC)
    (line,) = [line for line in journal.lines if line.kind == "withdrawal"]
    assert (line.requested_by, line.approved_by, line.clerk_id) == ("teller-1", "sup-1", "sup-1")
    assert "teller-1,sup-1" in journal_csv(journal)
