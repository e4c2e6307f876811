"""The end-of-day journal: every transaction of a day (and optionally one clerk's), totals by
kind, and the sum of all balances at the start and end of the day, which reconcile.

A pure fold over stored events in global order (:func:`build_journal`), read by
:func:`journal_from_store`. A day is midnight to midnight in a time zone the caller names
(``None``: this machine's local zone, as clerks read dates; the store's times are UTC); each
event counts on the day of the time it records (``depositedAt``, ``withdrawnAt``, …: the clerk
machine's clock, as ledgers and statements show it). The balance sums are computed from the
same times, so ``closing = opening + net of the day`` holds by construction even when clocks
disagree; with a clerk filter the other clerks' net is reported so the day still adds up.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Any, Final

from bank_desktop.application.errors import MalformedEventError
from bank_desktop.application.event_codec import decode_account_event
from bank_desktop.application.projections.as_of import end_of_day, start_of_day
from bank_desktop.application.wire_fields import moment, money, payload
from bank_desktop.domain import accounts as acc
from bank_desktop.domain.money import ZERO, format_money
from bank_desktop.eventstore.port import EventStore, RecordedEvent

_log = logging.getLogger(__name__)

#: Kinds of line, in the order totals are shown.
KINDS: Final = (
    "opened",
    "deposit",
    "withdrawal",
    "transfer_in",
    "transfer_out",
    "reversal",
    "hold_placed",
    "hold_released",
    "refused",
    "closed",
)
#: Event type → (field with its time, field with the amount that moves money, sign).
_MONEY: Final = {
    acc.AccountOpened.type: ("openedAt", "initialBalance", 1),
    acc.MoneyDeposited.type: ("depositedAt", "amount", 1),
    acc.MoneyWithdrawn.type: ("withdrawnAt", "amount", -1),
}
_TIMES: Final = {
    **{kind: fields[0] for kind, fields in _MONEY.items()},
    acc.WithdrawalRefused.type: "refusedAt",
    acc.ApprovedCommandRefused.type: "refusedAt",
    acc.AccountClosed.type: "closedAt",
    acc.HoldPlaced.type: "placedAt",
    acc.HoldReleased.type: "releasedAt",
}
#: How a line names the command an approved request held.
_ACTIONS: Final = {"money.withdraw": "withdrawal", "money.reverse": "reversal"}
#: The event types a journal reads (the rest move no money and make no line).
JOURNAL_EVENT_TYPES: Final = tuple(_TIMES)


@dataclass(frozen=True, slots=True)
class JournalLine:
    """One transaction of the day."""

    occurred_at: datetime
    account_id: str
    kind: str
    amount: Decimal  #: signed: money in positive, out negative; 0 for holds and closings
    held: Decimal | None  #: the amount of a hold line
    description: str
    clerk_id: str | None
    request_id: str | None
    event_id: str
    global_position: int
    transfer_id: str | None = None
    reverses_event_id: str | None = None
    hold_id: str | None = None
    #: A line an approved request wrote: who asked for it, and who approved it.
    requested_by: str | None = None
    approved_by: str | None = None


@dataclass(frozen=True, slots=True)
class KindTotal:
    count: int
    amount: Decimal  #: money moved (signed sum); for holds, the amount held or released


@dataclass(frozen=True, slots=True)
class Journal:
    """One day's journal; ``reconciles`` says the balance sums agree with the lines."""

    day: date
    zone: str  #: the time zone the day is cut in (its name or UTC offset)
    start: datetime
    end: datetime
    clerk_id: str | None
    lines: tuple[JournalLine, ...]
    totals: Mapping[str, KindTotal]
    opening_total: Decimal  #: the sum of every account's balance when the day began
    closing_total: Decimal  #: … and when it ended
    others_net: Decimal  #: with a clerk filter, the net of the other clerks' lines
    skipped: int = 0  #: stored events that could not be read (left out of every sum)

    @property
    def net(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO)

    @property
    def transfers(self) -> int:
        """How many transfers the day's lines take part in."""
        return len({line.transfer_id for line in self.lines if line.transfer_id})

    @property
    def reconciles(self) -> bool:
        return self.opening_total + self.net + self.others_net == self.closing_total


