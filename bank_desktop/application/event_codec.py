"""Domain events to and from the wire: the seed's event names and camelCase ``data`` fields.

Amounts are JSON numbers in major units; they arrive here as exact ``Decimal`` (the store
decodes fractions without passing through float) or ``int``. Timestamps are ISO-8601 UTC with
milliseconds, as the seed's ``new Date().toISOString()`` writes them. Optional fields are left
out when empty, so old readers are unaffected by new optional fields and vice versa.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bank_desktop.application import wire_fields as f
from bank_desktop.domain import accounts as acc
from bank_desktop.domain import transfers as tr
from bank_desktop.domain.history import UnrecognizedEvent
from bank_desktop.eventstore.port import RecordedEvent

Data = dict[str, Any]


def wire_time(moment: datetime) -> str:
    """``2026-11-26T08:00:00.123Z``: the seed's timestamp format."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


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
            _put(data, "reversesEventId", event.reverses_event_id)
            return event.type, data
        case acc.MoneyWithdrawn():
            data = {"accountId": event.account_id, "amount": event.amount}
            _put(data, "description", event.description)
            data["withdrawnAt"] = wire_time(event.withdrawn_at)
            _put(data, "transferId", event.transfer_id)
            _put(data, "counterpartyAccountId", event.counterparty_account_id)
            _put(data, "reversesEventId", event.reverses_event_id)
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
        case acc.ApprovedCommandRefused():
            return event.type, {
                "accountId": event.account_id,
                "approvalId": event.approval_id,
                "action": event.action,
                "amount": event.amount,
                "reason": event.reason,
                "refusedAt": wire_time(event.refused_at),
            }
        case acc.HoldPlaced():
            data = {
                "accountId": event.account_id,
                "holdId": event.hold_id,
                "amount": event.amount,
                "reason": event.reason,
                "placedAt": wire_time(event.placed_at),
            }
            if event.expires_at is not None:
                data["expiresAt"] = wire_time(event.expires_at)
            return event.type, data
        case acc.HoldReleased():
            return event.type, {
                "accountId": event.account_id,
                "holdId": event.hold_id,
                "amount": event.amount,
                "releasedAt": wire_time(event.released_at),
            }


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


def _opened(ev: RecordedEvent, d: Data) -> acc.AccountOpened:
    return acc.AccountOpened(
        f.text(ev, d, "accountId"),
        f.text(ev, d, "customerId"),
        f.money(ev, d, "initialBalance"),
        f.moment(ev, d, "openedAt"),
    )


def _deposited(ev: RecordedEvent, d: Data) -> acc.MoneyDeposited:
    return acc.MoneyDeposited(
        f.text(ev, d, "accountId"),
        f.money(ev, d, "amount"),
        f.optional_text(ev, d, "description"),
        f.moment(ev, d, "depositedAt"),
        f.optional_text(ev, d, "transferId"),
        f.optional_text(ev, d, "counterpartyAccountId"),
        f.flag(ev, d, "reversal"),
        f.optional_text(ev, d, "reversesEventId"),
    )


def _withdrawn(ev: RecordedEvent, d: Data) -> acc.MoneyWithdrawn:
    return acc.MoneyWithdrawn(
        f.text(ev, d, "accountId"),
        f.money(ev, d, "amount"),
        f.optional_text(ev, d, "description"),
        f.moment(ev, d, "withdrawnAt"),
        f.optional_text(ev, d, "transferId"),
        f.optional_text(ev, d, "counterpartyAccountId"),
        f.optional_text(ev, d, "reversesEventId"),
    )


def _refused(ev: RecordedEvent, d: Data) -> acc.WithdrawalRefused:
    return acc.WithdrawalRefused(
        f.text(ev, d, "accountId"),
        f.money(ev, d, "amount"),
        f.text(ev, d, "reason"),
        f.moment(ev, d, "refusedAt"),
        f.text(ev, d, "transferId"),
        f.text(ev, d, "counterpartyAccountId"),
    )


def _closed(ev: RecordedEvent, d: Data) -> acc.AccountClosed:
    return acc.AccountClosed(
        f.text(ev, d, "accountId"), f.optional_text(ev, d, "reason"), f.moment(ev, d, "closedAt")
    )


def _approval_refused(ev: RecordedEvent, d: Data) -> acc.ApprovedCommandRefused:
    return acc.ApprovedCommandRefused(
        f.text(ev, d, "accountId"),
        f.text(ev, d, "approvalId"),
        f.text(ev, d, "action"),
        f.money(ev, d, "amount"),
        f.text(ev, d, "reason"),
        f.moment(ev, d, "refusedAt"),
    )


