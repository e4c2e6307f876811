"""Money: every balance is its opening plus deposits minus withdrawals (reversals included, as
they are ordinary seed events), never below zero, zero at closing; every transfer's legs match
the transfer, and every transfer is settled or reported.

Kept apart from the balances projection on purpose: the projection is what clerks see, this is
the auditor's own sum of the same events, and the two are compared at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from bank_desktop.application.projections import ReadModel
from bank_desktop.application.verification.findings import Findings
from bank_desktop.domain import accounts as acc
from bank_desktop.domain import format_money
from bank_desktop.domain.money import MAX_AMOUNT
from bank_desktop.eventstore.port import FoldFields, FoldRow, RecordedEvent

ZERO: Final = Decimal("0.00")
_LOWEST: Final = -MAX_AMOUNT
#: A transfer not settled this long after it was requested is stuck (recovery runs at every
#: start and every minute in a window; anything older was missed).
STUCK_AFTER: Final = timedelta(minutes=15)
OPENED: Final = acc.AccountOpened.type
DEPOSITED: Final = acc.MoneyDeposited.type
WITHDRAWN: Final = acc.MoneyWithdrawn.type
CLOSED: Final = acc.AccountClosed.type
REFUSED: Final = acc.WithdrawalRefused.type
#: The event types this check reads; everything else passes by.
MONEY_TYPES: Final = frozenset({OPENED, DEPOSITED, WITHDRAWN, CLOSED, REFUSED})
_CASH: Final = frozenset({DEPOSITED, WITHDRAWN})
#: What :meth:`MoneyCheck.fold_rows` reads of the payloads.
_FIELDS: Final = {
    OPENED: ("initialBalance",),
    DEPOSITED: ("amount", "transferId", "reversal"),
    WITHDRAWN: ("amount", "transferId"),
}
#: Stored data that holds either is taken whole: it names a reversal (whose presence counts,
#: even as null), or it spells something with an escape (a key the needle would miss).
_NEEDLES: Final = ('"reversesEventId"', "\\")
_BYTE_NEEDLES: Final = tuple(needle.encode() for needle in _NEEDLES)


class _Account:
    __slots__ = ("balance", "closed_at", "opening")

    def __init__(self, opening: Decimal) -> None:
        self.opening = opening
        self.balance = opening
        self.closed_at = 0  #: the stream position of the closing (0: open)


#: A transfer leg as the account stream recorded it: (account, amount, stream position).
Leg = tuple[str, Decimal, int]


@dataclass(slots=True)
class _Legs:
    debits: list[Leg] = field(default_factory=list)
    credits: list[Leg] = field(default_factory=list)
    refunds: list[Leg] = field(default_factory=list)
    refused: list[Leg] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class MoneySummary:
    """The bank's money as the events tell it (all amounts exact)."""

    accounts: int
    openings: Decimal
    deposits: Decimal  #: cash in, not transfers (refunds of transfers excluded too)
    withdrawals: Decimal  #: cash out, not transfers
    in_flight: Decimal  #: debited by transfers not yet credited or refunded
    balances: Decimal  #: the sum of every account's balance
    transfers: int
    unsettled: int


def _amount(event: RecordedEvent, key: str = "amount") -> Decimal | None:
    """The amount of a money event, or None when it is not one the projections can read (the
    history check names those); bounded first, so no absurd exponent reaches the sums."""
    data = event.data
    try:
        value = data[key]
    except (TypeError, KeyError):
        return None
    if type(value) is Decimal:
        return value if _LOWEST <= value <= MAX_AMOUNT else None
    if type(value) is int and _LOWEST <= value <= MAX_AMOUNT:
        return Decimal(value)
    return None


