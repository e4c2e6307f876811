"""Domain events to and from the wire: the seed's event names and camelCase ``data`` fields.

Amounts are JSON numbers in major units; they arrive here as exact ``Decimal`` (the store
decodes fractions without passing through float) or ``int``. Timestamps are ISO-8601 UTC with
milliseconds, as the seed's ``new Date().toISOString()`` writes them. Optional fields are left
out when empty, so old readers are unaffected by new optional fields and vice versa.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from bank_desktop.application.errors import MalformedEventError
from bank_desktop.domain import accounts as acc
from bank_desktop.domain import transfers as tr
from bank_desktop.eventstore.port import RecordedEvent

Data = dict[str, Any]
E = TypeVar("E")


def wire_time(moment: datetime) -> str:
    """``2026-11-26T08:00:00.123Z``: the seed's timestamp format."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _put(data: Data, key: str, value: object) -> Data:
    if value is not None and value is not False:
        data[key] = value
    return data


# ── encoding ──────────────────────────────────────────────────────────────────────────────


def encode_account_event(event: acc.AccountEvent) -> tuple[str, Data]:
    match event:
        case acc.AccountOpened():
            return event.type, {
                "accountId": event.account_id,
                "customerId": event.customer_id,
                "initialBalance": event.initial_balance,
                "openedAt": wire_time(event.opened_at),
            }
        case acc.MoneyDeposited():
            data: Data = {"accountId": event.account_id, "amount": event.amount}
            _put(data, "description", event.description)
            data["depositedAt"] = wire_time(event.deposited_at)
            _put(data, "transferId", event.transfer_id)
            _put(data, "counterpartyAccountId", event.counterparty_account_id)
            _put(data, "reversal", event.reversal)
            return event.type, data
        case acc.MoneyWithdrawn():
            data = {"accountId": event.account_id, "amount": event.amount}
            _put(data, "description", event.description)
            data["withdrawnAt"] = wire_time(event.withdrawn_at)
            _put(data, "transferId", event.transfer_id)
            _put(data, "counterpartyAccountId", event.counterparty_account_id)
            return event.type, data
        case acc.WithdrawalRefused():
            return event.type, {
                "accountId": event.account_id,
                "amount": event.amount,
                "reason": event.reason,
                "refusedAt": wire_time(event.refused_at),
                "transferId": event.transfer_id,
                "counterpartyAccountId": event.counterparty_account_id,
            }
        case acc.AccountClosed():
            data = {"accountId": event.account_id}
            _put(data, "reason", event.reason)
            data["closedAt"] = wire_time(event.closed_at)
            return event.type, data


def encode_transfer_event(event: tr.TransferEvent) -> tuple[str, Data]:
    match event:
        case tr.TransferRequested():
            data: Data = {
                "transferId": event.transfer_id,
                "fromAccountId": event.from_account_id,
                "toAccountId": event.to_account_id,
                "amount": event.amount,
            }
            _put(data, "description", event.description)
            data["requestedAt"] = wire_time(event.requested_at)
            return event.type, data
        case tr.TransferDebited():
            return event.type, {
                "transferId": event.transfer_id,
                "debitedAt": wire_time(event.debited_at),
            }
        case tr.TransferCompleted():
            return event.type, {
                "transferId": event.transfer_id,
                "completedAt": wire_time(event.completed_at),
            }
        case tr.TransferRejected():
            return event.type, {
                "transferId": event.transfer_id,
                "reason": event.reason,
                "rejectedAt": wire_time(event.rejected_at),
            }
        case tr.TransferReversed():
            return event.type, {
                "transferId": event.transfer_id,
                "reason": event.reason,
                "reversedAt": wire_time(event.reversed_at),
            }


# ── decoding ──────────────────────────────────────────────────────────────────────────────