def _hold_placed(ev: RecordedEvent, d: Data) -> acc.HoldPlaced:
    return acc.HoldPlaced(
        f.text(ev, d, "accountId"),
        f.text(ev, d, "holdId"),
        f.money(ev, d, "amount"),
        f.text(ev, d, "reason"),
        f.moment(ev, d, "placedAt"),
        f.optional_moment(ev, d, "expiresAt"),
    )


def _hold_released(ev: RecordedEvent, d: Data) -> acc.HoldReleased:
    return acc.HoldReleased(
        f.text(ev, d, "accountId"),
        f.text(ev, d, "holdId"),
        f.money(ev, d, "amount"),
        f.moment(ev, d, "releasedAt"),
    )


def _requested(ev: RecordedEvent, d: Data) -> tr.TransferRequested:
    return tr.TransferRequested(
        f.text(ev, d, "transferId"),
        f.text(ev, d, "fromAccountId"),
        f.text(ev, d, "toAccountId"),
        f.money(ev, d, "amount"),
        f.optional_text(ev, d, "description"),
        f.moment(ev, d, "requestedAt"),
    )


def _debited(ev: RecordedEvent, d: Data) -> tr.TransferDebited:
    return tr.TransferDebited(f.text(ev, d, "transferId"), f.moment(ev, d, "debitedAt"))


def _completed(ev: RecordedEvent, d: Data) -> tr.TransferCompleted:
    return tr.TransferCompleted(f.text(ev, d, "transferId"), f.moment(ev, d, "completedAt"))


def _rejected(ev: RecordedEvent, d: Data) -> tr.TransferRejected:
    return tr.TransferRejected(
        f.text(ev, d, "transferId"), f.text(ev, d, "reason"), f.moment(ev, d, "rejectedAt")
    )


def _reversed(ev: RecordedEvent, d: Data) -> tr.TransferReversed:
    return tr.TransferReversed(
        f.text(ev, d, "transferId"), f.text(ev, d, "reason"), f.moment(ev, d, "reversedAt")
    )


_ACCOUNT_DECODERS: dict[str, Callable[[RecordedEvent, Data], acc.AccountEvent]] = {
    acc.AccountOpened.type: _opened,
    acc.MoneyDeposited.type: _deposited,
    acc.MoneyWithdrawn.type: _withdrawn,
    acc.WithdrawalRefused.type: _refused,
    acc.AccountClosed.type: _closed,
    acc.ApprovedCommandRefused.type: _approval_refused,
    acc.HoldPlaced.type: _hold_placed,
    acc.HoldReleased.type: _hold_released,
}

_TRANSFER_DECODERS: dict[str, Callable[[RecordedEvent, Data], tr.TransferEvent]] = {
    tr.TransferRequested.type: _requested,
    tr.TransferDebited.type: _debited,
    tr.TransferCompleted.type: _completed,
    tr.TransferRejected.type: _rejected,
    tr.TransferReversed.type: _reversed,
}


def decode_account_event(event: RecordedEvent) -> acc.AccountEvent | None:
    """The domain event, None for a type accounts do not know, or MalformedEventError."""
    decoder = _ACCOUNT_DECODERS.get(event.type)
    return None if decoder is None else decoder(event, f.payload(event))


def decode_transfer_event(event: RecordedEvent) -> tr.TransferEvent | None:
    """The domain event, None for a type transfers do not know, or MalformedEventError."""
    decoder = _TRANSFER_DECODERS.get(event.type)
    return None if decoder is None else decoder(event, f.payload(event))


# ── for the deciders: every stored event counts ──────────────────────────────────────────


def decode_account_history(event: RecordedEvent) -> acc.AccountHistoryEvent:
    """Like :func:`decode_account_event`, but a type accounts do not know is an
    :class:`UnrecognizedEvent` for the decider to refuse on, never skipped."""
    decoded = decode_account_event(event)
    return UnrecognizedEvent(event.type, event.stream_position) if decoded is None else decoded


def decode_transfer_history(event: RecordedEvent) -> tr.TransferHistoryEvent:
    """Like :func:`decode_transfer_event`, for the transfer decider."""
    decoded = decode_transfer_event(event)
    return UnrecognizedEvent(event.type, event.stream_position) if decoded is None else decoded


def encode_account_history(event: acc.AccountHistoryEvent) -> tuple[str, Data]:
    """Deciders only ever decide known events; an unrecognized one is never written back."""
    if isinstance(event, UnrecognizedEvent):
        raise TypeError(f"{event.describe()} is not ours to write")
    return encode_account_event(event)


def encode_transfer_history(event: tr.TransferHistoryEvent) -> tuple[str, Data]:
    if isinstance(event, UnrecognizedEvent):
        raise TypeError(f"{event.describe()} is not ours to write")
    return encode_transfer_event(event)
