"""The teller's day on ``BankService``: customers, reversals and holds (DESIGN §10).

Kept apart from ``bank_service.py`` (which mixes :class:`TellerDay` in) so each file holds one
concern. Every command takes ``command_id=`` like the seed's commands: a client's id is bound
to its request before the first write (:mod:`~bank_desktop.application.request_claims`), a
repeat answers the first result, and a refused command writes nothing.

Registering a customer takes two streams: the national id's claim, where uniqueness is decided
(:mod:`~bank_desktop.domain.national_ids`), then the customer's own. Both steps run under ids
in the internal namespace derived from the customer id, so the process that registered and
any process that finds the claim of an interrupted registration write the customer once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from bank_desktop.application.approval_process import ApprovalProcess, Outcome, balance_after
from bank_desktop.application.clock import wire_precision
from bank_desktop.application.command_handling import CommandHandler
from bank_desktop.application.customer_streams import (
    CUSTOMERS,
    NATIONAL_IDS,
    customer_id_for,
    decode_customer_event,
    national_id_stream,
)
from bank_desktop.application.event_codec import decode_account_event
from bank_desktop.application.ids import (
    CommandKey,
    ScopedCommandId,
    checked_command_id,
    hold_id_for,
    internal_id,
)
from bank_desktop.application.request_claims import RequestClaims
from bank_desktop.application.stream_kinds import ACCOUNTS
from bank_desktop.domain import accounts, approvals, customers, national_ids
from bank_desktop.domain.customer_fields import national_id_key, parse_birth_date
from bank_desktop.domain.errors import (
    CustomerNotFoundError,
    DuplicateNationalIdError,
    ValidationError,
)
from bank_desktop.domain.money import MoneyInput, parse_money
from bank_desktop.domain.reversals import ReversalTarget
from bank_desktop.domain.text import required_text
from bank_desktop.eventstore.port import EventStore, RecordedEvent

_PAGE = 5000
BirthDate = date | str | None


class TellerDay:
    """Customers, reversals and holds; mixed into ``BankService``, whose machinery it uses."""

    _store: EventStore
    _handler: CommandHandler
    _claims: RequestClaims
    _approvals: ApprovalProcess

    def _now(self) -> datetime:  # pragma: no cover - BankService's
        raise NotImplementedError

    def _metadata(self, correlation_id: str, causation_id: str) -> Mapping[str, Any]:
        raise NotImplementedError  # pragma: no cover - BankService's

    def _run(
        self, account_id: str, command: accounts.AccountCommand, command_id: str, *, claim: bool
    ) -> accounts.AccountState:
        raise NotImplementedError  # pragma: no cover - BankService's

    # ── customers ─────────────────────────────────────────────────────────────────────────

    def register_customer(
        self,
        full_name: str,
        national_id: str,
        *,
        date_of_birth: BirthDate = None,
        phone: str | None = None,
        address: str | None = None,
        command_id: str | None = None,
    ) -> str:
        """Register a customer; returns the customer id. A national id held by another
        customer is refused (``DuplicateNationalIdError``), whoever registered it, wherever."""
        key = checked_command_id(command_id)
        customer_id = customer_id_for(key)
        command = customers.RegisterCustomer(
            customer_id,
            full_name,
            national_id,
            _birth_date(date_of_birth),
            phone,
            address,
            self._now(),
        )
        metadata = self._metadata(key, key)
        state, _ = self._handler.current(customer_id, CUSTOMERS)
        if state.exists:  # the same request again (the id is derived from the request id)
            if command_id is not None:
                self._claims.claim(key, customer_id, command, metadata)
            return customer_id
        [registration] = customers.decide(command, state)  # every field checked, nothing written
        assert isinstance(registration, customers.CustomerRegistered)
        claim = national_ids.ClaimNationalId(
            registration.national_id, customer_id, command.at, registration
        )
        self._claim_national_id(
            claim,
            metadata,
            bind=(key, command) if command_id is not None else None,
        )
        self._write_registration(registration, metadata)
        return customer_id

    def get_customer(self, customer_id: str) -> customers.CustomerState:
        """The customer's current details, read from the store; CustomerNotFoundError if none."""
        customer = _text(customer_id, "Customer id")
        state, _ = self._handler.current(customer, CUSTOMERS)
        if not state.exists:
            raise CustomerNotFoundError(customer, "look up the customer")
        return state

    def change_customer_details(
        self,
        customer_id: str,
        *,
        full_name: str | None = None,
        national_id: str | None = None,
        date_of_birth: BirthDate = None,
        phone: str | None = None,
        address: str | None = None,
        clear: Iterable[str] = (),
        command_id: str | None = None,
    ) -> customers.CustomerState:
        """Record a change of details (only what differs); ``clear`` names optional details to
        remove (``date_of_birth``, ``phone``, ``address``). Returns the customer as changed.

        A new national id is claimed before the change is recorded and the old one released
        after it. A change interrupted after it was recorded leaves the old id claimed until
        someone claims it (then it is released, see ``_repair_claim``); one interrupted before
        leaves the new id claimed by this customer until the same request (same
        ``command_id``) is sent again.
        """
        customer = _text(customer_id, "Customer id")
        key = checked_command_id(command_id)
        metadata = self._metadata(key, key)
        command = customers.ChangeCustomerDetails(
            customer,
            full_name,
            national_id,
            _birth_date(date_of_birth),
            phone,
            address,
            self._now(),
            tuple(clear),
        )
        state, _ = self._handler.current(customer, CUSTOMERS)
        bind = command_id is not None
        try:
            [change] = customers.decide(command, state)
        except ValidationError:
            if not bind:
                raise
            # Perhaps "nothing to change" because this very request was recorded: replay.
            return self._run_customer(customer, command, key, metadata, claim=True)
        assert isinstance(change, customers.CustomerDetailsChanged)
        new_id = change.national_id
        moves = new_id is not None and national_id_key(new_id) != national_id_key(state.national_id)
        if new_id is not None and moves:
            claim = national_ids.ClaimNationalId(new_id, customer, command.at)
            self._claim_national_id(claim, metadata, bind=(key, command) if bind else None)
            bind = False  # bound by the claim's write
        changed = self._run_customer(customer, command, key, metadata, claim=bind)
        if moves and change.previous_national_id:
            release = national_ids.ReleaseNationalId(
                change.previous_national_id, customer, command.at
            )
            self._handler.execute(
                national_id_stream(change.previous_national_id),
                release,
                NATIONAL_IDS,
                command_id=key,
                metadata=metadata,
            )
        return changed

    def _run_customer(
        self,
        customer_id: str,
        command: customers.CustomerCommand,
        key: str,
        metadata: Mapping[str, Any],
        *,
        claim: bool,
    ) -> customers.CustomerState:
        pending = self._claims.pending(key, customer_id, command, metadata) if claim else None
        return self._handler.execute(
            customer_id, command, CUSTOMERS, command_id=key, metadata=metadata, claim=pending
        ).state

    def _claim_national_id(
        self,
        claim: national_ids.ClaimNationalId,
        metadata: Mapping[str, Any],
        *,
        bind: tuple[str, customers.CustomerCommand] | None,
    ) -> None:
        stream = national_id_stream(claim.national_id)
        before_write = None
        if bind is not None:
            key, command = bind
            before_write = self._claims.binder(key, claim.customer_id, command, metadata)
        command_id: CommandKey = internal_id(claim.customer_id, "claim-national-id")
        for attempt in (1, 2):
            try:
                self._handler.execute(
                    stream,
                    claim,
                    NATIONAL_IDS,
                    command_id=command_id,
                    metadata=metadata,
                    before_write=before_write,
                )
            except DuplicateNationalIdError:
                if attempt == 2 or not self._repair_claim(stream, claim.at, metadata):
                    raise
            else:
                return

    def _repair_claim(self, claim_stream: str, at: datetime, metadata: Mapping[str, Any]) -> bool:
        """Mend a claim an interrupted request left behind; True when the id was freed.

        A registration interrupted after its claim is finished (the customer is written from
        the claim), so the id is rightly taken by a customer everyone can see. A change of
        national id interrupted after it was recorded but before the old id was released is
        completed by releasing it: the holder's history shows the id changed away after the
        claim, and their current id is another one.
        """
        state, _ = self._handler.current(claim_stream, NATIONAL_IDS)
        holder_id, claimed_at = state.holder, state.claimed_at
        if holder_id is None or claimed_at is None or state.national_id is None:
            return False
        holder, _ = self._handler.current(holder_id, CUSTOMERS)
        registration = state.registration
        if not holder.exists:
            if registration is not None and registration.customer_id == holder_id:
                self._write_registration(registration, self._metadata(holder_id, claim_stream))
            return False
        key = national_id_key(state.national_id)
        if national_id_key(holder.national_id) == key or not self._moved_away(
            holder_id, key, claimed_at
        ):
            return False
        release = national_ids.ReleaseNationalId(state.national_id, holder_id, at)
        self._handler.execute(
            claim_stream,
            release,
            NATIONAL_IDS,
            command_id=internal_id(holder_id, f"release-{key.lower()}"),
            metadata=metadata,
        )
        return True

    def _moved_away(self, customer_id: str, key: str, since: datetime) -> bool:
        """Whether the customer's national id changed away from ``key`` after ``since``."""
        for recorded in self._store.read_stream(customer_id):
            event = decode_customer_event(recorded)
            if (
                isinstance(event, customers.CustomerDetailsChanged)
                and event.previous_national_id is not None
                and national_id_key(event.previous_national_id) == key
                and event.changed_at >= since
            ):
                return True
        return False

    def _write_registration(
        self, registration: customers.CustomerRegistered, metadata: Mapping[str, Any]
    ) -> None:
        command = customers.RegisterCustomer(
            registration.customer_id,
            registration.full_name,
            registration.national_id,
            registration.date_of_birth,
            registration.phone,
            registration.address,
            registration.registered_at,
        )
        self._handler.execute(
            registration.customer_id,
            command,
            CUSTOMERS,
            command_id=internal_id(registration.customer_id, "register"),
            metadata=metadata,
        )

    # ── reversals ─────────────────────────────────────────────────────────────────────────

    def reverse(
        self,
        account_id: str,
        event_id: str,
        reason: str | None = None,
        *,
        command_id: str | None = None,
    ) -> Decimal:
        """Reverse a deposit or withdrawal of this account (by its event id) with a reason;
        returns the balance right after the reversal.

        One of an amount above the approval limit raises ApprovalRequired instead, and is
        carried out once a supervisor approves it (then a repeat returns this result).
        """
        account = _text(account_id, "Account id")
        event = _text(event_id, "Event id")
        key = checked_command_id(command_id)
        target = self._reversal_target(account, event)
        command = accounts.ReverseTransaction(account, event, target, reason or "", self._now())
        claimed = command_id is not None

        def direct() -> Decimal:
            return self._run(account, command, key, claim=claimed).balance

        if target is None:  # no such transaction: nothing to hold, the rules say why
            return direct()
        held = approvals.held_request(
            "reversal", account, target.amount, event_id=event, reason=reason
        )
        return self._approvals.guard(
            held,
            key,
            claimed=claimed,
            precheck=lambda: accounts.decide(command, self._handler.current(account, ACCOUNTS)[0]),
            direct=direct,
            result=balance_after,
        )

    def _carry_out_reversal(
        self,
        state: approvals.ApprovalState,
        execution_id: ScopedCommandId,
        metadata: Mapping[str, Any],
    ) -> Outcome:
        """Run an approved reversal (the ApprovalProcess's executor for reversals)."""
        held = state.held
        assert held is not None
        assert held.event_id is not None
        assert state.approval_id is not None
        target = self._reversal_target(held.account_id, held.event_id)
        reverse = accounts.ReverseTransaction(
            held.account_id, held.event_id, target, held.reason or "", self._now()
        )
        command = accounts.ExecuteApproved(state.approval_id, reverse)
        return self._approvals.run_on_account(held.account_id, command, execution_id, metadata)

    def _reversal_target(self, account_id: str, event_id: str) -> ReversalTarget | None:
        """The stored event ``event_id`` in the account's stream, as the decider judges it."""
        after = 0
        while True:
            page = self._store.read_stream(account_id, after=after, limit=_PAGE)
            for recorded in page:
                if recorded.event_id == event_id:
                    return _target(recorded)
            if len(page) < _PAGE:
                return None
            after = page[-1].stream_position

    # ── holds ─────────────────────────────────────────────────────────────────────────────

    def place_hold(
        self,
        account_id: str,
        amount: MoneyInput,
        reason: str | None = None,
        *,
        expires_at: datetime | None = None,
        command_id: str | None = None,
    ) -> str:
        """Set ``amount`` aside until released (or until ``expires_at``); returns the hold id."""
        value = parse_money(amount)
        account = _text(account_id, "Account id")
        key = checked_command_id(command_id)
        hold_id = hold_id_for(key)
        command = accounts.PlaceHold(
            account, hold_id, value, reason or "", _expiry(expires_at), self._now()
        )
        self._run(account, command, key, claim=command_id is not None)
        return hold_id

    def release_hold(
        self, account_id: str, hold_id: str, *, command_id: str | None = None
    ) -> Decimal:
        """Release a hold; returns the available balance right after."""
        account = _text(account_id, "Account id")
        hold = _text(hold_id, "Hold id")
        key = checked_command_id(command_id)
        command = accounts.ReleaseHold(account, hold, self._now())
        state = self._run(account, command, key, claim=command_id is not None)
        return state.available_at(self._now())


def _text(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be text.", {"field": field})
    return required_text(value, field, max_length=200)


def _birth_date(value: BirthDate) -> date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        return parse_birth_date(value)
    return value


def _expiry(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ValidationError(
            "A hold's expiry must be a date and time with its time zone.", {"field": "expiresAt"}
        )
    return wire_precision(value)


def _target(recorded: RecordedEvent) -> ReversalTarget:
    event = decode_account_event(recorded)
    match event:
        case accounts.MoneyDeposited():
            return ReversalTarget(
                recorded.event_id,
                recorded.type,
                event.account_id,
                event.amount,
                event.deposited_at,
                event.transfer_id,
                event.reverses_event_id,
                event.reversal,
            )
        case accounts.MoneyWithdrawn():
            return ReversalTarget(
                recorded.event_id,
                recorded.type,
                event.account_id,
                event.amount,
                event.withdrawn_at,
                event.transfer_id,
                event.reverses_event_id,
            )
        case _:
            data = recorded.data if isinstance(recorded.data, dict) else {}
            account = data.get("accountId") if isinstance(data.get("accountId"), str) else None
            return ReversalTarget(
                recorded.event_id, recorded.type, account or recorded.stream_id, Decimal(0)
            )


__all__ = ["TellerDay"]