@dataclass(slots=True)
class _Sums:
    """The balance sums either side of the day, and the day's events: what a pass over the
    whole history finds, without looking at any event's metadata."""

    start: datetime
    end: datetime
    opening: Decimal = ZERO
    closing: Decimal = ZERO
    skipped: int = 0

    def add(self, event: RecordedEvent) -> bool:
        """Count ``event``; True when it is one of the day's (a line of the journal)."""
        time_field = _TIMES.get(event.type)
        if time_field is None:
            return False
        try:
            data = payload(event)
            at = moment(event, data, time_field)
            moved = _moved(event, data)
        except MalformedEventError as exc:
            _log.warning("Journal skips %s", exc)
            self.skipped += 1
            return False
        if at >= self.end:
            return False
        self.closing += moved
        if at < self.start:
            self.opening += moved
            return False
        return True


def build_journal(
    events: Iterable[RecordedEvent],
    day: date,
    zone: tzinfo | None = None,
    clerk_id: str | None = None,
) -> Journal:
    """The journal of ``day`` in ``zone`` (None: local) from every account event in global
    order (other types are ignored; the day's events need their metadata); only
    ``clerk_id``'s lines when given."""
    sums = _Sums(start_of_day(day, zone), end_of_day(day, zone))
    return _journal(day, clerk_id, sums, [event for event in events if sums.add(event)])


def journal_from_store(
    store: EventStore,
    day: date,
    zone: tzinfo | None = None,
    clerk_id: str | None = None,
    *,
    page: int = 5000,
) -> Journal:
    """:func:`build_journal` over the store (blocking). The whole history is read once without
    metadata, to sum the balances either side of the day; then only the stretch of global
    positions that holds the day's events is read again, with metadata, for their lines."""
    sums = _Sums(start_of_day(day, zone), end_of_day(day, zone))
    wanted = {e.global_position for e in _events(store, page, 0, None, lean=True) if sums.add(e)}
    day_events: list[RecordedEvent] = []
    if wanted:
        first, last = min(wanted), max(wanted)
        for event in _events(store, page, first - 1, last, lean=False):
            if event.global_position in wanted:
                day_events.append(event)
    return _journal(day, clerk_id, sums, day_events)


def _events(
    store: EventStore, page: int, after: int, last: int | None, *, lean: bool
) -> Iterator[RecordedEvent]:
    """The store's events after ``after`` up to ``last`` (None: the end), a page at a time."""
    while last is None or after < last:
        size = page if last is None else min(page, last - after)
        batch = store.read_all(after=after, limit=size, with_metadata=not lean)
        yield from batch
        if len(batch) < size:
            return
        after = batch[-1].global_position


def _journal(
    day: date, clerk_id: str | None, sums: _Sums, day_events: list[RecordedEvent]
) -> Journal:
    lines: list[JournalLine] = []
    others = ZERO
    for event in day_events:
        try:
            line = _line(event)
        except MalformedEventError as exc:  # pragma: no cover - the sums pass read it already
            _log.warning("Journal skips %s", exc)
            continue
        if clerk_id is None or line.clerk_id == clerk_id:
            lines.append(line)
        else:
            others += line.amount
    lines.sort(key=lambda line: (line.occurred_at, line.global_position))
    start = sums.start
    return Journal(
        day,
        start.tzname() or str(start.tzinfo),
        start,
        sums.end,
        clerk_id,
        tuple(lines),
        _totals(lines),
        sums.opening,
        sums.closing,
        others,
        sums.skipped,
    )


def _moved(event: RecordedEvent, data: dict[str, Any]) -> Decimal:
    fields = _MONEY.get(event.type)
    if fields is None:
        return ZERO
    _, amount_field, sign = fields
    amount = money(event, data, amount_field)
    return amount if sign > 0 else -amount


