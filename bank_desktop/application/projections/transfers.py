"""Transfers: where each transfer stands (requested, debited, completed, rejected, reversed)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from operator import attrgetter, itemgetter
from typing import Any

from bank_desktop.application import wire_fields as f
from bank_desktop.application.projections import snapshot_rows as checked
from bank_desktop.application.projections.balances import TRANSFER_CHANGED, UNCHANGED
from bank_desktop.domain import transfers as tr
from bank_desktop.eventstore.port import RecordedEvent


@dataclass(slots=True)
class TransferSummary:
    transfer_id: str
    from_account_id: str
    to_account_id: str
    amount: Decimal
    description: str | None
    status: tr.TransferStatus
    requested_at: datetime
    updated_at: datetime
    reason: str | None
    revision: int

    @property
    def is_finished(self) -> bool:
        return self.status in tr.TERMINAL_STATUSES


_STATUSES = frozenset(("requested", "debited", "completed", "rejected", "reversed"))
#: The zones of a row's times, read at C speed when a snapshot is checked.
_REQUESTED_ZONE = attrgetter("requested_at.tzinfo")
_UPDATED_ZONE = attrgetter("updated_at.tzinfo")


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
            f.money(event, data, "amount"),
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

    def snapshot_state(self) -> list[list[Any]]:
        return [
            [
                r.transfer_id,
                r.from_account_id,
                r.to_account_id,
                r.amount,
                r.description,
                r.status,
                r.requested_at.isoformat(),
                r.updated_at.isoformat(),
                r.reason,
                r.revision,
            ]
            for r in self._rows.values()
        ]

    @classmethod
    def from_snapshot_state(cls, rows: list[list[Any]]) -> TransfersProjection:
        """Rows back from a snapshot, every value checked: ValueError names the first bad one
        (column checks at C speed first, row by row only to name what failed)."""
        if type(rows) is not list:
            raise ValueError("the transfers are not a list of rows")
        try:
            projection = cls._from_rows(rows)
        except (ValueError, TypeError, ArithmeticError):
            projection = None
        if projection is None:
            cls._check_rows(rows)  # raises, naming the row and value
            raise ValueError("the transfers are not valid rows")  # pragma: no cover
        return projection

    @classmethod
    def _from_rows(cls, rows: list[list[Any]]) -> TransfersProjection | None:
        if rows:  # each column once, at C speed
            ids, sources, targets, amounts, statuses, revisions = (
                tuple(map(itemgetter(column), rows)) for column in (0, 1, 2, 3, 5, 9)
            )
            if not (
                checked.texts_plausible(ids)
                and len(set(ids)) == len(ids)
                and checked.texts_plausible(sources)
                and checked.texts_plausible(targets)
                and checked.amounts_plausible(amounts)
                and set(statuses) <= _STATUSES
                and checked.revisions_plausible(revisions)
            ):
                return None
        projection = cls()
        fromiso = datetime.fromisoformat
        for tid, src, dst, amount, desc, status, requested, updated, reason, revision in rows:
            if not (desc is None or type(desc) is str) or not (
                reason is None or type(reason) is str
            ):
                return None
            projection._rows[tid] = TransferSummary(
                tid,
                src,
                dst,
                amount if type(amount) is Decimal else Decimal(amount),
                desc,
                status,
                fromiso(requested),
                fromiso(updated),
                reason,
                revision,
            )
        built = projection._rows.values()
        if None in set(map(_REQUESTED_ZONE, built)) or None in set(map(_UPDATED_ZONE, built)):
            return None
        return projection

    @staticmethod
    def _check_rows(rows: list[list[Any]]) -> None:
        """Check row by row; raises ValueError naming the first value that is not valid."""
        seen: set[str] = set()
        for number, row in enumerate(rows, 1):
            where = f"transfers row {number}"
            if type(row) is not list or len(row) != 10:
                raise ValueError(f"{where} is not a row of 10 values")
            tid, src, dst, amount, desc, status, requested, updated, reason, revision = row
            checked.text(tid, f"{where}: the transfer id")
            if tid in seen:
                raise ValueError(f"{where} repeats transfer {tid!r}")
            seen.add(tid)
            checked.text(src, f"{where}: the source account")
            checked.text(dst, f"{where}: the target account")
            checked.amount(amount, f"{where}: the amount")
            checked.optional_text(desc, f"{where}: the description")
            if status not in _STATUSES:
                raise ValueError(f"{where}: unknown transfer status {status!r}")
            checked.moment(requested, f"{where}: the request time")
            checked.moment(updated, f"{where}: the last update")
            checked.optional_text(reason, f"{where}: the reason")
            checked.revision(revision, f"{where}: the revision")
