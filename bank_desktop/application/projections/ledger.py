"""Ledgers: an account's transactions with a running balance, the clerk and the counterpart.

A ledger is the fold of one account stream, so it is built on demand from that stream (one
indexed read) rather than kept for every account in memory: a desk with a million events
holds only the ledgers it is looking at. A :class:`LedgerBook` keeps those few (the window's
and ``serve``'s, through :class:`~bank_desktop.application.read_model_session.ReadModelSession`):
live, applying new events in global order (a gap in an account's positions means an event was
missed, and the ledger is reloaded rather than shown wrong), or topped up from the store when
read (:meth:`LedgerBook.current`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal

from bank_desktop.application.errors import MalformedEventError
from bank_desktop.application.event_codec import decode_account_event
from bank_desktop.application.lru import LockedLru
from bank_desktop.domain import accounts as acc
from bank_desktop.domain.money import ZERO
from bank_desktop.eventstore.port import EventStore, RecordedEvent

_log = logging.getLogger(__name__)

EntryKind = Literal[
    "opened",
    "deposit",
    "withdrawal",
    "transfer_in",
    "transfer_out",
    "reversal",
    "refused",
    "closed",
    "hold_placed",
    "hold_released",
]


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    account_id: str
    stream_position: int
    global_position: int
    occurred_at: datetime
    kind: EntryKind
    description: str
    amount: Decimal  #: signed: money in is positive, money out negative; 0 for non-money lines
    balance: Decimal  #: running balance after this entry
    clerk_id: str | None
    counterparty_account_id: str | None
    transfer_id: str | None
    event_id: str
    #: The request the event was written for (its ``commandId``; for a transfer's legs the
    #: transfer's own step, e.g. ``transfer-…:debit``), and the request it was part of.
    request_id: str | None = None
    correlation_id: str | None = None
    #: A clerk's reversal: the event id of the line it undoes.
    reverses_event_id: str | None = None
    #: Hold lines: the hold, the amount set aside (``amount`` stays 0) and its expiry.
    hold_id: str | None = None
    hold_amount: Decimal | None = None
    expires_at: datetime | None = None
    #: A line an approved request wrote: who asked for it, and the supervisor who approved.
    requested_by: str | None = None
    approved_by: str | None = None


class Ledger:
    """One account's entries in stream order, extended one event at a time.

    An event it cannot read (unknown type, malformed) makes no entry; ``unrecognized`` names
    the first such event and ``unrecognized_at`` its position: running balances from there on
    ignore part of the history and must not be shown as the account's balance.
    """

    def __init__(self, account_id: str) -> None:
        self.account_id = account_id
        self.entries: list[LedgerEntry] = []
        self.position = 0
        self.balance = ZERO
        self.unrecognized: str | None = None
        self.unrecognized_at: int | None = None
        #: Event id of a reversed line → event id of the reversal that undid it.
        self.reversed_by: dict[str, str] = {}

    def _not_applied(self, recorded: RecordedEvent, problem: str) -> None:
        if self.unrecognized is None:
            self.unrecognized = f"{problem} at position {recorded.stream_position}"
            self.unrecognized_at = recorded.stream_position

    def apply(self, recorded: RecordedEvent) -> LedgerEntry | None:
        """Append the entry for ``recorded``; None if it was already applied or is no entry."""
        if recorded.stream_position <= self.position:
            return None
        if recorded.stream_position != self.position + 1:
            raise LookupError(
                f"Ledger of {self.account_id} at {self.position} got position "
                f"{recorded.stream_position}; reload it."
            )
        self.position = recorded.stream_position
        try:
            event = decode_account_event(recorded)
        except MalformedEventError as exc:
            _log.warning("Ledger skips %s", exc)
            self._not_applied(recorded, f"malformed {recorded.type!r} ({exc.problem})")
            return None
        if event is None:
            self._not_applied(recorded, f"event type {recorded.type!r}")
            return None
        entry = self._entry(recorded, event)
        self.balance = entry.balance
        self.entries.append(entry)
        if entry.reverses_event_id is not None:
            self.reversed_by[entry.reverses_event_id] = entry.event_id
        return entry

    def _entry(self, recorded: RecordedEvent, event: acc.AccountEvent) -> LedgerEntry:
        kind: EntryKind
        counterparty = transfer = reverses = hold_id = None
        held: Decimal | None = None
        expires: datetime | None = None
        match event:
            case acc.AccountOpened():
                kind, amount, at, text = (
                    "opened",
                    event.initial_balance,
                    event.opened_at,
                    "Account opened",
                )
                balance = event.initial_balance
            case acc.MoneyDeposited():
                kind = (
                    "reversal"
                    if event.reversal or event.reverses_event_id
                    else "transfer_in"
                    if event.transfer_id
                    else "deposit"
                )
                amount, at, text = event.amount, event.deposited_at, event.description or "Deposit"
                counterparty, transfer = event.counterparty_account_id, event.transfer_id
                reverses = event.reverses_event_id
                balance = self.balance + amount
            case acc.MoneyWithdrawn():
                kind = (
                    "reversal"
                    if event.reverses_event_id
                    else "transfer_out"
                    if event.transfer_id
                    else "withdrawal"
                )
                amount, at = -event.amount, event.withdrawn_at
                text = event.description or "Withdrawal"
                counterparty, transfer = event.counterparty_account_id, event.transfer_id
                reverses = event.reverses_event_id
                balance = self.balance + amount
            case acc.WithdrawalRefused():
                kind, amount, at = "refused", ZERO, event.refused_at
                text = f"Transfer of {event.amount} refused: {event.reason}"
                counterparty, transfer = event.counterparty_account_id, event.transfer_id
                balance = self.balance
            case acc.ApprovedCommandRefused():
                kind, amount, at = "refused", ZERO, event.refused_at
                what = "Approved withdrawal" if event.action == "money.withdraw" else "Approved"
                text = f"{what} of {event.amount} refused: {event.reason}"
                balance = self.balance
            case acc.AccountClosed():
                kind, amount, at = "closed", ZERO, event.closed_at
                text = f"Account closed: {event.reason}" if event.reason else "Account closed"
                balance = self.balance
            case acc.HoldPlaced():
                kind, amount, at, balance = "hold_placed", ZERO, event.placed_at, self.balance
                text = f"Hold: {event.reason}"
                hold_id, held, expires = event.hold_id, event.amount, event.expires_at
            case acc.HoldReleased():
                kind, amount, at, balance = "hold_released", ZERO, event.released_at, self.balance
                text = "Hold released"
                hold_id, held = event.hold_id, event.amount
        metadata = recorded.metadata
        clerk = metadata.get("clerkId")
        request = metadata.get("commandId")
        correlation = metadata.get("correlationId")
        requested, approved = metadata.get("requestedBy"), metadata.get("approvedBy")
        return LedgerEntry(
            account_id=self.account_id,
            stream_position=recorded.stream_position,
            global_position=recorded.global_position,
            occurred_at=at,
            kind=kind,
            description=text,
            amount=amount,
            balance=balance,
            clerk_id=clerk if isinstance(clerk, str) else None,
            counterparty_account_id=counterparty,
            transfer_id=transfer,
            event_id=recorded.event_id,
            request_id=request if isinstance(request, str) else None,
            correlation_id=correlation if isinstance(correlation, str) else None,
            reverses_event_id=reverses,
            hold_id=hold_id,
            hold_amount=held,
            expires_at=expires,
            requested_by=requested if isinstance(requested, str) else None,
            approved_by=approved if isinstance(approved, str) else None,
        )


def build_ledger(account_id: str, events: Iterable[RecordedEvent]) -> Ledger:
    ledger = Ledger(account_id)
    for recorded in events:
        ledger.apply(recorded)
    return ledger


def load_ledger(store: EventStore, account_id: str, *, page: int = 5000) -> Ledger:
    """Read an account's stream and fold it into its ledger (call off the GUI thread)."""
    ledger = Ledger(account_id)
    while True:
        events = store.read_stream(account_id, after=ledger.position, limit=page)
        for recorded in events:
            ledger.apply(recorded)
        if len(events) < page:
            return ledger


