"""Customers and national-id claims in the store: stream ids, event encoding, stream kinds.

A customer's stream id is the customer id (``customer-`` and 12 base32 characters derived from
the registering request's id), as an account's is its account id. A national id's claim
stream is ``national-id-`` and 26 base32 characters of the digest of its normal form, so the
id itself is not spelled out in stream names. Events are camelCase JSON like the seed's; dates
of birth are ``YYYY-MM-DD``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, Final

from bank_desktop.application import wire_fields as f
from bank_desktop.application.errors import MalformedEventError
from bank_desktop.application.event_codec import wire_time
from bank_desktop.application.ids import derived_digest
from bank_desktop.application.stream_kinds import StreamKind
from bank_desktop.domain import customers as cu
from bank_desktop.domain import national_ids as ni
from bank_desktop.domain.customer_fields import national_id_key
from bank_desktop.domain.history import UnrecognizedEvent
from bank_desktop.eventstore.port import RecordedEvent

Data = dict[str, Any]
CUSTOMER_PREFIX: Final = "customer-"
NATIONAL_ID_PREFIX: Final = "national-id-"
#: Field names on the wire of the details that can be cleared.
_WIRE_NAMES: Final = {"date_of_birth": "dateOfBirth", "phone": "phone", "address": "address"}
_FIELD_NAMES: Final = {wire: name for name, wire in _WIRE_NAMES.items()}


def customer_id_for(command_id: str) -> str:
    return f"{CUSTOMER_PREFIX}{derived_digest('customer', command_id)}"


def national_id_stream(national_id: str) -> str:
    """The claim stream of a national id, the same for every way of writing it."""
    return f"{NATIONAL_ID_PREFIX}{derived_digest('national-id', national_id_key(national_id), 26)}"


def _put(data: Data, key: str, value: object) -> None:
    if value is not None:
        data[key] = value


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


# ── encoding ──────────────────────────────────────────────────────────────────────────────


def _registration_data(event: cu.CustomerRegistered) -> Data:
    data: Data = {
        "customerId": event.customer_id,
        "fullName": event.full_name,
        "nationalId": event.national_id,
    }
    _put(data, "dateOfBirth", _iso(event.date_of_birth))
    _put(data, "phone", event.phone)
    _put(data, "address", event.address)
    data["registeredAt"] = wire_time(event.registered_at)
    return data


def encode_customer_event(event: cu.CustomerHistoryEvent) -> tuple[str, Data]:
    match event:
        case cu.CustomerRegistered():
            return event.type, _registration_data(event)
        case cu.CustomerDetailsChanged():
            data: Data = {"customerId": event.customer_id}
            _put(data, "fullName", event.full_name)
            _put(data, "nationalId", event.national_id)
            _put(data, "dateOfBirth", _iso(event.date_of_birth))
            _put(data, "phone", event.phone)
            _put(data, "address", event.address)
            if event.cleared:
                data["cleared"] = [_WIRE_NAMES[name] for name in event.cleared]
            _put(data, "previousNationalId", event.previous_national_id)
            data["changedAt"] = wire_time(event.changed_at)
            return event.type, data
        case UnrecognizedEvent():
            raise TypeError(f"{event.describe()} is not ours to write")


def encode_national_id_event(event: ni.NationalIdHistoryEvent) -> tuple[str, Data]:
    match event:
        case ni.NationalIdClaimed():
            data: Data = {
                "nationalId": event.national_id,
                "customerId": event.customer_id,
                "claimedAt": wire_time(event.claimed_at),
            }
            if event.registration is not None:
                data["registration"] = _registration_data(event.registration)
            return event.type, data
        case ni.NationalIdReleased():
            return event.type, {
                "nationalId": event.national_id,
                "customerId": event.customer_id,
                "releasedAt": wire_time(event.released_at),
            }
        case UnrecognizedEvent():
            raise TypeError(f"{event.describe()} is not ours to write")


# ── decoding ──────────────────────────────────────────────────────────────────────────────


def _birth_date(ev: RecordedEvent, d: Data) -> date | None:
    value = f.optional_text(ev, d, "dateOfBirth")
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise MalformedEventError(ev, "field 'dateOfBirth' must be a date") from None


def _registered(ev: RecordedEvent, d: Data) -> cu.CustomerRegistered:
    return cu.CustomerRegistered(
        f.text(ev, d, "customerId"),
        f.text(ev, d, "fullName"),
        f.text(ev, d, "nationalId"),
        _birth_date(ev, d),
        f.optional_text(ev, d, "phone"),
        f.optional_text(ev, d, "address"),
        f.moment(ev, d, "registeredAt"),
    )


def _changed(ev: RecordedEvent, d: Data) -> cu.CustomerDetailsChanged:
    cleared = d.get("cleared", [])
    if type(cleared) is not list or any(name not in _FIELD_NAMES for name in cleared):
        raise MalformedEventError(ev, "field 'cleared' must list dateOfBirth, phone or address")
    return cu.CustomerDetailsChanged(
        f.text(ev, d, "customerId"),
        f.moment(ev, d, "changedAt"),
        f.optional_text(ev, d, "fullName"),
        f.optional_text(ev, d, "nationalId"),
        _birth_date(ev, d),
        f.optional_text(ev, d, "phone"),
        f.optional_text(ev, d, "address"),
        tuple(_FIELD_NAMES[name] for name in cleared),
        f.optional_text(ev, d, "previousNationalId"),
    )


def _claimed(ev: RecordedEvent, d: Data) -> ni.NationalIdClaimed:
    registration = d.get("registration")
    if registration is not None and type(registration) is not dict:
        raise MalformedEventError(ev, "field 'registration' must be an object")
    return ni.NationalIdClaimed(
        f.text(ev, d, "nationalId"),
        f.text(ev, d, "customerId"),
        f.moment(ev, d, "claimedAt"),
        None if registration is None else _registered(ev, registration),
    )


def _released(ev: RecordedEvent, d: Data) -> ni.NationalIdReleased:
    return ni.NationalIdReleased(
        f.text(ev, d, "nationalId"), f.text(ev, d, "customerId"), f.moment(ev, d, "releasedAt")
    )


_CUSTOMER_DECODERS: dict[str, Callable[[RecordedEvent, Data], cu.CustomerEvent]] = {
    cu.CustomerRegistered.type: _registered,
    cu.CustomerDetailsChanged.type: _changed,
}
_CLAIM_DECODERS: dict[str, Callable[[RecordedEvent, Data], ni.NationalIdEvent]] = {
    ni.NationalIdClaimed.type: _claimed,
    ni.NationalIdReleased.type: _released,
}


def decode_customer_event(event: RecordedEvent) -> cu.CustomerEvent | None:
    """The domain event, None for another type, or MalformedEventError."""
    decoder = _CUSTOMER_DECODERS.get(event.type)
    return None if decoder is None else decoder(event, f.payload(event))


def decode_customer_history(event: RecordedEvent) -> cu.CustomerHistoryEvent:
    decoded = decode_customer_event(event)
    return UnrecognizedEvent(event.type, event.stream_position) if decoded is None else decoded


def decode_national_id_history(event: RecordedEvent) -> ni.NationalIdHistoryEvent:
    decoder = _CLAIM_DECODERS.get(event.type)
    if decoder is None:
        return UnrecognizedEvent(event.type, event.stream_position)
    return decoder(event, f.payload(event))


CUSTOMERS: StreamKind[cu.CustomerCommand, cu.CustomerHistoryEvent, cu.CustomerState] = StreamKind(
    name="customer",
    decide=cu.decide,
    evolve=cu.evolve,
    initial_state=cu.initial_state,
    encode=encode_customer_event,
    decode=decode_customer_history,
)

NATIONAL_IDS: StreamKind[ni.NationalIdCommand, ni.NationalIdHistoryEvent, ni.NationalIdState] = (
    StreamKind(
        name="national-id",
        decide=ni.decide,
        evolve=ni.evolve,
        initial_state=ni.initial_state,
        encode=encode_national_id_event,
        decode=decode_national_id_history,
    )
)
