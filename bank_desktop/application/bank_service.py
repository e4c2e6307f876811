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
from bank_desktop.application.clock import Clock, system_clock, wire_precision
from bank_desktop.application.command_handling import CommandHandler
from bank_desktop.application.ids import account_id_for, checked_command_id
from bank_desktop.application.request_claims import RequestClaims
from bank_desktop.application.stream_kinds import ACCOUNTS
from bank_desktop.application.transfer_process import RecoveryReport, StepObserver, TransferProcess
from bank_desktop.backoff import Backoff
from bank_desktop.domain import accounts
from bank_desktop.domain.errors import AccountNotFoundError, ValidationError
from bank_desktop.domain.money import MoneyInput, parse_money
from bank_desktop.domain.text import required_text
from bank_desktop.eventstore.port import EventStore


class BankService:
    """Open, deposit, withdraw, transfer, close and look up accounts on one event store."""

    def __init__(
        self,
        store: EventStore,
        clerk_id: str = "clerk",
        *,
        clock: Clock = system_clock,
        cache_size: int = 10_000,
        retry: Backoff | None = None,
        on_transfer_step: StepObserver | None = None,
    ) -> None:
        self._store = store
        self._clerk_id = required_text(clerk_id, "Clerk id", max_length=64)
        self._clock = clock
        self._handler = CommandHandler(store, cache_size=cache_size, retry=retry)
        self._claims = RequestClaims(store)
        self._transfers = TransferProcess(
            self._handler,
            clock=clock,
            metadata=self._metadata,
            on_step=on_transfer_step,
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
        """Withdraw (never below zero); returns the balance right after this withdrawal."""
        value = parse_money(amount)
        account = _account_id(account_id)
        key = checked_command_id(command_id)
        command = accounts.WithdrawMoney(account, value, description, self._now())
        return self._run(account, command, key, claim=command_id is not None).balance

    def transfer(
        self,
        from_account_id: str,
        to_account_id: str,
        amount: MoneyInput,
        description: str | None = None,
        *,
        command_id: str | None = None,
    ) -> str:
        """Move money between two accounts; returns the transfer id once it has completed."""
        value = parse_money(amount)
        source = _account_id(from_account_id, "Source account")
        target = _account_id(to_account_id, "Target account")
        key = checked_command_id(command_id)
        return self._transfers.start(
            source, target, value, description, command_id=key, claim=command_id is not None
        )

    def close_account(
        self, account_id: str, reason: str | None = None, *, command_id: str | None = None
    ) -> None:
        """Close an account; only possible at a zero balance."""
        account = _account_id(account_id)
        key = checked_command_id(command_id)
        command = accounts.CloseAccount(account, reason, self._now())
        self._run(account, command, key, claim=command_id is not None)

    # ── queries and upkeep ────────────────────────────────────────────────────────────────

    def get_account(self, account_id: str) -> accounts.AccountState:
        """The account's current state, read from the store; AccountNotFoundError if none."""
        account = _account_id(account_id)
        state, _ = self._handler.current(account, ACCOUNTS)
        if not state.exists:
            raise AccountNotFoundError(account, "look up the account")
        return state

    def recover(
        self,
        *,
        older_than: timedelta = timedelta(0),
        candidates: Mapping[str, datetime] | None = None,
    ) -> RecoveryReport:
        """Finish or reverse unfinished transfers (run at start-up and now and then).

        Without ``candidates`` every transfer event in the store is scanned once per service;
        a caller holding a read model passes its unfinished transfers (id → requested at).
        """
        return self._transfers.recover(older_than=older_than, candidates=candidates)


def _account_id(value: object, field: str = "Account id") -> str:
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be text.", {"field": field})
    return required_text(value, field, max_length=200)