@dataclass(frozen=True, slots=True)
class Statement:
    """An account's entries in ``[start, end)`` with the balances either side of the period."""

    account_id: str
    start: datetime
    end: datetime
    opening_balance: Decimal
    closing_balance: Decimal
    entries: tuple[LedgerEntry, ...]

    @property
    def total_in(self) -> Decimal:
        return sum((e.amount for e in self.entries if e.amount > 0), ZERO)

    @property
    def total_out(self) -> Decimal:
        return sum((-e.amount for e in self.entries if e.amount < 0), ZERO)


def statement(ledger: Ledger, start: datetime, end: datetime) -> Statement:
    """The statement for ``[start, end)``: opening = balance before the period, closing = at
    its end, and always ``closing == opening + sum(amounts)``.

    The period is a contiguous run of entries in stream order (from the first entry at or
    after ``start`` to the last before ``end``), because entry times are stamped by clerks'
    machines and may step backwards between clocks; cutting by time alone could then drop an
    entry from the middle and the balances would no longer add up.
    """
    if end < start:
        raise ValueError("The statement period ends before it starts.")
    entries = ledger.entries
    first = next((i for i, e in enumerate(entries) if e.occurred_at >= start), len(entries))
    last = next((i for i in range(len(entries) - 1, -1, -1) if entries[i].occurred_at < end), -1)
    if first > last:  # nothing in the period: both balances are the balance at that moment
        balance = entries[last].balance if last >= 0 else ZERO
        return Statement(ledger.account_id, start, end, balance, balance, ())
    opening = entries[first - 1].balance if first > 0 else ZERO
    selected = tuple(entries[first : last + 1])
    return Statement(ledger.account_id, start, end, opening, selected[-1].balance, selected)