def _line(event: RecordedEvent) -> JournalLine:
    decoded = decode_account_event(event)
    line = _Line(event)
    match decoded:
        case acc.AccountOpened():
            return line(decoded.opened_at, "opened", decoded.initial_balance,
                        f"Account opened for {decoded.customer_id}")  # fmt: skip
        case acc.MoneyDeposited():
            kind = (
                "reversal"
                if decoded.reversal or decoded.reverses_event_id
                else "transfer_in"
                if decoded.transfer_id
                else "deposit"
            )
            return line(decoded.deposited_at, kind, decoded.amount,
                        decoded.description or "Deposit", transfer=decoded.transfer_id,
                        reverses=decoded.reverses_event_id)  # fmt: skip
        case acc.MoneyWithdrawn():
            kind = (
                "reversal"
                if decoded.reverses_event_id
                else "transfer_out"
                if decoded.transfer_id
                else "withdrawal"
            )
            return line(decoded.withdrawn_at, kind, -decoded.amount,
                        decoded.description or "Withdrawal", transfer=decoded.transfer_id,
                        reverses=decoded.reverses_event_id)  # fmt: skip
        case acc.WithdrawalRefused():
            text = f"Transfer of {format_money(decoded.amount)} refused: {decoded.reason}"
            return line(decoded.refused_at, "refused", ZERO, text, transfer=decoded.transfer_id)
        case acc.ApprovedCommandRefused():
            text = f"Approved {_ACTIONS.get(decoded.action, decoded.action)} of "
            text += f"{format_money(decoded.amount)} refused when carried out: {decoded.reason}"
            return line(decoded.refused_at, "refused", ZERO, text)
        case acc.AccountClosed():
            return line(decoded.closed_at, "closed", ZERO, decoded.reason or "Account closed")
        case acc.HoldPlaced():
            return line(decoded.placed_at, "hold_placed", ZERO, decoded.reason,
                        held=decoded.amount, hold=decoded.hold_id)  # fmt: skip
        case acc.HoldReleased():
            return line(decoded.released_at, "hold_released", ZERO, "Hold released",
                        held=decoded.amount, hold=decoded.hold_id)  # fmt: skip
        case None:  # pragma: no cover - only account types reach here
            raise MalformedEventError(event, "not an account event")


class _Line:
    """Makes the lines of one stored event: what every line takes from its envelope."""

    def __init__(self, event: RecordedEvent) -> None:
        self._event = event

    def __call__(
        self,
        at: datetime,
        kind: str,
        amount: Decimal,
        description: str,
        *,
        held: Decimal | None = None,
        transfer: str | None = None,
        reverses: str | None = None,
        hold: str | None = None,
    ) -> JournalLine:
        event = self._event
        metadata = event.metadata
        clerk = metadata.get("clerkId")
        request = metadata.get("commandId")
        requested, approved = metadata.get("requestedBy"), metadata.get("approvedBy")
        return JournalLine(
            at,
            event.stream_id,
            kind,
            amount,
            held,
            description,
            clerk if isinstance(clerk, str) else None,
            request if isinstance(request, str) else None,
            event.event_id,
            event.global_position,
            transfer,
            reverses,
            hold,
            requested if isinstance(requested, str) else None,
            approved if isinstance(approved, str) else None,
        )


def _totals(lines: list[JournalLine]) -> dict[str, KindTotal]:
    counts = dict.fromkeys(KINDS, 0)
    amounts = dict.fromkeys(KINDS, ZERO)
    for line in lines:
        counts[line.kind] += 1
        amounts[line.kind] += line.held if line.held is not None else line.amount
    return {kind: KindTotal(counts[kind], amounts[kind]) for kind in KINDS}


def journal_csv(journal: Journal) -> str:
    """The journal as CSV: one row per line, then the totals by kind and the balance sums
    (times in the journal's zone, amounts as plain numbers with two decimals)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["time", "account", "kind", "amount", "held", "description", "clerk", "request",
         "event", "transfer", "reverses", "hold", "requested by", "approved by"]
    )  # fmt: skip
    for line in journal.lines:
        writer.writerow(
            [
                line.occurred_at.astimezone(journal.start.tzinfo).isoformat(timespec="seconds"),
                line.account_id,
                line.kind,
                f"{line.amount:.2f}",
                "" if line.held is None else f"{line.held:.2f}",
                _cell(line.description),
                line.clerk_id or "",
                line.request_id or "",
                line.event_id,
                line.transfer_id or "",
                line.reverses_event_id or "",
                line.hold_id or "",
                line.requested_by or "",
                line.approved_by or "",
            ]
        )
    writer.writerow([])
    writer.writerow(["kind", "count", "amount"])
    for kind, total in journal.totals.items():
        writer.writerow([kind, total.count, f"{total.amount:.2f}"])
    writer.writerow([])
    writer.writerow(["day", journal.day.isoformat(), journal.zone])
    writer.writerow(["clerk", journal.clerk_id or "all clerks"])
    writer.writerow(["balances at start", f"{journal.opening_total:.2f}"])
    writer.writerow(["net of these lines", f"{journal.net:.2f}"])
    if journal.clerk_id is not None:
        writer.writerow(["net of other clerks", f"{journal.others_net:.2f}"])
    writer.writerow(["balances at end", f"{journal.closing_total:.2f}"])
    writer.writerow(["reconciles", "yes" if journal.reconciles else "NO"])
    return out.getvalue()


def _cell(text: str) -> str:
    """Text a spreadsheet shows as text: a leading =, +, - or @ would run as a formula."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text