class MoneyCheck:
    """The auditor's fold of the money events, fed in global order."""

    def __init__(self, findings: Findings) -> None:
        self._findings = findings
        self._accounts: dict[str, _Account] = {}
        self._legs: dict[str, _Legs] = {}
        self._reversals: list[tuple[RecordedEvent, str]] = []
        self.openings = self.deposits = self.withdrawals = ZERO
        self._handlers: dict[str, Callable[[RecordedEvent], None]] = {
            OPENED: self._opened,
            DEPOSITED: self._deposited,
            WITHDRAWN: self._withdrawn,
            CLOSED: self._closed,
            REFUSED: self._refused,
        }

    def fold(self, events: Iterable[RecordedEvent]) -> None:
        """Every event of a page, in global order: the everyday deposit and withdrawal (cash,
        within bounds, into an open account that stays above zero) is summed here, in a few
        lookups; everything else goes to its step above, which says what is wrong."""
        accounts = self._accounts
        handlers = self._handlers
        deposits = withdrawals = ZERO
        for event in events:
            kind = event.type
            if kind in _CASH:
                data = event.data
                if (
                    type(data) is dict
                    and "transferId" not in data
                    and "reversesEventId" not in data
                ):
                    amount = data.get("amount")
                    account = accounts.get(event.stream_id)
                    if (
                        type(amount) is Decimal
                        and ZERO < amount <= MAX_AMOUNT
                        and account is not None
                        and not account.closed_at
                    ):
                        if kind == DEPOSITED:
                            account.balance += amount
                            deposits += amount
                            continue
                        balance = account.balance - amount
                        if balance >= 0:
                            account.balance = balance
                            withdrawals += amount
                            continue
            step = handlers.get(kind)
            if step is not None:
                step(event)
        self.deposits += deposits
        self.withdrawals += withdrawals

    @staticmethod
    def fold_fields(fields: FoldFields) -> FoldFields:
        """``fields`` (what the read model's fold reads) with what :meth:`fold_rows` reads."""
        out = dict(fields)
        for kind, names in _FIELDS.items():
            out[kind] = tuple(dict.fromkeys((*out.get(kind, ()), *names)))
        return out

    def fold_rows(
        self,
        rows: Sequence[FoldRow],
        payloads: Sequence[Any],
        event_at: Callable[[int], RecordedEvent],
    ) -> None:
        """:meth:`fold` over a page read for a fold (``FoldPage``, read with
        :meth:`fold_fields`: the payloads hold what is summed, the data is kept as stored).
        The everyday opening, cash movement, transfer leg and closing are taken from their
        payloads when nothing about them needs a second look (no reversal named in the stored
        data, no key spelled with an escape); every other money event is taken whole
        (``event_at(index)``) to its step above."""
        accounts, legs, handlers = self._accounts, self._legs, self._handlers
        deposits = withdrawals = ZERO
        index = -1
        for row, payload in zip(rows, payloads, strict=True):
            index += 1
            kind = row[3]
            if kind not in MONEY_TYPES:
                continue
            if payload is not None and type(payload) is not RecordedEvent:
                if kind in _CASH:
                    text = row[4]
                    needles = _NEEDLES if type(text) is str else _BYTE_NEEDLES
                    amount = payload.amount
                    account = accounts.get(row[1])
                    if (
                        type(amount) is Decimal
                        and ZERO < amount <= MAX_AMOUNT
                        and account is not None
                        and not account.closed_at
                        and needles[0] not in text
                        and needles[1] not in text
                    ):
                        transfer_id = payload.transferId
                        if kind == DEPOSITED:
                            account.balance += amount
                            if type(transfer_id) is not str:
                                deposits += amount
                                continue
                            leg = legs.get(transfer_id) or legs.setdefault(transfer_id, _Legs())
                            side = leg.refunds if payload.reversal is True else leg.credits
                            side.append((row[1], amount, row[2]))
                            continue
                        balance = account.balance - amount
                        if balance >= 0:
                            account.balance = balance
                            if type(transfer_id) is not str:
                                withdrawals += amount
                                continue
                            leg = legs.get(transfer_id) or legs.setdefault(transfer_id, _Legs())
                            leg.debits.append((row[1], amount, row[2]))
                            continue
                elif self._opened_or_closed(kind, row, payload):
                    continue
            handlers[kind](event_at(index))
        self.deposits += deposits
        self.withdrawals += withdrawals

    def _opened_or_closed(self, kind: str, row: FoldRow, payload: Any) -> bool:
        """An everyday opening or closing from its payload (False: take it whole)."""
        accounts = self._accounts
        if kind == OPENED:
            amount = payload.initialBalance
            if type(amount) is Decimal and ZERO <= amount <= MAX_AMOUNT and row[1] not in accounts:
                accounts[row[1]] = _Account(amount)
                self.openings += amount
                return True
        elif kind == CLOSED:
            account = accounts.get(row[1])
            if account is not None and not account.closed_at and account.balance == 0:
                account.closed_at = row[2]
                return True
        return False

    def _where(self, event: RecordedEvent) -> dict[str, Any]:
        return {
            "stream_id": event.stream_id,
            "position": event.stream_position,
            "global_position": event.global_position,
        }

    def _opened(self, event: RecordedEvent) -> None:
        opening = _amount(event, "initialBalance")
        if opening is None:
            return  # unreadable: the history check reports it
        if event.stream_id in self._accounts:
            self._findings.problem(
                "money", "the account is opened a second time", **self._where(event)
            )
            return
        self._accounts[event.stream_id] = _Account(opening)
        self.openings += opening
        if opening < 0:
            self._findings.problem(
                "money",
                f"opened with a negative balance ({format_money(opening)})",
                **self._where(event),
            )

    def _not_an_account(self, event: RecordedEvent, verb: str) -> None:
        self._findings.problem(
            "money", f"money {verb} a stream that is not an opened account", **self._where(event)
        )

    def _deposited(self, event: RecordedEvent) -> None:
        """The hot path of the money fold: a few lookups unless something is wrong."""
        amount = _amount(event)
        if amount is None:
            return
        account = self._accounts.get(event.stream_id)
        if account is None:
            self._not_an_account(event, "deposited into")
            return
        data = event.data
        transfer_id = data.get("transferId")
        if amount <= 0 or account.closed_at:
            self._odd_deposit(event, account, amount, transfer_id)
        account.balance += amount
        if type(transfer_id) is str:
            legs = self._legs.get(transfer_id) or self._legs.setdefault(transfer_id, _Legs())
            (legs.refunds if data.get("reversal") is True else legs.credits).append(
                (event.stream_id, amount, event.stream_position)
            )
        else:
            self.deposits += amount
        if "reversesEventId" in data:
            self._reversals.append((event, str(data["reversesEventId"])))

    def _odd_deposit(
        self, event: RecordedEvent, account: _Account, amount: Decimal, transfer_id: object
    ) -> None:
        if amount <= 0:
            self._findings.problem(
                "money", f"a deposit of {format_money(amount)}", **self._where(event)
            )
        refund = event.data.get("reversal") is True and type(transfer_id) is str
        if account.closed_at and not refund:  # a transfer's refund lands even on a closed one
            self._findings.problem(
                "money",
                f"a deposit of {format_money(amount)} into the account closed at position "
                f"{account.closed_at}",
                **self._where(event),
            )

    def _withdrawn(self, event: RecordedEvent) -> None:
        amount = _amount(event)
        if amount is None:
            return
        account = self._accounts.get(event.stream_id)
        if account is None:
            self._not_an_account(event, "withdrawn from")
            return
        account.balance -= amount
        if amount <= 0 or account.closed_at or account.balance < 0:
            self._odd_withdrawal(event, account, amount)
        data = event.data
        transfer_id = data.get("transferId")
        if type(transfer_id) is str:
            legs = self._legs.get(transfer_id) or self._legs.setdefault(transfer_id, _Legs())
            legs.debits.append((event.stream_id, amount, event.stream_position))
        else:
            self.withdrawals += amount
        if "reversesEventId" in data:
            self._reversals.append((event, str(data["reversesEventId"])))

    def _odd_withdrawal(self, event: RecordedEvent, account: _Account, amount: Decimal) -> None:
        if amount <= 0:
            self._findings.problem(
                "money", f"a withdrawal of {format_money(amount)}", **self._where(event)
            )
        if account.closed_at:
            self._findings.problem(
                "money",
                f"a withdrawal of {format_money(amount)} from the account closed at position "
                f"{account.closed_at}",
                **self._where(event),
            )
        if account.balance < 0:
            self._findings.problem(
                "money",
                f"overdrawn: a withdrawal of {format_money(amount)} leaves "
                f"{format_money(account.balance)}",
                **self._where(event),
            )

    def _refused(self, event: RecordedEvent) -> None:
        amount = _amount(event)
        transfer_id = event.data.get("transferId") if type(event.data) is dict else None
        if amount is not None and type(transfer_id) is str:
            legs = self._legs.get(transfer_id) or self._legs.setdefault(transfer_id, _Legs())
            legs.refused.append((event.stream_id, amount, event.stream_position))

    def _closed(self, event: RecordedEvent) -> None:
        account = self._accounts.get(event.stream_id)
        if account is None or account.closed_at:
            return  # the history check reports a closing of nothing, or twice
        if account.balance != 0:
            self._findings.problem(
                "money",
                f"closed with a balance of {format_money(account.balance)}",
                **self._where(event),
            )
        account.closed_at = event.stream_position

    # ── at the end ────────────────────────────────────────────────────────────────────────

    def finish(
        self,
        model: ReadModel,
        *,
        now: datetime,
        read_stream: Callable[[str], list[RecordedEvent]],
        stuck_after: timedelta = STUCK_AFTER,
    ) -> MoneySummary:
        """Compare with the balances projection, settle the transfers, check the reversals."""
        findings = self._findings
        for account_id, account in self._accounts.items():
            row = model.balances.get(account_id)
            if row is None or row.unrecognized is not None:
                continue  # the history check names why there is no number to compare
            if row.balance != account.balance:
                findings.problem(
                    "drift",
                    f"the balances projection shows {format_money(row.balance)}, the events "
                    f"add up to {format_money(account.balance)}",
                    stream_id=account_id,
                )
        unsettled, in_flight = self._transfers(model, now, stuck_after)
        self._check_reversals(read_stream)
        balances = sum((a.balance for a in self._accounts.values()), ZERO)
        return MoneySummary(
            len(self._accounts),
            self.openings,
            self.deposits,
            self.withdrawals,
            in_flight,
            balances,
            len(model.transfers),
            unsettled,
        )

    def _transfers(
        self, model: ReadModel, now: datetime, stuck_after: timedelta
    ) -> tuple[int, Decimal]:
        findings = self._findings
        unsettled = 0
        in_flight = ZERO
        empty = _Legs()
        for transfer in model.transfers:
            legs = self._legs.pop(transfer.transfer_id, empty)
            debited = sum((amount for _, amount, _ in legs.debits), ZERO)
            arrived = sum((amount for _, amount, _ in legs.credits + legs.refunds), ZERO)
            in_flight += debited - arrived
            wrong = _wrong_legs(
                transfer.status,
                transfer.from_account_id,
                transfer.to_account_id,
                transfer.amount,
                legs,
            )
            if wrong:
                findings.problem(
                    "transfer",
                    f"{transfer.status} transfer of {format_money(transfer.amount)} from "
                    f"{transfer.from_account_id} to {transfer.to_account_id}: {wrong}",
                    stream_id=transfer.transfer_id,
                )
            if transfer.is_finished:
                continue
            unsettled += 1
            age = now - transfer.requested_at
            text = (
                f"not settled ({transfer.status}, {format_money(transfer.amount)} from "
                f"{transfer.from_account_id} to {transfer.to_account_id}) "
                f"{_duration(age)} after it was requested"
            )
            if age > stuck_after:
                findings.problem(
                    "transfer",
                    f"{text}: run `bank-desktop recover` to finish or reverse it",
                    stream_id=transfer.transfer_id,
                )
            else:
                findings.notice("transfer", f"{text}: in flight", stream_id=transfer.transfer_id)
        for transfer_id, legs in self._legs.items():
            for account_id, amount, position in legs.debits + legs.credits + legs.refunds:
                findings.problem(
                    "transfer",
                    f"{format_money(amount)} moved for the transfer {transfer_id}, which does "
                    "not exist",
                    stream_id=account_id,
                    position=position,
                )
        return unsettled, in_flight

    def _check_reversals(self, read_stream: Callable[[str], list[RecordedEvent]]) -> None:
        """A reversal undoes one earlier deposit or withdrawal of its own account, once, for
        exactly its amount (DESIGN §10). Rare: their streams are read again to check them."""
        by_stream: dict[str, list[tuple[RecordedEvent, str]]] = {}
        for event, target_id in self._reversals:
            by_stream.setdefault(event.stream_id, []).append((event, target_id))
        for stream_id, reversals in by_stream.items():
            history = {e.event_id: e for e in read_stream(stream_id)}
            reversed_once: set[str] = set()
            for event, target_id in reversals:
                target = history.get(target_id)
                opposite = WITHDRAWN if event.type == DEPOSITED else DEPOSITED
                problem = None
                if target is None or target.stream_position >= event.stream_position:
                    problem = f"it reverses {target_id}, which is no earlier event of this account"
                elif target.type != opposite or (
                    type(target.data) is dict and target.data.get("reversesEventId") is not None
                ):
                    problem = f"it reverses a {target.type}, which cannot be reversed this way"
                elif _amount(target) != _amount(event):
                    problem = (
                        f"its amount differs from the {target.type} it reverses "
                        f"({format_money(_amount(target) or ZERO)})"
                    )
                elif target_id in reversed_once:
                    problem = f"{target_id} is reversed more than once"
                reversed_once.add(target_id)
                if problem is not None:
                    self._findings.problem(
                        "money",
                        f"reversal: {problem}",
                        stream_id=stream_id,
                        position=event.stream_position,
                        global_position=event.global_position,
                    )


