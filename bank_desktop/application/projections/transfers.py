"""Transfers: where each transfer stands (requested, debited, completed, rejected, reversed)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from operator import attrgetter
from typing import Any, Final

from bank_desktop.application import wire_fields as f
from bank_desktop.application.projections import snapshot_rows as checked
from bank_desktop.application.projections.balances import (
    TRANSFER_CHANGED,
    UNCHANGED,
    cents_of,
    whole_cents,
)
from bank_desktop.domain import transfers as tr
from bank_desktop.eventstore.port import RecordedEvent


@dataclass(slots=True)
class TransferSummary:
    """Where one transfer stands. The amount is kept in cents, as balances are (an int; a
    Decimal only for a fraction of a cent); :attr:`amount` reads it as money."""

    transfer_id: str
    from_account_id: str
    to_account_id: str
    cents: int | Decimal
    description: str | None
    status: tr.TransferStatus
    requested_at: datetime
    updated_at: datetime
    reason: str | None
    revision: int

    @property
    def amount(self) -> Decimal:
        cents = self.cents
        return (cents if type(cents) is Decimal else Decimal(cents)).scaleb(-2)

    @property
    def is_finished(self) -> bool:
        return self.status in tr.TERMINAL_STATUSES


_STATUSES = frozenset(("requested", "debited", "completed", "rejected", "reversed"))


class TransfersProjection:
    def __init__(self) -> None:
        self._rows: dict[str, TransferSummary] = {}

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[TransferSummary]:
        return iter(self._rows.values())

    def get(self, transfer_id: str) -> TransferSummary | None:
        return self._rows.get(transfer_id)

    def rows_by_id(self) -> dict[str, TransferSummary]:
        """The rows by transfer id, for a fold to add to and update in place."""
        return self._rows

    def unfinished(self) -> list[TransferSummary]:
        return [row for row in self._rows.values() if not row.is_finished]

    def handlers(self) -> dict[str, Callable[[RecordedEvent], int]]:
        """Event type → fold step returning TRANSFER_CHANGED or UNCHANGED."""
        return {
            tr.TransferRequested.type: self._requested,
            tr.TransferDebited.type: self._step("debited", "debitedAt"),
            tr.TransferCompleted.type: self._step("completed", "completedAt"),
            tr.TransferRejected.type: self._step("rejected", "rejectedAt", with_reason=True),
            tr.TransferReversed.type: self._step("reversed", "reversedAt", with_reason=True),
        }

    def _requested(self, event: RecordedEvent) -> int:
        if event.stream_id in self._rows:
            return UNCHANGED
        data = f.payload(event)
        at = f.moment(event, data, "requestedAt")
        self._rows[event.stream_id] = TransferSummary(
            event.stream_id,
            f.text(event, data, "fromAccountId"),
            f.text(event, data, "toAccountId"),
            cents_of(f.money(event, data, "amount")),
            f.optional_text(event, data, "description"),
            "requested",
            at,
            at,
            None,
            event.stream_position,
        )
        return TRANSFER_CHANGED

    def _step(
        self, status: tr.TransferStatus, time_field: str, *, with_reason: bool = False
    ) -> Callable[[RecordedEvent], int]:
        rows = self._rows

        def apply(event: RecordedEvent) -> int:
            row = rows.get(event.stream_id)
            if row is None or row.revision >= event.stream_position:
                return UNCHANGED
            data = f.payload(event)
            at = f.moment(event, data, time_field)
            reason = f.text(event, data, "reason") if with_reason else row.reason
            row.status, row.updated_at, row.reason = status, at, reason
            row.revision = event.stream_position
            return TRANSFER_CHANGED

        return apply

    def snapshot_state(self) -> dict[str, list[Any]]:
        """The rows as the columns :data:`COLUMNS` (bump the read model's snapshot version when
        they change): lists of the values the rows hold, times left for the encoder."""
        rows = list(self._rows.values())
        column = {name: list(map(attrgetter(attribute), rows)) for name, attribute in _FIELDS}
        for name in ("requested", "updated"):
            column[name] = checked.times_for_json(column[name])
        return column

    @classmethod
    def from_snapshot_state(
        cls, state: Any, same: Callable[[str], str] | None = None
    ) -> TransfersProjection:
        """Rows back from a snapshot, every value checked: ValueError names the first bad one
        (column checks at C speed first, row by row only to name what failed). ``same(id)``
        may return an equal account id string already kept elsewhere, to keep one copy."""
        values = checked.columns(state, COLUMNS, "transfers")
        try:
            projection = cls._from_columns(values, same)
        except (ValueError, TypeError, ArithmeticError):
            projection = None
        if projection is None:
            cls._check_rows(values)  # raises, naming the row and value
            raise ValueError("the transfers are not valid rows")  # pragma: no cover
        return projection

    @classmethod
    def _from_columns(
        cls, values: list[list[Any]], same: Callable[[str], str] | None
    ) -> TransfersProjection | None:
        (
            ids,
            sources,
            targets,
            amounts,
            texts,
            statuses,
            requested,
            updated,
            reasons,
            revs,
        ) = values
        if not (
            checked.texts_plausible(ids)
            and len(set(ids)) == len(ids)
            and checked.texts_plausible(sources)
            and checked.texts_plausible(targets)
            and checked.amounts_plausible(amounts)
            and checked.column_types(texts) <= {str, type(None)}
            and set(statuses) <= _STATUSES
            and checked.column_types(reasons) <= {str, type(None)}
            and checked.revisions_plausible(revs)
        ):
            return None
        if same is not None:
            sources, targets = list(map(same, sources)), list(map(same, targets))
        requested_at, updated_at = checked.moments(requested), checked.moments(updated)
        projection = cls()
        rows = projection._rows
        for row in map(
            TransferSummary,
            ids, sources, targets, amounts, texts, statuses, requested_at, updated_at,
            reasons, revs,
        ):  # fmt: skip
            if type(row.cents) is not int:
                row.cents = whole_cents(row.cents)
            rows[row.transfer_id] = row
        return projection

    @staticmethod
    def _check_rows(values: list[list[Any]]) -> None:
        """Check row by row; raises ValueError naming the first value that is not valid."""
        seen: set[str] = set()
        for number, row in enumerate(zip(*values, strict=True), 1):
            where = f"transfers row {number}"
            tid, src, dst, amount, desc, status, requested, updated, reason, revision = row
            checked.text(tid, f"{where}: the transfer id")
            if tid in seen:
                raise ValueError(f"{where} repeats transfer {tid!r}")
            seen.add(tid)
            checked.text(src, f"{where}: the source account")
            checked.text(dst, f"{where}: the target account")
            checked.amount(amount, f"{where}: the amount in cents")
            checked.optional_text(desc, f"{where}: the description")
            if status not in _STATUSES:
                raise ValueError(f"{where}: unknown transfer status {status!r}")
            checked.moment(requested, f"{where}: the request time")
            checked.moment(updated, f"{where}: the last update")
            checked.optional_text(reason, f"{where}: the reason")
            checked.revision(revision, f"{where}: the revision")


#: Snapshot column -> the row attribute it holds, in the order of TransferSummary's fields.
_FIELDS: Final = (
    ("ids", "transfer_id"),
    ("from", "from_account_id"),
    ("to", "to_account_id"),
    ("cents", "cents"),
    ("descriptions", "description"),
    ("statuses", "status"),
    ("requested", "requested_at"),
    ("updated", "updated_at"),
    ("reasons", "reason"),
    ("revisions", "revision"),
)
#: The columns of a transfers snapshot.
COLUMNS: Final = tuple(name for name, _ in _FIELDS)
