"""Building account events, as stored (RecordedEvent) and as DeltaBase delivers them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from bank_desktop.eventstore import RecordedEvent

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def stamp(minutes: int) -> str:
    moment = START + timedelta(minutes=minutes)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class History:
    """Events of several account streams in one global order."""

    events: list[RecordedEvent]

    def __init__(self) -> None:
        self.events = []
        self._positions: dict[str, int] = {}

    def add(self, stream_id: str, type_: str, data: dict[str, Any]) -> RecordedEvent:
        position = self._positions.get(stream_id, 0) + 1
        self._positions[stream_id] = position
        index = len(self.events) + 1
        event = RecordedEvent(
            f"evt-{index}",
            type_,
            {"accountId": stream_id, **data},
            stream_id,
            position,
            index,
            START + timedelta(minutes=index),
            {"clerkId": "webhook-test"},
        )
        self.events.append(event)
        return event

    def open(self, stream_id: str, initial: str | int = 0) -> RecordedEvent:
        amount = Decimal(initial) if isinstance(initial, str) else initial
        return self.add(
            stream_id,
            "account.opened",
            {"customerId": f"cust-{stream_id}", "initialBalance": amount, "openedAt": self._t()},
        )

    def deposit(self, stream_id: str, amount: str) -> RecordedEvent:
        return self.add(
            stream_id, "money.deposited", {"amount": Decimal(amount), "depositedAt": self._t()}
        )

    def withdraw(self, stream_id: str, amount: str) -> RecordedEvent:
        return self.add(
            stream_id, "money.withdrawn", {"amount": Decimal(amount), "withdrawnAt": self._t()}
        )

    def refuse(self, stream_id: str, amount: str) -> RecordedEvent:
        return self.add(
            stream_id,
            "money.withdrawal_refused",
            {
                "amount": Decimal(amount),
                "reason": "Insufficient funds.",
                "refusedAt": self._t(),
                "transferId": "transfer-x",
                "counterpartyAccountId": "account-other",
            },
        )

    def close(self, stream_id: str) -> RecordedEvent:
        return self.add(stream_id, "account.closed", {"closedAt": self._t()})

    def _t(self) -> str:
        return stamp(len(self.events) + 1)


def envelope(event: RecordedEvent) -> dict[str, Any]:
    """``event`` as DeltaBase delivers it: 0-based streamPosition, 1-based globalPosition."""
    return {
        "streamId": event.stream_id,
        "streamPosition": event.stream_position - 1,
        "globalPosition": event.global_position,
        "eventId": event.event_id,
        "type": event.type,
        "data": event.data,
        "metadata": {"schemaVersion": "1.0.0", **event.metadata},
        "schemaVersion": "1.0.0",
        "transactionId": "tx_1",
        "createdAt": stamp(event.global_position),
    }