@dataclass(frozen=True, slots=True)
class LedgerView:
    """A ledger as of one moment, safe to hand to another thread."""

    position: int  #: the stream position folded (0: the stream does not exist)
    balance: Decimal
    entries: tuple[LedgerEntry, ...]
    #: Event id of a reversed line → event id of its reversal.
    reversed_by: Mapping[str, str] = field(default_factory=dict)


class LedgerBook:
    """Ledgers of the accounts someone is looking at (least recently used go first); safe to
    share between threads."""

    def __init__(self, store: EventStore, *, capacity: int = 64) -> None:
        self._store = store
        self._ledgers: LockedLru[str, Ledger] = LockedLru(capacity)
        self._lock = self._ledgers.lock  #: also held while a kept ledger is extended

    def get(self, account_id: str) -> Ledger:
        """The account's ledger, loaded from the store on first use (blocking: not on the GUI
        thread)."""
        ledger = self._ledgers.get(account_id)
        if ledger is not None:
            return ledger
        return self._keep(load_ledger(self._store, account_id))

    def current(self, account_id: str) -> LedgerView:
        """The account's ledger as of now (:meth:`topped_up`), as a copy; blocking."""
        ledger = self.topped_up(account_id)
        with self._lock:
            return LedgerView(
                ledger.position, ledger.balance, tuple(ledger.entries), dict(ledger.reversed_by)
            )

    def topped_up(self, account_id: str) -> Ledger:
        """The account's ledger, kept from now on: a kept one topped up from the store (one
        indexed read of what came after it), so it is never behind the store; blocking."""
        with self._lock:
            ledger = self._ledgers.peek(account_id)
            position = ledger.position if ledger is not None else 0
        if ledger is None:
            ledger = load_ledger(self._store, account_id)
        else:
            tail = self._store.read_stream(account_id, after=position)
            with self._lock:
                try:
                    for event in tail:
                        ledger.apply(event)
                except LookupError:  # it moved meanwhile: fold the stream afresh
                    ledger = None
            if ledger is None:
                ledger = load_ledger(self._store, account_id)
        return self._keep(ledger) if ledger.position > 0 else ledger

    def _keep(self, ledger: Ledger) -> Ledger:
        """Keep ``ledger`` unless a later one of its account is kept; returns the kept one."""
        later = ledger.position
        return self._ledgers.put(
            ledger.account_id, ledger, keep=lambda current: current.position > later
        )

    def cached(self, account_id: str) -> Ledger | None:
        return self._ledgers.peek(account_id)

    def apply(self, events: Sequence[RecordedEvent]) -> set[str]:
        """Extend the loaded ledgers; returns the accounts whose ledger changed. A ledger that
        sees a gap is dropped, to be reloaded whole on its next ``get``."""
        changed: set[str] = set()
        with self._lock:
            for recorded in events:
                ledger = self._ledgers.peek(recorded.stream_id)
                if ledger is None:
                    continue
                try:
                    if ledger.apply(recorded) is not None:
                        changed.add(recorded.stream_id)
                except LookupError:
                    self._ledgers.pop(recorded.stream_id)
                    changed.add(recorded.stream_id)
        return changed
