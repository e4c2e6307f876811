"""Reading one field of a stored event's ``data``: the single definition of what is valid.

Both the codec (stored event → domain event, for command handling) and the projections
(which fold millions of payloads and cannot afford a dataclass per event) read fields through
these functions, so a malformed payload is refused the same way everywhere, naming the field.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from bank_desktop.application.errors import MalformedEventError
from bank_desktop.domain.money import MAX_AMOUNT, within_limit
from bank_desktop.eventstore.port import RecordedEvent

Data = dict[str, Any]
_fromiso = datetime.fromisoformat
_MAX_WHOLE = int(MAX_AMOUNT)


def payload(event: RecordedEvent) -> Data:
    data = event.data
    if type(data) is not dict:
        raise MalformedEventError(event, "its data is not a JSON object")
    return data


def text(event: RecordedEvent, data: Data, key: str) -> str:
    value = data.get(key)
    if type(value) is not str or not value:
        raise MalformedEventError(event, f"field {key!r} must be a non-empty string")
    return value


def optional_text(event: RecordedEvent, data: Data, key: str) -> str | None:
    value = data.get(key)
    if value is None or type(value) is str:
        return value
    raise MalformedEventError(event, f"field {key!r} must be a string")


def money(event: RecordedEvent, data: Data, key: str) -> Decimal:
    """A JSON number as an exact Decimal (the store decodes fractions straight to Decimal).

    Bounded by :data:`MAX_AMOUNT`, the most any command may carry, before anything adds it up:
    a stored ``1E+999999999`` would overflow every sum it reached.
    """
    value: Any = data.get(key)
    kind = type(value)
    if kind is Decimal:
        if within_limit(value):
            return value  # type: ignore[no-any-return]
    elif kind is int and -_MAX_WHOLE <= value <= _MAX_WHOLE:
        return Decimal(value)
    raise MalformedEventError(
        event, f"field {key!r} must be a finite number of at most {MAX_AMOUNT} in size"
    )


def moment(event: RecordedEvent, data: Data, key: str) -> datetime:
    """An ISO-8601 timestamp; one without a zone is taken as UTC."""
    value = data.get(key)
    if type(value) is str:
        try:
            parsed = _fromiso(value)
        except ValueError:
            pass
        else:
            return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    raise MalformedEventError(event, f"field {key!r} must be an ISO-8601 timestamp")


def optional_moment(event: RecordedEvent, data: Data, key: str) -> datetime | None:
    """Like :func:`moment`, for a field that may be absent (or null)."""
    return None if data.get(key) is None else moment(event, data, key)


def flag(event: RecordedEvent, data: Data, key: str) -> bool:
    value = data.get(key, False)
    if type(value) is not bool:
        raise MalformedEventError(event, f"field {key!r} must be true or false")
    return value