def _wrong_legs(status: str, source: str, target: str, amount: Decimal, legs: _Legs) -> str | None:
    """What is wrong with a transfer's legs for its status, or None."""
    expected = {
        "completed": (1, 1, 0),
        "reversed": (1, 0, 1),
        "rejected": (0, 0, 0),
    }.get(status)
    counts = (len(legs.debits), len(legs.credits), len(legs.refunds))
    if expected is not None and counts != expected:
        return (
            f"{counts[0]} debit(s), {counts[1]} credit(s) and {counts[2]} refund(s) recorded "
            f"where {expected[0]}, {expected[1]} and {expected[2]} belong"
        )
    if expected is None and (
        counts[0] > 1 or counts[1] > 1 or counts[2] > 1 or counts[1] + counts[2] > counts[0]
    ):
        return f"{counts[0]} debit(s), {counts[1]} credit(s) and {counts[2]} refund(s) recorded"
    for name, legs_of, account in (
        ("debit", legs.debits, source),
        ("credit", legs.credits, target),
        ("refund", legs.refunds, source),
    ):
        for leg_account, leg_amount, _ in legs_of:
            if leg_account != account or leg_amount != amount:
                return (
                    f"its {name} is {format_money(leg_amount)} in {leg_account}, not "
                    f"{format_money(amount)} in {account}"
                )
    return None


def _duration(age: timedelta) -> str:
    seconds = max(0, int(age.total_seconds()))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172_800:
        return f"{seconds // 3600} h"
    return f"{seconds // 86_400} days"
