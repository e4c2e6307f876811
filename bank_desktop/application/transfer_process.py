"""The transfer process: moves money between two account streams, step by durable step.

Every step is a command with an id derived from the transfer id in the internal namespace
(:func:`~bank_desktop.application.ids.internal_id`), so any driver (the clerk's process, or a
recovering one after a crash) can run any step again and the store applies it at most once, and
no client id can take a step's place: not to block the credit or the refund (money stuck), not
to turn a transfer into rejected or reversed. The debit leg's outcome is fenced in the source
account's own stream: either the withdrawal or a recorded refusal consumes its command id, so
two drivers can never disagree on whether the money left. From there on the process only moves
forward:

    requested ─debit─▶ debited ─credit─▶ completed
        │                 └──refund──▶ reversed
        └─refused───▶ rejected
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from bank_desktop.application.clock import Clock, wire_precision
from bank_desktop.application.command_handling import CommandHandler
from bank_desktop.application.errors import transfer_interrupted
from bank_desktop.application.event_codec import decode_transfer_event
from bank_desktop.application.ids import CommandKey, internal_id, transfer_id_for
from bank_desktop.application.request_claims import RequestClaims
from bank_desktop.application.stream_kinds import ACCOUNTS, TRANSFERS
from bank_desktop.domain import accounts, transfers
from bank_desktop.domain.errors import (
    DomainError,
    IllegalStateError,
    TransferReversedError,
    UnreadableHistoryError,
    ValidationError,
)
from bank_desktop.eventstore.errors import EventStoreError

_log = logging.getLogger(__name__)

#: The longest reason a rejection or reversal records (the transfer decider's limit).
_REASON_LIMIT = 500
#: Called after every durable step with (transfer id, step name): tracing, and crash tests.
StepObserver = Callable[[str, str], None]
MetadataFactory = Callable[[str, str], Mapping[str, Any]]


@dataclass(slots=True)
class RecoveryReport:
    """What ``recover()`` did to each unfinished transfer it found (and, through
    ``BankService.recover``, to each approved request not yet carried out)."""

    completed: list[str] = field(default_factory=list)
    reversed: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    #: Transfers (or approvals) that could not be finished now, and why.
    failed: dict[str, str] = field(default_factory=dict)
    #: Approved requests carried out, and ones the rules refused when they ran.
    approvals_executed: list[str] = field(default_factory=list)
    approvals_failed: list[str] = field(default_factory=list)

    @property
    def finished(self) -> int:
        return len(self.completed) + len(self.reversed) + len(self.rejected)


class TransferProcess:
    """Starts, drives and recovers transfers on top of a :class:`CommandHandler`."""

    def __init__(
        self,
        handler: CommandHandler,
        *,
        clock: Clock,
        metadata: MetadataFactory,
        on_step: StepObserver | None = None,
        claims: RequestClaims | None = None,
    ) -> None:
        self._handler = handler
        self._claims = claims
        self._clock = clock
        self._metadata = metadata
        self._on_step = on_step
        self._lock = threading.Lock()
        self._scanned_to = 0
        self._unfinished: dict[str, datetime] = {}
        #: When this process first saw each unfinished transfer, by its own clock: the age
        #: that counts when the transfer's stamp comes from a clock running ahead.
        self._first_seen: dict[str, datetime] = {}

    def _now(self) -> datetime:
        return wire_precision(self._clock())

    def _step(self, transfer_id: str, step: str) -> None:
        if self._on_step is not None:
            self._on_step(transfer_id, step)

    # ── starting ──────────────────────────────────────────────────────────────────────────

    def start(
        self,
        from_account_id: str,
        to_account_id: str,
        amount: Decimal,
        description: str | None,
        *,
        command_id: str,
        claim: bool = False,
    ) -> str:
        """Run a transfer to its end; returns its id or raises why it did not complete.

        ``claim``: the id came from a client; it is bound to this request with the transfer's
        first events (see :mod:`~bank_desktop.application.request_claims`).
        """
        transfer_id = transfer_id_for(command_id)
        at = self._now()
        request = transfers.RequestTransfer(
            transfer_id, from_account_id, to_account_id, amount, description, at
        )
        state, position = self._handler.current(transfer_id, TRANSFERS)
        if position == 0:
            self.precheck(request)
        metadata = self._metadata(transfer_id, command_id)
        pending = None
        if claim and self._claims is not None:
            pending = self._claims.pending(command_id, transfer_id, request, metadata)
        result = self._handler.execute(
            transfer_id,
            request,
            TRANSFERS,
            command_id=command_id,
            metadata=metadata,
            claim=pending,
        )
        state = result.state
        if result.replayed:  # a repeat: go on from where the transfer stands now
            state, _ = self._handler.current(transfer_id, TRANSFERS)
        else:
            self._step(transfer_id, "requested")
        try:
            final = self.drive(transfer_id, state)
        except EventStoreError as exc:  # recorded, perhaps debited: say so, never "nothing"
            raise transfer_interrupted(transfer_id, from_account_id, exc) from exc
        return self._outcome(final)

    def run_decided(
        self, request: transfers.RequestTransfer, *, command_id: CommandKey
    ) -> transfers.TransferState:
        """Request and drive a transfer decided elsewhere (an approved one), to its end.

        No precheck: the funds are checked where they are fenced (the debit leg), so every
        driver of it, now or after a crash, comes to the same outcome.
        """
        transfer_id = request.transfer_id
        result = self._handler.execute(
            transfer_id,
            request,
            TRANSFERS,
            command_id=command_id,
            metadata=self._metadata(transfer_id, str(command_id)),
        )
        if not result.replayed:
            self._step(transfer_id, "requested")
        state, _ = self._handler.current(transfer_id, TRANSFERS)
        return self.drive(transfer_id, state)

    def precheck(self, request: transfers.RequestTransfer) -> None:
        """Refuse what would fail anyway before anything is written (no half-made transfers):
        the same account, a non-positive amount, a source without the funds, a closed target."""
        transfers.decide(request, transfers.initial_state())
        source, _ = self._handler.current(request.from_account_id, ACCOUNTS)
        accounts.decide(
            accounts.WithdrawMoney(
                request.from_account_id, request.amount, request.description, request.at
            ),
            source,
        )
        target, _ = self._handler.current(request.to_account_id, ACCOUNTS)
        accounts.decide(self._credit(request.transfer_id, _as_state(request), request.at), target)

    @staticmethod
    def _outcome(state: transfers.TransferState) -> str:
        transfer_id = state.transfer_id or ""
        if state.status == "rejected":
            raise ValidationError(state.reason or "Transfer rejected.", {"transferId": transfer_id})
        if state.status == "reversed":
            raise TransferReversedError(
                transfer_id, state.reason or "the target refused it.", state.from_account_id or ""
            )
        return transfer_id

    # ── driving ───────────────────────────────────────────────────────────────────────────

    def drive(self, transfer_id: str, state: transfers.TransferState) -> transfers.TransferState:
        """Run the remaining steps of one transfer until it is finished."""
        while True:
            if state.unrecognized is not None:  # where it stands is not known: move no money
                raise UnreadableHistoryError(transfer_id, "Transfer", state.unrecognized)
            step = transfers.next_step(state)
            if step == "done":
                self._forget(transfer_id)
                return state
            if step == "debit":
                state = self._debit(transfer_id, state)
            else:
                state = self._credit_or_refund(transfer_id, state)

    def _debit(self, transfer_id: str, state: transfers.TransferState) -> transfers.TransferState:
        source, target = _legs(state)
        command = accounts.DebitForTransfer(
            source,
            transfer_id,
            target,
            state.amount,
            state.description or f"Transfer to {target}",
            self._now(),
        )
        try:
            result = self._handler.execute(
                source,
                command,
                ACCOUNTS,
                command_id=internal_id(transfer_id, "debit"),
                metadata=self._metadata(transfer_id, transfer_id),
            )
        except DomainError as refusal:  # the source account does not exist at all
            return self._advance(
                transfers.RejectTransfer(transfer_id, refusal.message[:_REASON_LIMIT], self._now()),
                "reject",
            )
        refusal_reason = _refusal_reason(result.events)
        if refusal_reason is not None:
            self._step(transfer_id, "debit-refused")
            return self._advance(
                transfers.RejectTransfer(transfer_id, refusal_reason, self._now()), "reject"
            )
        self._step(transfer_id, "debited")
        return self._advance(transfers.RecordDebit(transfer_id, self._now()), "record-debit")

    def _credit_or_refund(
        self, transfer_id: str, state: transfers.TransferState
    ) -> transfers.TransferState:
        source, target = _legs(state)
        try:
            self._handler.execute(
                target,
                self._credit(transfer_id, state, self._now()),
                ACCOUNTS,
                command_id=internal_id(transfer_id, "credit"),
                metadata=self._metadata(transfer_id, transfer_id),
            )
        except DomainError as refusal:  # target missing or closed: permanent, so pay back
            # The refund is a compensation: no client id can take its internal id, and the
            # decider books it even on a closed source, so nothing here can refuse it.
            self._step(transfer_id, "credit-refused")
            self._handler.execute(
                source,
                accounts.RefundTransfer(
                    source,
                    transfer_id,
                    target,
                    state.amount,
                    refusal.message,
                    self._now(),
                ),
                ACCOUNTS,
                command_id=internal_id(transfer_id, "refund"),
                metadata=self._metadata(transfer_id, transfer_id),
            )
            self._step(transfer_id, "refunded")
            reason = refusal.message[:_REASON_LIMIT]  # the reversal must record, whatever it says
            return self._advance(
                transfers.ReverseTransfer(transfer_id, reason, self._now()), "reverse"
            )
        self._step(transfer_id, "credited")
        return self._advance(transfers.CompleteTransfer(transfer_id, self._now()), "complete")

    @staticmethod
    def _credit(
        transfer_id: str, state: transfers.TransferState, at: datetime
    ) -> accounts.CreditForTransfer:
        source, target = _legs(state)
        return accounts.CreditForTransfer(
            target,
            transfer_id,
            source,
            state.amount,
            state.description or f"Transfer from {source}",
            at,
        )

    def _advance(self, command: transfers.TransferCommand, name: str) -> transfers.TransferState:
        transfer_id = command.transfer_id
        try:
            result = self._handler.execute(
                transfer_id,
                command,
                TRANSFERS,
                command_id=internal_id(transfer_id, name),
                metadata=self._metadata(transfer_id, transfer_id),
            )
        except UnreadableHistoryError:
            raise
        except IllegalStateError:
            # Another driver recorded this step first; carry on from what it wrote.
            state, _ = self._handler.current(transfer_id, TRANSFERS)
            return state
        if not result.replayed:
            self._step(transfer_id, name)
        return result.state

    # ── recovery ──────────────────────────────────────────────────────────────────────────

    def recover(
        self,
        *,
        older_than: timedelta = timedelta(0),
        candidates: Mapping[str, datetime] | None = None,
    ) -> RecoveryReport:
        """Finish or reverse every unfinished transfer requested at least ``older_than`` ago.

        ``candidates`` (transfer id → requested at, e.g. the unfinished transfers of a
        persisted read model) replaces the scan of every transfer event in the store, which at
        millions of events costs seconds.
        """
        now = self._now()
        if candidates is None:
            self._scan()
        else:
            with self._lock:
                self._unfinished.update(candidates)
        report = RecoveryReport()
        # With no minimum age every unfinished transfer qualifies. Otherwise a transfer is due
        # once it is old enough by its stamp, or has been seen unfinished here for that long:
        # the stamp comes from another clerk's clock, which may run ahead (by an hour, or to
        # 2099), and must not keep a transfer from recovery for longer than the minimum age.
        cutoff = now - older_than if older_than > timedelta(0) else None
        with self._lock:
            for tid in self._unfinished:
                self._first_seen.setdefault(tid, now)
            due = [
                tid
                for tid, at in self._unfinished.items()
                if cutoff is None or at <= cutoff or self._first_seen[tid] <= cutoff
            ]
        for transfer_id in due:
            try:
                state, _ = self._handler.current(transfer_id, TRANSFERS)
                if state.is_finished:
                    self._forget(transfer_id)
                    continue
                final = self.drive(transfer_id, state)
            except (EventStoreError, DomainError) as exc:
                _log.warning("Could not recover transfer %s: %s", transfer_id, exc)
                report.failed[transfer_id] = str(exc)
                continue
            {"completed": report.completed, "reversed": report.reversed}.get(
                final.status, report.rejected
            ).append(transfer_id)
            _log.info("Recovered transfer %s: %s", transfer_id, final.status)
        return report

    def _scan(self) -> None:
        """Track unfinished transfers from the transfer events written since the last scan."""
        store = self._handler.store
        while True:
            with self._lock:
                after = self._scanned_to
            batch = store.read_all(
                after=after, limit=1000, types=transfers.TRANSFER_EVENT_TYPES, with_metadata=False
            )
            with self._lock:
                for recorded in batch:
                    self._scanned_to = max(self._scanned_to, recorded.global_position)
                    try:
                        event = decode_transfer_event(recorded)
                    except Exception as exc:
                        _log.warning("Skipping unreadable transfer event: %s", exc)
                        continue
                    if isinstance(event, transfers.TransferRequested):
                        self._unfinished[event.transfer_id] = event.requested_at
                    elif event is not None and not isinstance(event, transfers.TransferDebited):
                        self._unfinished.pop(event.transfer_id, None)
                        self._first_seen.pop(event.transfer_id, None)
            if len(batch) < 1000:
                return

    def _forget(self, transfer_id: str) -> None:
        with self._lock:
            self._unfinished.pop(transfer_id, None)
            self._first_seen.pop(transfer_id, None)


def _legs(state: transfers.TransferState) -> tuple[str, str]:
    if state.from_account_id is None or state.to_account_id is None:
        raise IllegalStateError(
            f"Transfer {state.transfer_id} was never requested.",
            {"transferId": state.transfer_id},
            state=state.status,
            action="move money",
        )
    return state.from_account_id, state.to_account_id


def _refusal_reason(events: tuple[Any, ...]) -> str | None:
    for recorded in events:
        if recorded.type == accounts.WithdrawalRefused.type:
            reason = recorded.data.get("reason") if isinstance(recorded.data, dict) else None
            return str(reason or "The source account refused the debit.")
    return None


def _as_state(request: transfers.RequestTransfer) -> transfers.TransferState:
    return transfers.TransferState(
        transfer_id=request.transfer_id,
        from_account_id=request.from_account_id,
        to_account_id=request.to_account_id,
        amount=request.amount,
        description=request.description,
        status="requested",
    )
