"""Balances: one row per account (customer, balance, open/closed, opened, last activity).

The seed's ``AccountBalanceReadModel`` as a pure fold. Each row keeps the stream position of
the last event applied to it (the seed's ``_revision``), so an event delivered twice, or a
webhook batch replayed out of order, changes nothing the second time.

Rows also carry what the teller's day adds, none of which changes a balance: the holds placed
and not released (so a view can show the available balance at any moment) and the name of
the account's customer when the customer is registered (kept by the read model).

A row whose stream holds an event this projection cannot apply (a type it does not know, a
malformed payload, or anything before the opening) is marked (``unrecognized`` says what):
its ``balance`` then ignores part of the history, so views show the mark instead of the
number, and :meth:`BalancesProjection.total` leaves it out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from itertools import compress, repeat
from operator import attrgetter, is_
from typing import Any, Final

from bank_desktop.application import wire_fields as f
from bank_desktop.application.projections import snapshot_rows as checked
from bank_desktop.domain import accounts as acc
from bank_desktop.domain.holds import Hold, active_holds, held_amount
from bank_desktop.domain.money import MAX_AMOUNT
from bank_desktop.eventstore.port import RecordedEvent

UNCHANGED: Final = 0
OPENED: Final = 1
CHANGED: Final = 2
TRANSFER_CHANGED: Final = 3  #: what the transfers projection's steps return on any change


def unchanged(_: RecordedEvent) -> int:
    """The step of an event type that is known but changes no row."""
    return UNCHANGED


_fromiso = datetime.fromisoformat
_LOWEST: Final = -MAX_AMOUNT
_CENTS: Final = attrgetter("cents")


def _amount_and_time(event: RecordedEvent, time_field: str) -> tuple[Decimal, datetime]:
    """The amount and time of a deposit or withdrawal: a fast path for well-formed payloads
    (the millions of a rebuild), the field-by-field checks of ``wire_fields`` otherwise."""
    data = event.data
    try:
        amount = data["amount"]
        at = _fromiso(data[time_field])
    except (TypeError, KeyError, ValueError):
        pass
    else:
        if (
            type(amount) is Decimal
            and at.tzinfo is not None
            and amount.is_finite()
            and _LOWEST <= amount <= MAX_AMOUNT  # bounded before the sum (no 1E+999999999)
        ):
            return amount, at
    payload = f.payload(event)
    return f.money(event, payload, "amount"), f.moment(event, payload, time_field)


def cents_of(amount: Decimal) -> int | Decimal:
    """``amount`` in cents as a row keeps it: an int when it is a whole number of cents (every
    amount a clerk can enter), else a Decimal number of cents (``0.001`` written by another
    tool: 0.1 cents), so nothing is rounded. ``amount`` is finite and bounded."""
    return whole_cents(amount * 100)


def whole_cents(cents: int | Decimal) -> int | Decimal:
    """``cents`` as an int when it is whole, else as it is."""
    whole = int(cents)
    return whole if whole == cents else cents


@dataclass(slots=True)
class AccountBalance:
    """One account's row. The balance is kept as cents in an int (28 bytes, where a Decimal
    takes 104: 100,000 rows stay in a window for hours); :attr:`balance` reads it as money."""

    account_id: str
    customer_id: str
    #: The balance in cents: an int, or a Decimal when it is not a whole number of cents (and,
    #: for a moment, while a bulk fold adds to it: ``compact`` makes it an int again).
    cents: int | Decimal
    is_open: bool
    opened_at: datetime
    closed_at: datetime | None
    last_activity_at: datetime
    revision: int
    #: What in this account's history was not applied (None: all of it was).
    unrecognized: str | None = None
    #: Holds placed and not released, oldest first (expired ones too: see ``available``).
    holds: tuple[Hold, ...] = ()
    #: The registered customer's full name (None: the customer id is not registered).
    customer_name: str | None = None
    #: The row's place in opening order (set by the projection that keeps it).
    position: int = field(default=-1, compare=False, repr=False)

    @property
    def balance(self) -> Decimal:
        cents = self.cents
        return (cents if type(cents) is Decimal else Decimal(cents)).scaleb(-2)

    @balance.setter
    def balance(self, value: Decimal) -> None:
        self.cents = cents_of(value)

    def active_holds(self, moment: datetime) -> tuple[Hold, ...]:
        return active_holds(self.holds, moment)

    def available(self, moment: datetime) -> Decimal:
        """The balance less the holds active at ``moment`` (the balance when none are)."""
        if not self.holds:
            return self.balance
        return self.balance - held_amount(active_holds(self.holds, moment))


class BalancesProjection:
    """Account rows in the order accounts were opened; lookups by id in O(1).

    A window keeps 100,000 rows for hours, so they are kept lean: each row knows its own place
    in opening order (no second dict), the accounts of a customer with a single account are
    that account's id (no list each), and rows of one customer share one customer id string.
    """

    def __init__(self) -> None:
        self._rows: dict[str, AccountBalance] = {}
        self._order: list[AccountBalance] = []
        #: customer id -> the id of its only account, or the ids of its accounts
        self._by_customer: dict[str, str | list[str]] = {}

    def __len__(self) -> int:
        return len(self._order)

    def __iter__(self) -> Iterator[AccountBalance]:
        return iter(self._order)

    def get(self, account_id: str) -> AccountBalance | None:
        return self._rows.get(account_id)

    def at(self, index: int) -> AccountBalance:
        """The row at ``index`` in opening order (what a table model shows as row ``index``)."""
        return self._order[index]

    def index_of(self, account_id: str) -> int:
        """The row of ``account_id`` in opening order; KeyError if unknown."""
        return self._rows[account_id].position

    def accounts_of(self, customer_id: str) -> tuple[str, ...]:
        """The accounts opened for ``customer_id``, in opening order."""
        accounts = self._by_customer.get(customer_id, ())
        return (accounts,) if type(accounts) is str else tuple(accounts)

    def name_customer(self, customer_id: str, name: str | None) -> list[str]:
        """Show ``name`` on every account of the customer; the accounts whose name changed."""
        changed = []
        for account_id in self.accounts_of(customer_id):
            row = self._rows[account_id]
            if row.customer_name != name:
                row.customer_name = name
                changed.append(account_id)
        return changed

    def total(self) -> Decimal:
        """The sum of the balances that are known (marked rows left out: see unreadable())."""
        cents = sum(row.cents for row in self._order if row.unrecognized is None)
        return Decimal(cents).scaleb(-2)

    def compact(self) -> None:
        """Keep as ints the cents a bulk fold left as Decimals (those that are whole)."""
        rows = self._order
        for row in compress(rows, map(is_, map(type, map(_CENTS, rows)), repeat(Decimal))):
            row.cents = whole_cents(row.cents)

    def unreadable(self) -> int:
        """How many accounts are marked: their balance ignores part of their history."""
        return sum(1 for row in self._rows.values() if row.unrecognized is not None)

    def mark(self, event: RecordedEvent, problem: str) -> bool:
        """Mark the account of ``event`` (if it is one) as not fully applied; True if it is an
        account row that was not marked before (so views repaint it)."""
        row = self._rows.get(event.stream_id)
        if row is None or row.unrecognized is not None:
            return False
        row.unrecognized = f"{problem} at position {event.stream_position}"
        return True

    def handlers(self) -> dict[str, Callable[[RecordedEvent], int]]:
        """Event type → fold step returning OPENED, CHANGED or UNCHANGED."""
        return {
            acc.AccountOpened.type: self._opened,
            acc.MoneyDeposited.type: self._deposited,
            acc.MoneyWithdrawn.type: self._withdrawn,
            acc.AccountClosed.type: self._closed,
            acc.WithdrawalRefused.type: unchanged,
            acc.ApprovedCommandRefused.type: unchanged,
            acc.HoldPlaced.type: self._hold_placed,
            acc.HoldReleased.type: self._hold_released,
        }

    # Each step reads and checks every field before touching the row, so a malformed event
    # (MalformedEventError) leaves the projection exactly as it was.

    def _opened(self, event: RecordedEvent) -> int:
        stream_id = event.stream_id
        if stream_id in self._rows:
            return UNCHANGED
        data = f.payload(event)
        customer = f.text(event, data, "customerId")
        initial = f.money(event, data, "initialBalance")
        opened_at = f.moment(event, data, "openedAt")
        self.add_row(
            AccountBalance(
                stream_id,
                customer,
                cents_of(initial),
                True,
                opened_at,
                None,
                opened_at,
                event.stream_position,
            )
        )
        return OPENED

    def add_row(self, row: AccountBalance) -> None:
        """A newly opened account's row (its revision is the opening's stream position)."""
        if row.revision != 1:  # something came before the opening: not applied
            row.unrecognized = (
                f"{row.revision - 1} event(s) before the opening at position {row.revision}"
            )
        self._keep(row)

    def _keep(self, row: AccountBalance) -> None:
        account_id, customer_id = row.account_id, row.customer_id
        row.position = len(self._order)
        self._rows[account_id] = row
        self._order.append(row)
        by_customer = self._by_customer
        accounts = by_customer.get(customer_id)
        if accounts is None:
            by_customer[customer_id] = account_id
            return
        if isinstance(accounts, str):
            first = accounts
            by_customer[customer_id] = [accounts, account_id]
        else:
            first = accounts[0]
            accounts.append(account_id)
        row.customer_id = self._rows[first].customer_id  # one string per customer

    def same_id(self, account_id: str) -> str:
        """The account id string a row keeps, if ``account_id`` names a row (else itself):
        what others keep of an account's id need not be another copy of it."""
        row = self._rows.get(account_id)
        return account_id if row is None else row.account_id

    def rows_by_id(self) -> dict[str, AccountBalance]:
        """The rows by account id, for a fold to update in place (never to add to)."""
        return self._rows

    def _deposited(self, event: RecordedEvent) -> int:
        row = self._rows.get(event.stream_id)
        if row is None or row.revision >= event.stream_position:
            return UNCHANGED
        amount, at = _amount_and_time(event, "depositedAt")
        row.cents = whole_cents(row.cents + amount * 100)
        row.last_activity_at = at
        row.revision = event.stream_position
        return CHANGED

    def _withdrawn(self, event: RecordedEvent) -> int:
        row = self._rows.get(event.stream_id)
        if row is None or row.revision >= event.stream_position:
            return UNCHANGED
        amount, at = _amount_and_time(event, "withdrawnAt")
        row.cents = whole_cents(row.cents - amount * 100)
        row.last_activity_at = at
        row.revision = event.stream_position
        return CHANGED

    def _closed(self, event: RecordedEvent) -> int:
        row = self._rows.get(event.stream_id)
        if row is None or row.revision >= event.stream_position:
            return UNCHANGED
        closed_at = f.moment(event, f.payload(event), "closedAt")
        row.is_open = False
        row.closed_at = row.last_activity_at = closed_at
        row.revision = event.stream_position
        return CHANGED

    def _hold_placed(self, event: RecordedEvent) -> int:
        row = self._rows.get(event.stream_id)
        if row is None or row.revision >= event.stream_position:
            return UNCHANGED
        data = f.payload(event)
        hold = Hold(
            f.text(event, data, "holdId"),
            f.money(event, data, "amount"),
            f.text(event, data, "reason"),
            f.moment(event, data, "placedAt"),
            f.optional_moment(event, data, "expiresAt"),
        )
        row.holds = (*row.holds, hold)
        row.revision = event.stream_position
        return CHANGED

    def _hold_released(self, event: RecordedEvent) -> int:
        row = self._rows.get(event.stream_id)
        if row is None or row.revision >= event.stream_position:
            return UNCHANGED
        hold_id = f.text(event, f.payload(event), "holdId")
        row.holds = tuple(hold for hold in row.holds if hold.hold_id != hold_id)
        row.revision = event.stream_position
        return CHANGED

    def holds_state(self) -> list[list[Any]]:
        """The unreleased holds as rows ``[account, hold, amount, reason, placed, expires]``."""
        return [
            [
                row.account_id,
                hold.hold_id,
                hold.amount,
                hold.reason,
                hold.placed_at.isoformat(),
                hold.expires_at.isoformat() if hold.expires_at else None,
            ]
            for row in self
            for hold in row.holds
        ]

    def restore_holds(self, rows: list[list[Any]]) -> None:
        """Holds back from :meth:`holds_state`; ValueError naming the first bad value."""
        if type(rows) is not list:
            raise ValueError("the holds are not a list of rows")
        for number, values in enumerate(rows, 1):
            where = f"holds row {number}"
            if type(values) is not list or len(values) != 6:
                raise ValueError(f"{where} is not a row of 6 values")
            account_id, hold_id, amount, reason, placed, expires = values
            row = self._rows.get(checked.text(account_id, f"{where}: the account id"))
            if row is None:
                raise ValueError(f"{where} names an unknown account {account_id!r}")
            hold = Hold(
                checked.text(hold_id, f"{where}: the hold id"),
                checked.amount(amount, f"{where}: the amount"),
                checked.text(reason, f"{where}: the reason"),
                checked.moment(placed, f"{where}: the time placed"),
                None if expires is None else checked.moment(expires, f"{where}: the expiry"),
            )
            row.holds = (*row.holds, hold)

    def snapshot_state(self) -> dict[str, list[Any]]:
        """The rows as the columns :data:`COLUMNS` (bump the read model's snapshot version when
        they change): lists of the values the rows hold, times left for the encoder."""
        rows = self._order
        column = {name: list(map(attrgetter(attribute), rows)) for name, attribute in _FIELDS}
        for name in ("opened", "closed", "last"):
            column[name] = checked.times_for_json(column[name])
        return column

    @classmethod
    def from_snapshot_state(cls, state: Any) -> BalancesProjection:
        """Rows back from a snapshot, every value checked: ValueError names the first bad one.

        The checks run a column at a time at C speed (a start restores 100,000 rows); only
        when they fail are the rows checked one by one, to name the value.
        """
        values = checked.columns(state, COLUMNS, "balances")
        try:
            projection = cls._from_columns(*values)
        except (ValueError, TypeError, ArithmeticError):
            projection = None
        if projection is None:
            cls._check_rows(values)  # raises, naming the row and value
            raise ValueError("the balances are not valid rows")  # pragma: no cover
        return projection

    @classmethod
    def _from_columns(  # noqa: PLR0917 - one parameter per column
        cls,
        ids: list[Any],
        customers: list[Any],
        cents: list[Any],
        opens: list[Any],
        opened: list[Any],
        closed: list[Any],
        last: list[Any],
        revisions: list[Any],
        marks: list[Any],
    ) -> BalancesProjection | None:
        """The projection, or None when a column check fails (TypeError/ValueError too)."""
        if not (
            checked.texts_plausible(ids)
            and len(set(ids)) == len(ids)
            and checked.texts_plausible(customers)
            and checked.amounts_plausible(cents)
            and checked.column_types(opens) <= {bool}
            and checked.revisions_plausible(revisions)
            and checked.column_types(marks) <= {str, type(None)}
        ):
            return None
        opened_at, last_at = checked.moments(opened), checked.moments(last)
        closed_at = checked.optional_moments(closed)
        projection = cls()
        keep = projection._keep
        for values in zip(
            ids, customers, cents, opens, opened_at, closed_at, last_at, revisions, marks,
            strict=True,
        ):  # fmt: skip
            row = AccountBalance(*values)
            if type(row.cents) is not int:
                row.cents = whole_cents(row.cents)
            keep(row)
        return projection

    @staticmethod
    def _check_rows(values: list[list[Any]]) -> None:
        """Check row by row; raises ValueError naming the first value that is not valid."""
        seen: set[str] = set()
        for number, row in enumerate(zip(*values, strict=True), 1):
            where = f"balances row {number}"
            account_id, customer, cents, is_open, opened, closed, last, revision, mark = row
            checked.text(account_id, f"{where}: the account id")
            if account_id in seen:
                raise ValueError(f"{where} repeats account {account_id!r}")
            seen.add(account_id)
            checked.text(customer, f"{where}: the customer id")
            checked.amount(cents, f"{where}: the balance in cents")
            checked.flag(is_open, f"{where}: 'open'")
            checked.moment(opened, f"{where}: the opening time")
            if closed is not None:
                checked.moment(closed, f"{where}: the closing time")
            checked.moment(last, f"{where}: the last activity")
            checked.revision(revision, f"{where}: the revision")
            checked.optional_text(mark, f"{where}: the unrecognized-history mark")


#: Snapshot column -> the row attribute it holds, in the order of AccountBalance's fields.
_FIELDS: Final = (
    ("ids", "account_id"),
    ("customers", "customer_id"),
    ("cents", "cents"),
    ("open", "is_open"),
    ("opened", "opened_at"),
    ("closed", "closed_at"),
    ("last", "last_activity_at"),
    ("revisions", "revision"),
    ("marks", "unrecognized"),
)
#: The columns of a balances snapshot.
COLUMNS: Final = tuple(name for name, _ in _FIELDS)
