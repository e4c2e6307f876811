"""The approval process: holds requests above the limit, and carries out approved ones once.

A withdrawal or transfer (later also a reversal) above the approval limit records a request
in its own stream (``approval-<digest of the request id>``) and moves no money; the clerk gets
:class:`~bank_desktop.domain.errors.ApprovalRequired`. Repeating the original request with the
same command id reports where it stands: still pending (``ApprovalRequired`` again, same id),
carried out (the original command's result), rejected or failed (a ``DomainError`` with the
reason).

A supervisor's approval is recorded first; then the held command runs under an id of its own
in the internal namespace (``internal_id(approval_id, "execute")``), with the rules checked
again as they stand then, and the outcome is recorded::

    requested ─approve─▶ approved ─carry out─▶ executed
        │                     └──────────────▶ failed    (refused when it ran)
        └──reject──▶ rejected

Carrying out is fenced where the money is, like a transfer's debit: a withdrawal is
``ExecuteApproved`` in the account's stream, whose refusal is recorded there, so the execution
id is consumed either way; a transfer is a transfer whose own debit leg is fenced. Any driver
(the approving supervisor's process, or ``recover()`` anywhere after a crash) can therefore
run it again and the store applies it at most once, with the same outcome for everyone.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final, TypeVar

from bank_desktop.application.clock import Clock, wire_precision
from bank_desktop.application.command_handling import CommandHandler
from bank_desktop.application.ids import (
    ScopedCommandId,
    approval_id_for,
    checked_command_id,
    internal_id,
    is_approval_id,
    transfer_id_for,
)
from bank_desktop.application.projections.approvals import (
    ApprovalsProjection,
    ApprovalSummary,
    summary_of,
)
from bank_desktop.application.request_claims import RequestClaims
from bank_desktop.application.staff_register import StaffRegister
from bank_desktop.application.stream_kinds import ACCOUNTS, APPROVALS, acting
from bank_desktop.application.transfer_process import TransferProcess
from bank_desktop.domain import accounts, approvals, policy, transfers
from bank_desktop.domain.errors import (
    ApprovalFailedError,
    ApprovalNotFoundError,
    ApprovalRejectedError,
    ApprovalRequired,
    CommandIdReusedError,
    DomainError,
    IllegalStateError,
    UnreadableHistoryError,
    ValidationError,
)
from bank_desktop.domain.money import format_money
from bank_desktop.domain.text import required_text
from bank_desktop.eventstore.errors import EventStoreError
from bank_desktop.eventstore.port import EventStore

_log = logging.getLogger(__name__)

T = TypeVar("T")
MetadataFactory = Callable[[str, str], Mapping[str, Any]]
#: Called after each durable step with (approval id, step name): tracing, and crash tests.
StepObserver = Callable[[str, str], None]
#: Makes the transfer process an approved transfer runs in (its legs carry ``metadata``).
TransferProcessFactory = Callable[[MetadataFactory], TransferProcess]
_PAGE: Final = 1000


@dataclass(frozen=True, slots=True)
class Outcome:
    """What carrying out a held command gave: a balance or a transfer id, or why it failed."""

    balance: Decimal | None = None
    transfer_id: str | None = None
    failure: str | None = None


#: Carries out one kind of held command under the execution id, with the execution's metadata.
Executor = Callable[[approvals.ApprovalState, ScopedCommandId, Mapping[str, Any]], Outcome]


@dataclass(slots=True)
class ApprovalRecovery:
    """What ``recover()`` did to each approved request it found not yet carried out."""

    executed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  #: refused by the rules when run
    errors: dict[str, str] = field(default_factory=dict)  #: could not be run now


class ApprovalQueue:
    """The approvals projection, brought up to date from the store before every answer."""

    def __init__(self, store: EventStore) -> None:
        self._store = store
        self._projection = ApprovalsProjection()
        self._lock = threading.Lock()

    def current(self) -> ApprovalsProjection:
        with self._lock:
            while True:
                batch = self._store.read_all(
                    after=self._projection.checkpoint,
                    limit=_PAGE,
                    types=approvals.APPROVAL_EVENT_TYPES,
                    with_metadata=False,
                )
                self._projection.apply(batch)
                if len(batch) < _PAGE:
                    return self._projection


class ApprovalProcess:
    """Requests, decisions and execution of held commands for one acting clerk."""

    def __init__(
        self,
        handler: CommandHandler,
        claims: RequestClaims,
        staff: StaffRegister,
        *,
        clerk_id: str,
        clock: Clock,
        metadata: MetadataFactory,
        transfer_process: TransferProcessFactory,
        on_step: StepObserver | None = None,
    ) -> None:
        self._handler = handler
        self._claims = claims
        self._staff = staff
        self._clerk = clerk_id
        self._clock = clock
        self._metadata = metadata
        self._transfer_process = transfer_process
        self._on_step = on_step
        self._queue = ApprovalQueue(handler.store)
        self._executors: dict[approvals.ApprovalKind, Executor] = {
            "withdrawal": self._withdraw,
            "transfer": self._transfer,
        }
        self._first_seen: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def _now(self) -> datetime:
        return wire_precision(self._clock())

    def _step(self, approval_id: str, step: str) -> None:
        if self._on_step is not None:
            self._on_step(approval_id, step)

    def add_executor(self, kind: approvals.ApprovalKind, executor: Executor) -> None:
        """Teach the process to carry out another kind of held command (e.g. reversals)."""
        self._executors[kind] = executor

    # ── asking ────────────────────────────────────────────────────────────────────────────

    def guard(
        self,
        held: approvals.HeldRequest,
        command_id: str,
        *,
        claimed: bool,
        precheck: Callable[[], object],
        direct: Callable[[], T],
        result: Callable[[approvals.ApprovalState], T],
    ) -> T:
        """Run ``direct`` when the policy lets ``held`` through; otherwise hold it for approval
        (after ``precheck``, which raises what the rules would refuse now) and raise
        ApprovalRequired. A repeat of a held request (same command id) reports its state:
        ``result`` of it once carried out.

        ``claimed``: ``command_id`` came from the client (it names one request forever).
        """
        rules = self._staff.policy()
        approval_id = approval_id_for(command_id)
        if not policy.needs_approval(rules, held.amount):
            if not claimed:
                return direct()
            try:
                return direct()
            except CommandIdReusedError:  # held for approval before the limit changed?
                existing = self.state(approval_id)
                if existing.held != held:
                    raise
                return self._report(existing, result)
        existing = self.state(approval_id)
        if existing.status != "none":
            if existing.held != held:
                raise CommandIdReusedError(command_id)
            return self._report(existing, result)
        if claimed and self._claims.bound_stream(command_id) not in (None, approval_id):
            return direct()  # used before the limit applied to it: its result, or a refusal
        precheck()
        limit = rules.approval_limit if rules.unrecognized is None else None
        request = approvals.RequestApproval(approval_id, held, self._clerk, limit, self._now())
        metadata = self._metadata(approval_id, command_id)
        pending = None
        if claimed:
            pending = self._claims.pending(command_id, approval_id, held, metadata)
        outcome = self._handler.execute(
            approval_id,
            request,
            APPROVALS,
            command_id=command_id,
            metadata=metadata,
            claim=pending,
        )
        if not outcome.replayed:
            self._step(approval_id, "requested")
        return self._report(outcome.state, result)

    def _report(
        self, state: approvals.ApprovalState, result: Callable[[approvals.ApprovalState], T]
    ) -> T:
        """Where a held request stands, as its requester hears it."""
        approval_id = state.approval_id or ""
        if state.status == "requested":
            raise _pending(state)
        if state.status == "rejected":
            raise ApprovalRejectedError(approval_id, state.decided_by or "", state.reason or "")
        return result(self.finish(state))

    # ── deciding ──────────────────────────────────────────────────────────────────────────

    def approve(self, approval_id: str, *, command_id: str | None = None) -> ApprovalSummary:
        """Approve and carry out; returns the request once carried out (ApprovalFailedError
        when the rules, checked again, refused it)."""
        approval = _approval_id(approval_id)
        command = approvals.ApproveRequest(approval, self._clerk, self._now())
        state = self._decide(approval, command, command_id)
        self._step(approval, "approved")
        return self._summary(self.finish(state))

    def reject(
        self, approval_id: str, reason: str, *, command_id: str | None = None
    ) -> ApprovalSummary:
        approval = _approval_id(approval_id)
        command = approvals.RejectRequest(approval, self._clerk, reason, self._now())
        return self._summary(self._decide(approval, command, command_id))

    def _decide(
        self,
        approval_id: str,
        command: approvals.ApproveRequest | approvals.RejectRequest,
        command_id: str | None,
    ) -> approvals.ApprovalState:
        key = checked_command_id(command_id)
        roles = self._staff.roles_of(self._clerk)
        if not is_approval_id(approval_id):  # no such request: say so (or why you may not ask)
            approvals.decide(command, approvals.initial_state(), roles)
        kind = acting(APPROVALS, approvals.decide, roles)
        metadata = self._metadata(approval_id, key)
        pending = None
        if command_id is not None:
            pending = self._claims.pending(key, approval_id, command, metadata)
        result = self._handler.execute(
            approval_id, command, kind, command_id=key, metadata=metadata, claim=pending
        )
        return self.state(approval_id) if result.replayed else result.state

    # ── reading ───────────────────────────────────────────────────────────────────────────

    def state(self, approval_id: str) -> approvals.ApprovalState:
        """The request as the store holds it now (never read from a stream of another kind)."""
        if not is_approval_id(approval_id):
            return approvals.initial_state()
        state, _ = self._handler.current(approval_id, APPROVALS)
        return state

    def get(self, approval_id: str) -> ApprovalSummary:
        approval = _approval_id(approval_id)
        return self._summary(self.state(approval), action="look up the request")

    def pending(self) -> list[ApprovalSummary]:
        return self._queue.current().pending()

    @staticmethod
    def _summary(
        state: approvals.ApprovalState, action: str = "decide on the request"
    ) -> ApprovalSummary:
        if state.held is None:
            raise ApprovalNotFoundError(state.approval_id or "", action)
        return summary_of(state)

    # ── carrying out ──────────────────────────────────────────────────────────────────────

    def finish(self, state: approvals.ApprovalState) -> approvals.ApprovalState:
        """Carry out an approved request (once, whoever else tries); raises
        ApprovalFailedError for one the rules refused. Other states are returned as they are."""
        if state.status == "approved":
            state = self._carry_out(state)
        if state.status == "failed":
            raise ApprovalFailedError(state.approval_id or "", state.reason or "")
        return state

    def _carry_out(self, state: approvals.ApprovalState) -> approvals.ApprovalState:
        approval_id = state.approval_id
        assert approval_id is not None
        assert state.held is not None
        metadata = {
            **self._metadata(approval_id, approval_id),
            "approvalId": approval_id,
            "requestedBy": state.requested_by,
            "approvedBy": state.approved_by,
        }
        executor = self._executors.get(state.held.kind)
        if executor is None:  # a kind a newer version holds: leave it to that version
            raise UnreadableHistoryError(approval_id, "Request", f"kind {state.held.kind!r}")
        outcome = executor(state, internal_id(approval_id, "execute"), metadata)
        self._step(approval_id, "carried-out")
        at = self._now()
        if outcome.failure is not None:
            failure = outcome.failure[: approvals.REASON_LIMIT]
            return self._advance(approvals.RecordFailure(approval_id, failure, at), "failed")
        record = approvals.RecordExecution(approval_id, outcome.balance, outcome.transfer_id, at)
        return self._advance(record, "executed")

    def _advance(
        self, command: approvals.RecordExecution | approvals.RecordFailure, name: str
    ) -> approvals.ApprovalState:
        approval_id = command.approval_id
        try:
            result = self._handler.execute(
                approval_id,
                command,
                APPROVALS,
                command_id=internal_id(approval_id, name),
                metadata=self._metadata(approval_id, approval_id),
            )
        except UnreadableHistoryError:
            raise
        except IllegalStateError:  # another driver recorded the outcome first: the same one
            return self.state(approval_id)
        if not result.replayed:
            self._step(approval_id, name)
        return result.state

    def _withdraw(
        self,
        state: approvals.ApprovalState,
        execution_id: ScopedCommandId,
        metadata: Mapping[str, Any],
    ) -> Outcome:
        held = state.held
        assert held is not None
        assert state.approval_id is not None
        command = accounts.ExecuteApproved(
            state.approval_id,
            accounts.WithdrawMoney(held.account_id, held.amount, held.description, self._now()),
        )
        return self.run_on_account(held.account_id, command, execution_id, metadata)

    def run_on_account(
        self,
        account_id: str,
        command: accounts.ExecuteApproved,
        execution_id: ScopedCommandId,
        metadata: Mapping[str, Any],
    ) -> Outcome:
        """Run ``command`` in the account's stream; the outcome, whoever ran it first."""
        try:
            result = self._handler.execute(
                account_id, command, ACCOUNTS, command_id=execution_id, metadata=metadata
            )
        except UnreadableHistoryError:
            raise  # not known to be refused: leave it approved for a later try
        except DomainError as refusal:  # no such account: nothing moved, nothing can
            return Outcome(failure=refusal.message)
        for recorded in result.events:
            if recorded.type == accounts.ApprovedCommandRefused.type:
                data = recorded.data if isinstance(recorded.data, dict) else {}
                return Outcome(failure=str(data.get("reason") or "Refused when carried out."))
        return Outcome(balance=result.state.balance)

    def _transfer(
        self,
        state: approvals.ApprovalState,
        execution_id: ScopedCommandId,
        metadata: Mapping[str, Any],
    ) -> Outcome:
        held = state.held
        assert held is not None
        assert held.to_account_id is not None
        transfer_id = transfer_id_for(str(execution_id))
        extra = {key: metadata[key] for key in ("approvalId", "requestedBy", "approvedBy")}
        process = self._transfer_process(
            lambda correlation, causation: {**self._metadata(correlation, causation), **extra}
        )
        request = transfers.RequestTransfer(
            transfer_id,
            held.account_id,
            held.to_account_id,
            held.amount,
            held.description,
            self._now(),
        )
        try:
            final = process.run_decided(request, command_id=execution_id)
        except UnreadableHistoryError:
            raise
        except DomainError as refusal:  # the same account twice, say: refused whoever runs it
            return Outcome(failure=refusal.message)
        if final.status == "completed":
            return Outcome(transfer_id=transfer_id)
        reason = final.reason or f"the transfer was {final.status}."
        if final.status == "reversed":
            reason = f"{reason} The transfer was reversed; {held.account_id} got the money back."
        return Outcome(transfer_id=transfer_id, failure=reason)

    # ── recovery ──────────────────────────────────────────────────────────────────────────

    def recover(self, *, older_than: timedelta = timedelta(0)) -> ApprovalRecovery:
        """Carry out every request approved at least ``older_than`` ago (or first seen here
        that long ago: the stamp comes from another desk's clock) and not yet carried out."""
        report = ApprovalRecovery()
        now = self._now()
        due = self._queue.current().approved_unfinished()
        cutoff = now - older_than if older_than > timedelta(0) else None
        with self._lock:
            for approval_id in list(self._first_seen):
                if approval_id not in due:
                    del self._first_seen[approval_id]
            ready = [
                approval_id
                for approval_id, at in due.items()
                if cutoff is None
                or at <= cutoff
                or self._first_seen.setdefault(approval_id, now) <= cutoff
            ]
        for approval_id in ready:
            try:
                final = self.finish(self.state(approval_id))
            except ApprovalFailedError:
                report.failed.append(approval_id)
            except (EventStoreError, DomainError) as exc:
                _log.warning("Could not carry out approved request %s: %s", approval_id, exc)
                report.errors[approval_id] = str(exc)
            else:
                if final.status == "executed":
                    report.executed.append(approval_id)
        return report


def balance_after(state: approvals.ApprovalState) -> Decimal:
    """A carried-out withdrawal's or reversal's result: the balance right after it."""
    assert state.balance is not None
    return state.balance


def transfer_made(state: approvals.ApprovalState) -> str:
    """A carried-out transfer's result: its id."""
    assert state.transfer_id is not None
    return state.transfer_id


def _pending(state: approvals.ApprovalState) -> ApprovalRequired:
    held = state.held
    approval_id = state.approval_id or ""
    assert held is not None
    limit = "" if state.limit is None else f" of {format_money(state.limit)}"
    return ApprovalRequired(
        approval_id,
        f"Sent for approval ({approval_id}): a {held.describe()} is above the approval limit"
        f"{limit} and waits for a supervisor. No money has moved.",
        {
            "kind": held.kind,
            "accountId": held.account_id,
            "amount": str(held.amount),
            "approvalLimit": None if state.limit is None else str(state.limit),
            "requestedBy": state.requested_by,
        },
    )


def _approval_id(value: object) -> str:
    if not isinstance(value, str):
        raise ValidationError("Approval id must be text.", {"field": "approvalId"})
    return required_text(value, "Approval id", max_length=200)