class _Fields:
    """Typed access to one event's ``data`` that names the field when something is wrong."""

    __slots__ = ("_data", "_event")

    def __init__(self, event: RecordedEvent) -> None:
        if not isinstance(event.data, dict):
            raise MalformedEventError(event, "its data is not a JSON object")
        self._event = event
        self._data: Mapping[str, Any] = event.data

    def text(self, key: str) -> str:
        value = self._data.get(key)
        if not isinstance(value, str) or not value:
            raise MalformedEventError(self._event, f"field {key!r} must be a non-empty string")
        return value

    def optional_text(self, key: str) -> str | None:
        value = self._data.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise MalformedEventError(self._event, f"field {key!r} must be a string")
        return value

    def money(self, key: str) -> Decimal:
        value = self._data.get(key)
        if isinstance(value, Decimal):
            if value.is_finite():
                return value
        elif isinstance(value, int) and not isinstance(value, bool):
            return Decimal(value)
        raise MalformedEventError(self._event, f"field {key!r} must be a finite number")

    def time(self, key: str) -> datetime:
        value = self._data.get(key)
        if isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                pass
            else:
                return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        raise MalformedEventError(self._event, f"field {key!r} must be an ISO-8601 timestamp")

    def flag(self, key: str) -> bool:
        value = self._data.get(key, False)
        if not isinstance(value, bool):
            raise MalformedEventError(self._event, f"field {key!r} must be true or false")
        return value


def _opened(f: _Fields) -> acc.AccountOpened:
    return acc.AccountOpened(
        f.text("accountId"), f.text("customerId"), f.money("initialBalance"), f.time("openedAt")
    )


def _deposited(f: _Fields) -> acc.MoneyDeposited:
    return acc.MoneyDeposited(
        f.text("accountId"),
        f.money("amount"),
        f.optional_text("description"),
        f.time("depositedAt"),
        f.optional_text("transferId"),
        f.optional_text("counterpartyAccountId"),
        f.flag("reversal"),
    )


def _withdrawn(f: _Fields) -> acc.MoneyWithdrawn:
    return acc.MoneyWithdrawn(
        f.text("accountId"),
        f.money("amount"),
        f.optional_text("description"),
        f.time("withdrawnAt"),
        f.optional_text("transferId"),
        f.optional_text("counterpartyAccountId"),
    )


def _refused(f: _Fields) -> acc.WithdrawalRefused:
    return acc.WithdrawalRefused(
        f.text("accountId"),
        f.money("amount"),
        f.text("reason"),
        f.time("refusedAt"),
        f.text("transferId"),
        f.text("counterpartyAccountId"),
    )


def _closed(f: _Fields) -> acc.AccountClosed:
    return acc.AccountClosed(f.text("accountId"), f.optional_text("reason"), f.time("closedAt"))


_ACCOUNT_DECODERS: dict[str, Callable[[_Fields], acc.AccountEvent]] = {
    acc.AccountOpened.type: _opened,
    acc.MoneyDeposited.type: _deposited,
    acc.MoneyWithdrawn.type: _withdrawn,
    acc.WithdrawalRefused.type: _refused,
    acc.AccountClosed.type: _closed,
}

_TRANSFER_DECODERS: dict[str, Callable[[_Fields], tr.TransferEvent]] = {
    tr.TransferRequested.type: lambda f: tr.TransferRequested(
        f.text("transferId"),
        f.text("fromAccountId"),
        f.text("toAccountId"),
        f.money("amount"),
        f.optional_text("description"),
        f.time("requestedAt"),
    ),
    tr.TransferDebited.type: lambda f: tr.TransferDebited(
        f.text("transferId"), f.time("debitedAt")
    ),
    tr.TransferCompleted.type: lambda f: tr.TransferCompleted(
        f.text("transferId"), f.time("completedAt")
    ),
    tr.TransferRejected.type: lambda f: tr.TransferRejected(
        f.text("transferId"), f.text("reason"), f.time("rejectedAt")
    ),
    tr.TransferReversed.type: lambda f: tr.TransferReversed(
        f.text("transferId"), f.text("reason"), f.time("reversedAt")
    ),
}


def decode_account_event(event: RecordedEvent) -> acc.AccountEvent | None:
    """The domain event, None for a type accounts do not know, or MalformedEventError."""
    decoder = _ACCOUNT_DECODERS.get(event.type)
    return None if decoder is None else decoder(_Fields(event))


def decode_transfer_event(event: RecordedEvent) -> tr.TransferEvent | None:
    """The domain event, None for a type transfers do not know, or MalformedEventError."""
    decoder = _TRANSFER_DECODERS.get(event.type)
    return None if decoder is None else decoder(_Fields(event))
