"""catch_up's fold of whole pages: the projections' steps for everyday events, in one loop.

A rebuild folds a million events, and ``ReadModel.apply`` spends most of its time on what each
event costs besides its step: a ``RecordedEvent``, a dict of every field of its data, a call
per step, the set of what changed. Here a store that offers
:class:`~bank_desktop.eventstore.port.FoldReader` reads only the fields the steps read (see
:data:`FOLD_FIELDS`), and the steps of the account and transfer events that make up nearly all
of a history (openings, deposits, withdrawals, closures, transfers requested, debited and
completed) run inline over those rows.

Inline steps accept only what the projections' own steps accept without question: a field of
the right type and within bounds, a timestamp that parses. Anything else (another type, a
field that is missing or odd, a payload that is not a JSON object) goes to ``ReadModel.apply``
as the whole event, so a rebuild ends exactly where applying every event would:
``tests/application/test_bulk_fold.py`` checks that under hypothesis, malformed events
included.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from bank_desktop.application.projections.balances import (
    AccountBalance,
    cents_of,
    unchanged,
    whole_cents,
)
from bank_desktop.application.projections.transfers import TransferSummary
from bank_desktop.domain import accounts as acc
from bank_desktop.domain import transfers as tr
from bank_desktop.domain.money import MAX_AMOUNT
from bank_desktop.domain.transfers import TransferStatus
from bank_desktop.eventstore.port import FoldFields, FoldPage, RecordedEvent

if TYPE_CHECKING:
    from bank_desktop.application.projections.read_model import ReadModel

_DEPOSITED: Final = 1
_WITHDRAWN: Final = 2
_OPENED: Final = 3
_CLOSED: Final = 4
_REQUESTED: Final = 5
_DEBITED: Final = 6
_COMPLETED: Final = 7

#: The inline steps: event type -> (its kind here, the fields its step reads).
_INLINE: Final[Mapping[str, tuple[int, tuple[str, ...]]]] = {
    acc.AccountOpened.type: (_OPENED, ("customerId", "initialBalance", "openedAt")),
    acc.MoneyDeposited.type: (_DEPOSITED, ("amount", "depositedAt")),
    acc.MoneyWithdrawn.type: (_WITHDRAWN, ("amount", "withdrawnAt")),
    acc.AccountClosed.type: (_CLOSED, ("closedAt",)),
    tr.TransferRequested.type: (
        _REQUESTED,
        ("fromAccountId", "toAccountId", "amount", "description", "requestedAt"),
    ),
    tr.TransferDebited.type: (_DEBITED, ("debitedAt",)),
    tr.TransferCompleted.type: (_COMPLETED, ("completedAt",)),
}
_KINDS: Final = {event_type: kind for event_type, (kind, _) in _INLINE.items()}


def fold_fields(model: ReadModel) -> FoldFields:
    """What to read of each type: the inline steps' fields, and nothing of the types whose
    step changes no row (requests claimed, staff, approvals...). Every other type (holds,
    customers, transfers rejected or reversed, types nobody knows) arrives whole."""
    quiet = {t: () for t, step in model.handlers().items() if step is unchanged}
    return {**quiet, **{t: names for t, (_, names) in _INLINE.items()}}


_fromiso = datetime.fromisoformat
_LOWEST: Final = -MAX_AMOUNT
_MAX_WHOLE: Final = int(MAX_AMOUNT)


def _money(value: Any) -> Decimal | None:
    """``wire_fields.money`` for a value it accepts, None for one it might not."""
    kind = type(value)
    if kind is Decimal:
        if value.is_finite() and _LOWEST <= value <= MAX_AMOUNT:
            return value  # type: ignore[no-any-return]
    elif kind is int and -_MAX_WHOLE <= value <= _MAX_WHOLE:
        return Decimal(value)
    return None


def _moment(value: Any) -> datetime | None:
    """``wire_fields.moment`` for a value it accepts, None for one it refuses."""
    if type(value) is not str:
        return None
    try:
        parsed = _fromiso(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


#: Reads one event in full, by global position, for the careful path.
WholeEvent = Callable[[int], RecordedEvent]


class BulkFold:
    """Folds pages into one model. The hot steps (deposits, withdrawals) run inline in the
    loop; the other inline steps are a method call each, and say False when the event must go
    the careful way."""

    def __init__(self, model: ReadModel, whole: WholeEvent) -> None:
        self._model = model
        self._whole = whole
        self._balances = model.balances
        self._accounts = model.balances.rows_by_id()
        self._transfers = model.transfers.rows_by_id()
        self._steps: dict[int, Callable[[str, int, Any], bool]] = {
            _OPENED: self._opened,
            _CLOSED: self._closed,
            _REQUESTED: self._requested,
            _DEBITED: self._debited,
            _COMPLETED: self._completed,
        }

    def fold(self, page: FoldPage) -> int:
        """Fold ``page`` (events after the model's checkpoint are applied, the others
        skipped, as ``apply`` does); returns how many events it held."""
        model, accounts, steps, kinds = self._model, self._accounts, self._steps, _KINDS
        fromiso, lowest, highest = _fromiso, _LOWEST, MAX_AMOUNT
        start = checkpoint = model.checkpoint
        for (global_position, stream_id, stream_position, event_type, _), payload in zip(  # noqa: B905 - one length by construction
            page.rows, page.payloads
        ):
            if global_position <= checkpoint:
                continue
            kind = kinds.get(event_type)
            if kind is None or payload is None or type(payload) is RecordedEvent:
                # None for a type whose step changes no row; else the whole event, or (for an
                # inline type whose data is not a JSON object) the whole event to be read
                if payload is not None or kind is not None:
                    self._careful(checkpoint, global_position, payload)
            elif kind <= _WITHDRAWN:  # the hot path, inline: most of any history
                row = accounts.get(stream_id)
                if row is not None and row.revision < stream_position:
                    amount = payload.amount
                    try:  # a Decimal within bounds (NaN raises), a time with its zone
                        at = fromiso(
                            payload.depositedAt if kind == _DEPOSITED else payload.withdrawnAt
                        )
                        usual = (
                            type(amount) is Decimal
                            and at.tzinfo is not None
                            and lowest <= amount <= highest
                        )
                    except (TypeError, ValueError, ArithmeticError):
                        usual = False
                    if usual:  # in cents: an int, unless a fraction of a cent is in it
                        change = amount * 100
                        whole = int(change)
                        if whole == change:
                            change = whole
                        cents = row.cents
                        row.cents = cents + change if kind == _DEPOSITED else cents - change
                        row.last_activity_at = at
                        row.revision = stream_position
                    elif not self._movement(row, kind, stream_position, payload):
                        self._careful(checkpoint, global_position, None)
            elif not steps[kind](stream_id, stream_position, payload):
                self._careful(checkpoint, global_position, None)
            checkpoint = global_position
        if checkpoint > start:
            model.checkpoint = checkpoint
            model.checkpoint_event_id = page.last_event_id
        return len(page.rows)

    def _movement(self, row: AccountBalance, kind: int, stream_position: int, payload: Any) -> bool:
        """A deposit or withdrawal off the hot path: a whole-number amount, a time without a
        zone (taken as UTC), or something the careful path must judge (False)."""
        amount = _money(payload.amount)
        at = _moment(payload.depositedAt if kind == _DEPOSITED else payload.withdrawnAt)
        if amount is None or at is None:
            return False
        change = amount * 100
        row.cents = whole_cents(row.cents + change if kind == _DEPOSITED else row.cents - change)
        row.last_activity_at = at
        row.revision = stream_position
        return True

    def _careful(self, checkpoint: int, global_position: int, event: RecordedEvent | None) -> None:
        """Apply one event through ``ReadModel.apply``, reading it whole first if need be."""
        if event is None:
            event = self._whole(global_position)
        self._model.checkpoint = checkpoint
        self._model.apply([event])

    # The steps below return True when the event is folded (or changes nothing), False when
    # a field is not one they accept without question.

    def _opened(self, stream_id: str, stream_position: int, payload: Any) -> bool:
        if stream_id in self._accounts:
            return True
        customer = payload.customerId
        initial = _money(payload.initialBalance)
        opened_at = _moment(payload.openedAt)
        if type(customer) is not str or not customer or initial is None or opened_at is None:
            return False
        self._balances.add_row(
            AccountBalance(
                stream_id,
                customer,
                cents_of(initial),
                True,
                opened_at,
                None,
                opened_at,
                stream_position,
            )
        )
        if len(self._model.customers):  # a name to show: the customer may be registered
            self._model.name_account(stream_id)
        return True

    def _closed(self, stream_id: str, stream_position: int, payload: Any) -> bool:
        row = self._accounts.get(stream_id)
        if row is None or row.revision >= stream_position:
            return True
        closed_at = _moment(payload.closedAt)
        if closed_at is None:
            return False
        row.is_open = False
        row.closed_at = row.last_activity_at = closed_at
        row.revision = stream_position
        return True

    def _requested(self, stream_id: str, stream_position: int, payload: Any) -> bool:
        if stream_id in self._transfers:
            return True
        source, target = payload.fromAccountId, payload.toAccountId
        amount = _money(payload.amount)
        description = payload.description
        at = _moment(payload.requestedAt)
        if (
            type(source) is not str
            or not source
            or type(target) is not str
            or not target
            or amount is None
            or not (description is None or type(description) is str)
            or at is None
        ):
            return False
        same = self._balances.same_id  # one copy of an account's id
        self._transfers[stream_id] = TransferSummary(
            stream_id, same(source), same(target), amount, description, "requested", at, at,
            None, stream_position,
        )  # fmt: skip
        return True

    def _debited(self, stream_id: str, stream_position: int, payload: Any) -> bool:
        return self._transfer_step(stream_id, stream_position, "debited", payload.debitedAt)

    def _completed(self, stream_id: str, stream_position: int, payload: Any) -> bool:
        return self._transfer_step(stream_id, stream_position, "completed", payload.completedAt)

    def _transfer_step(
        self, stream_id: str, stream_position: int, status: TransferStatus, when: Any
    ) -> bool:
        row = self._transfers.get(stream_id)
        if row is None or row.revision >= stream_position:
            return True
        at = _moment(when)
        if at is None:
            return False
        row.status, row.updated_at = status, at
        row.revision = stream_position
        return True
