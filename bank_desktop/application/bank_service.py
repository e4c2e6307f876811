"""``BankService``: the facade the window, the HTTP API, scripts and tests all use.

Amounts go in as text, ``Decimal`` or ``int`` (a float raises ``TypeError``); every command
takes an optional ``command_id`` idempotency key, and every event records the clerk. A key the
caller gives names one request forever: it is claimed in the store in the same transaction as
the command's events (:mod:`~bank_desktop.application.request_claims`), so reusing it for
anything else is refused on every stream and in every process.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from bank_desktop import __version__
from bank_desktop.application.approval_process import (
    ApprovalProcess,
    MetadataFactory,
    balance_after,
    transfer_made,
)
from bank_desktop.application.clock import Clock, system_clock, wire_precision
from bank_desktop.application.command_handling import CommandHandler
from bank_desktop.application.ids import account_id_for, checked_command_id, transfer_id_for
from bank_desktop.application.projections.approvals import ApprovalSummary
from bank_desktop.application.request_claims import RequestClaims
from bank_desktop.application.staff_register import StaffRegister
from bank_desktop.application.stream_kinds import ACCOUNTS
from bank_desktop.application.teller_service import TellerDay
from bank_desktop.application.transfer_process import RecoveryReport, StepObserver, TransferProcess
from bank_desktop.backoff import Backoff
from bank_desktop.domain import accounts, approvals, transfers
from bank_desktop.domain.errors import AccountNotFoundError, ValidationError
from bank_desktop.domain.money import MoneyInput, parse_money
from bank_desktop.domain.staff import Role, StaffState
from bank_desktop.domain.text import required_text
from bank_desktop.eventstore.port import EventStore


class BankService(TellerDay):
    """Open, deposit, withdraw, transfer, close and look up accounts on one event store; the
    teller's day (customers, reversals, holds) comes from :class:`TellerDay`."""

    def __init__(
        self,
        store: EventStore,
        clerk_id: str = "clerk",
        *,
        clock: Clock = system_clock,
        cache_size: int = 10_000,
        retry: Backoff | None = None,
        on_transfer_step: StepObserver | None = None,
        on_approval_step: StepObserver | None = None,
    ) -> None:
        self._store = store
        self._clerk_id = required_text(clerk_id, "Clerk id", max_length=64)
        self._clock = clock
        self._handler = CommandHandler(store, cache_size=cache_size, retry=retry)
        self._claims = RequestClaims(store, appender=self._handler.appender)
        self._on_transfer_step = on_transfer_step
        self._transfers = self._transfer_process(self._metadata)
        self._staff = StaffRegister(
            self._handler,
            self._claims,
            clerk_id=self._clerk_id,
            clock=clock,
            metadata=self._metadata,
        )
        self._approvals = ApprovalProcess(
            self._handler,
            self._claims,
            self._staff,
            clerk_id=self._clerk_id,
            clock=clock,
            metadata=self._metadata,
            transfer_process=self._transfer_process,
            on_step=on_approval_step,
        )
        self._approvals.add_executor("reversal", self._carry_out_reversal)

    def _transfer_process(self, metadata: MetadataFactory) -> TransferProcess:
        return TransferProcess(
            self._handler,
            clock=self._clock,
            metadata=metadata,
            on_step=self._on_transfer_step,
            claims=self._claims,
        )

    @property
    def store(self) -> EventStore:
        return self._store

    @property
    def clerk_id(self) -> str:
        return self._clerk_id

    def _metadata(self, correlation_id: str, causation_id: str) -> Mapping[str, Any]:
        return {
            "clerkId": self._clerk_id,
            "correlationId": correlation_id,
            "causationId": causation_id,
            "appVersion": __version__,
        }

    def _now(self) -> datetime:
        return wire_precision(self._clock())

    def _run(
        self, account_id: str, command: accounts.AccountCommand, command_id: str, *, claim: bool
    ) -> accounts.AccountState:
        """Run an account command; ``claim``: the id came from the caller, so bind it to this
        request before anything is written."""
        metadata = self._metadata(command_id, command_id)
        return self._handler.execute(
            account_id,
            command,
            ACCOUNTS,
            command_id=command_id,
            metadata=metadata,
            claim=self._claims.pending(command_id, account_id, command, metadata)
            if claim
            else None,
        ).state

    # ── commands ──────────────────────────────────────────────────────────────────────────

    def open_account(
        self,
        customer_id: str,
        initial_balance: MoneyInput = "0",
        *,
        command_id: str | None = None,
    ) -> str:
        """Open an account; returns its id (the same id again for a repeated command id)."""
        amount = parse_money(initial_balance, field="Initial balance")
        key = checked_command_id(command_id)
        account_id = account_id_for(key)
        command = accounts.OpenAccount(account_id, customer_id, amount, self._now())
        self._run(account_id, command, key, claim=command_id is not None)
        return account_id

    def deposit(
        self,
        account_id: str,
        amount: MoneyInput,
        description: str | None = None,
        *,
        command_id: str | None = None,
    ) -> Decimal:
        """Deposit; returns the balance right after this deposit."""
        value = parse_money(amount)
        account = _account_id(account_id)
        key = checked_command_id(command_id)
        command = accounts.DepositMoney(account, value, description, self._now())
        return self._run(account, command, key, claim=command_id is not None).balance

    def withdraw(
        self,
        account_id: str,
        amount: MoneyInput,
        description: str | None = None,
        *,
        command_id: str | None = None,
    ) -> Decimal:
        """Withdraw (never below zero); returns the balance right after this withdrawal.

        Above the approval limit: ApprovalRequired, and nothing moves until a supervisor
        approves (then a repeat with the same ``command_id`` returns this result).
        """
        value = parse_money(amount)
        account = _account_id(account_id)
        key = checked_command_id(command_id)
        command = accounts.WithdrawMoney(account, value, description, self._now())
        claimed = command_id is not None
        return self._approvals.guard(
            approvals.held_request("withdrawal", account, value, description=description),
            key,
            claimed=claimed,
            precheck=lambda: accounts.decide(command, self._handler.current(account, ACCOUNTS)[0]),
            direct=lambda: self._run(account, command, key, claim=claimed).balance,
            result=balance_after,
        )

    def transfer(
        self,
        from_account_id: str,
        to_account_id: str,
        amount: MoneyInput,
        description: str | None = None,
        *,
        command_id: str | None = None,
    ) -> str:
        """Move money between two accounts; returns the transfer id once it has completed.

        Above the approval limit: ApprovalRequired, as for a withdrawal.
        """
        value = parse_money(amount)
        source = _account_id(from_account_id, "Source account")
        target = _account_id(to_account_id, "Target account")
        key = checked_command_id(command_id)
        claimed = command_id is not None
        request = transfers.RequestTransfer(
            transfer_id_for(key), source, target, value, description, self._now()
        )
        held = approvals.held_request(
            "transfer", source, value, description=description, to_account_id=target
        )
        return self._approvals.guard(
            held,
            key,
            claimed=claimed,
            precheck=lambda: self._transfers.precheck(request),
            direct=lambda: self._transfers.start(
                source, target, value, description, command_id=key, claim=claimed
            ),
            result=transfer_made,
        )

    def close_account(
        self, account_id: str, reason: str | None = None, *, command_id: str | None = None
    ) -> None:
        """Close an account; only possible at a zero balance."""
        account = _account_id(account_id)
        key = checked_command_id(command_id)
        command = accounts.CloseAccount(account, reason, self._now())
        self._run(account, command, key, claim=command_id is not None)

    # ── dual control: staff, policy, approvals (DESIGN §10) ──────────────────────────────

    def grant_role(
        self, clerk_id: str, role: str, *, command_id: str | None = None
    ) -> frozenset[Role]:
        """Grant a role (admins only; the first admin only on a store with none); returns
        every role the clerk then holds."""
        return self._staff.grant(clerk_id, role, command_id=command_id)

    def revoke_role(
        self, clerk_id: str, role: str, *, command_id: str | None = None
    ) -> frozenset[Role]:
        return self._staff.revoke(clerk_id, role, command_id=command_id)

    def staff(self) -> StaffState:
        """The staff register as the store holds it now (roles and tokens per clerk)."""
        return self._staff.state()

    def roles_of(self, clerk_id: str | None = None) -> frozenset[Role]:
        """The roles of ``clerk_id`` (default: this service's clerk), read from the store."""
        return self._staff.roles_of(clerk_id or self._clerk_id)

    def set_approval_limit(
        self, limit: MoneyInput | None, *, command_id: str | None = None
    ) -> Decimal | None:
        """Set the approval limit (admins only); None removes it. Returns the limit."""
        value = None if limit is None else parse_money(limit, field="Approval limit")
        return self._staff.set_approval_limit(value, command_id=command_id).approval_limit

    def approval_limit(self) -> Decimal | None:
        """The approval limit as the store holds it now (None: no limit)."""
        return self._staff.policy().approval_limit

    def issue_token(self, clerk_id: str) -> str:
        """A new API token for ``clerk_id``, replacing their previous one (admins only once
        the store has an admin). Shown once: the store keeps only its keyed hash."""
        return self._staff.issue_token(clerk_id)

    def revoke_token(self, clerk_id: str) -> bool:
        """Revoke the clerk's API token (admins, or the clerk); False if they had none."""
        return self._staff.revoke_token(clerk_id)

    def authenticate(self, token: str) -> str | None:
        """The clerk an API token belongs to, or None; reads the register first."""
        return self._staff.authenticate(token)

    def pending_approvals(self) -> list[ApprovalSummary]:
        """Requests waiting for a supervisor, oldest first, read from the store."""
        return self._approvals.pending()

    def get_approval(self, approval_id: str) -> ApprovalSummary:
        """One request and where it stands; ApprovalNotFoundError if there is none."""
        return self._approvals.get(approval_id)

    def approve(self, approval_id: str, *, command_id: str | None = None) -> ApprovalSummary:
        """Approve another clerk's request (supervisors only) and carry it out, once."""
        return self._approvals.approve(approval_id, command_id=command_id)

    def reject(
        self, approval_id: str, reason: str, *, command_id: str | None = None
    ) -> ApprovalSummary:
        """Reject a request (supervisors only), recording why."""
        return self._approvals.reject(approval_id, reason, command_id=command_id)

    # ── queries and upkeep ────────────────────────────────────────────────────────────────

    def get_account(self, account_id: str) -> accounts.AccountState:
        """The account's current state, read from the store; AccountNotFoundError if none.
        Its ``holds`` are those active now, so ``available_balance`` is what can be drawn."""
        account = _account_id(account_id)
        state, _ = self._handler.current(account, ACCOUNTS)
        if not state.exists:
            raise AccountNotFoundError(account, "look up the account")
        return state.active_at(self._now())

    def recover(
        self,
        *,
        older_than: timedelta = timedelta(0),
        candidates: Mapping[str, datetime] | None = None,
    ) -> RecoveryReport:
        """Finish or reverse unfinished transfers, and carry out approved requests not yet
        carried out (run at start-up and now and then).

        Without ``candidates`` every transfer event in the store is scanned once per service;
        a caller holding a read model passes its unfinished transfers (id → requested at).
        """
        report = self._transfers.recover(older_than=older_than, candidates=candidates)
        approved = self._approvals.recover(older_than=older_than)
        report.approvals_executed.extend(approved.executed)
        report.approvals_failed.extend(approved.failed)
        report.failed.update(approved.errors)
        return report


def _account_id(value: object, field: str = "Account id") -> str:
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be text.", {"field": field})
    return required_text(value, field, max_length=200)
