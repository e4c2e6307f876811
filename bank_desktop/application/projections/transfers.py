"""Transfers: where each transfer stands (requested, debited, completed, rejected, reversed)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from bank_desktop.application import wire_fields as f
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


class TransfersProjection:
    def __init__(self) -> None:
        self._rows: dict[str, TransferSummary] = {}

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[TransferSummary]:
        return iter(self._rows.values())

    def get(self, transfer_id: str) -> TransferSummary | None:
        return self._rows.get(transfer_id)

    def unfinished(self) -> list[TransferSummary]:
        return [row for row in self._rows.values() if not row.is_finished]

    def in_flight_total(self) -> Decimal:
        """Money that has left a source account but not yet reached its target."""
        return sum(
            (row.amount for row in self._rows.values() if row.status == "debited"),
            Decimal("0.00"),
        )

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
        projection = cls()
        fromiso = datetime.fromisoformat
        for tid, src, dst, amount, desc, status, requested, updated, reason, revision in rows:
            if status not in ("requested", "debited", "completed", "rejected", "reversed"):
                raise ValueError(f"unknown transfer status {status!r}")
            projection._rows[tid] = TransferSummary(
                tid,
                src,
                dst,
                Decimal(amount),
                desc,
                status,
                fromiso(requested),
                fromiso(updated),
                reason,
                int(revision),
            )
        return projection
