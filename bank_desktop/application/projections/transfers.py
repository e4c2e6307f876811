"""Transfers: where each transfer stands (requested, debited, completed, rejected, reversed)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from bank_desktop.domain import transfers as tr


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

    def apply(self, event: tr.TransferEvent, stream_id: str, position: int) -> bool:
        row = self._rows.get(stream_id)
        if isinstance(event, tr.TransferRequested):
            if row is not None:
                return False
            self._rows[stream_id] = TransferSummary(
                event.transfer_id,
                event.from_account_id,
                event.to_account_id,
                event.amount,
                event.description,
                "requested",
                event.requested_at,
                event.requested_at,
                None,
                position,
            )
            return True
        if row is None or row.revision >= position:
            return False
        row.revision = position
        match event:
            case tr.TransferDebited():
                row.status, row.updated_at = "debited", event.debited_at
            case tr.TransferCompleted():
                row.status, row.updated_at = "completed", event.completed_at
            case tr.TransferRejected():
                row.status, row.updated_at, row.reason = "rejected", event.rejected_at, event.reason
            case tr.TransferReversed():
                row.status, row.updated_at, row.reason = "reversed", event.reversed_at, event.reason
        return True

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
