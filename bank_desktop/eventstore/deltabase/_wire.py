"""DeltaBase's JSON, both ways: append bodies out, event envelopes in, versions mapped.

Responses are read defensively: unknown fields are ignored, a missing or mistyped required
field is an :class:`EventStoreError` that names it. Payloads go out through the exact JSON
(Decimal amounts as JSON numbers) and bodies come back through its decoder, never through
``float``.

Positions: our port's stream positions start at 1; DeltaBase's ``streamPosition`` starts at
``settings.stream_position_base`` (documented 0), so ours = theirs - base + 1.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

import msgspec

from bank_desktop.eventstore.deltabase._settings import DeltaBaseSettings
from bank_desktop.eventstore.errors import EventStoreError
from bank_desktop.eventstore.exact_json import decode_json, encode_json
from bank_desktop.eventstore.port import (
    ANY,
    NO_STREAM,
    STREAM_EXISTS,
    ExpectedPosition,
    NewEvent,
    RecordedEvent,
)

_log = logging.getLogger(__name__)

#: Where a 409 body may say how far the stream really is (first match wins).
_CURRENT_KEYS: Final = (
    "currentVersion",
    "currentStreamVersion",
    "current",
    "actualVersion",
    "actual",
)


class ProtocolError(EventStoreError):
    """DeltaBase answered with something this client cannot read (named in the message)."""


def decode_body(content: bytes, action: str) -> Any:
    """A response body as JSON with exact decimals; ProtocolError when it is not JSON."""
    try:
        return decode_json(content)
    except ValueError:
        raise ProtocolError(
            f"DeltaBase answered to {action} with a body that is not JSON "
            f"({len(content)} bytes): is the base URL pointing at DeltaBase?"
        ) from None


def expect_object(value: Any, action: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ProtocolError(
            f"DeltaBase answered to {action} with JSON {type(value).__name__}, not an object."
        )
    return value


def require_list(body: Mapping[str, Any], name: str, action: str) -> list[Any]:
    value = body.get(name)
    if not isinstance(value, list):
        state = "missing" if name not in body else f"a {type(value).__name__}"
        raise ProtocolError(
            f"DeltaBase answered to {action} without the required list {name!r} ({state})."
        )
    return value


# ── expected versions ─────────────────────────────────────────────────────────────────────


def expected_version(expected: ExpectedPosition, settings: DeltaBaseSettings) -> int | str:
    """Our expectation as ``expectedStreamVersion``: a number or one of DeltaBase's words.

    ``count`` mode sends our position itself (an empty stream is 0); ``last_position`` mode
    sends the streamPosition of the last event seen, and "no_stream" when none was seen.
    """
    if expected is NO_STREAM:
        return "no_stream"
    if expected is STREAM_EXISTS:
        return "stream_exists"
    if expected is ANY:
        return "any"
    assert isinstance(expected, int)
    if settings.expected_version == "count":
        return expected
    if expected == 0:
        return "no_stream"
    return expected - 1 + settings.stream_position_base


def position_from_version(version: int, settings: DeltaBaseSettings) -> int:
    """Our stream position for a DeltaBase stream version (the inverse of the above)."""
    if settings.expected_version == "count":
        return max(0, version)
    return max(0, version - settings.stream_position_base + 1)


def conflict_position(body: Any, settings: DeltaBaseSettings) -> int | None:
    """How far the stream really is, from a 409 body, if it says so (defensively)."""
    if not isinstance(body, dict):
        return None
    places = [body.get("details"), body, body.get("error")]
    for place in places:
        if not isinstance(place, dict):
            continue
        for key in _CURRENT_KEYS:
            value = place.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                return position_from_version(value, settings)
    return None


def error_text(body: Any) -> str:
    """DeltaBase's ``{"error", "message"}`` as one short line (empty when absent)."""
    if not isinstance(body, dict):
        return ""
    parts = [str(body[k]) for k in ("error", "message") if isinstance(body.get(k), str | int)]
    return ": ".join(parts)[:300]


# ── appends ───────────────────────────────────────────────────────────────────────────────


def append_body(
    events: Sequence[NewEvent], expected: ExpectedPosition, settings: DeltaBaseSettings
) -> bytes:
    """The JSON body of an append; TypeError for payloads JSON cannot carry exactly."""
    key = settings.event_id_metadata_key
    items = []
    for event in events:
        metadata: Mapping[str, Any] = event.metadata
        if key is not None:
            metadata = {**metadata, key: event.event_id}
        item: dict[str, Any] = {
            "type": event.type,
            "data": msgspec.Raw(encode_json(event.data).encode()),
            "metadata": msgspec.Raw(encode_json(metadata).encode()),
        }
        if settings.send_event_id:
            item["eventId"] = event.event_id
        items.append(item)
    body = {
        "events": items,
        "options": {"expectedStreamVersion": expected_version(expected, settings)},
    }
    return msgspec.json.encode(body)


# ── event envelopes ───────────────────────────────────────────────────────────────────────


class EnvelopeError(ProtocolError):
    """An event envelope this client cannot read: which field, and what is wrong with it."""

    def __init__(self, message: str, field: str, problem: str) -> None:
        super().__init__(message)
        self.field = field  #: the envelope's field ("" for the envelope as a whole)
        self.problem = problem  #: what is wrong, e.g. "must be a non-empty string"


def read_envelope(
    value: Any, where: str, *, position_base: int, event_id_key: str | None
) -> RecordedEvent:
    """Our RecordedEvent from one DeltaBase event envelope: the one reader of envelopes, for
    the adapter's reads and the webhook's deliveries alike, so one event has one id.

    Stream positions are converted to ours (``+ 1 - position_base``); the event's id is the
    one we chose, carried in the metadata under ``event_id_key``, else DeltaBase's
    ``eventId``. Raises :class:`EnvelopeError` (``where`` names the envelope in it).
    """
    if not isinstance(value, dict):
        raise EnvelopeError(
            f"DeltaBase sent {where} as {type(value).__name__}, not an event.",
            "",
            "must be a JSON object",
        )
    stream_id = _text(value, "streamId", where)
    type_ = _text(value, "type", where)
    stream_position = _integer(value, "streamPosition", where) - position_base + 1
    global_position = _integer(value, "globalPosition", where)
    if stream_position < 1 or global_position < 1:
        raise EnvelopeError(
            f"DeltaBase sent {where} with positions below the first one "
            f"(streamPosition base {position_base}): check that setting.",
            "streamPosition" if stream_position < 1 else "globalPosition",
            "is below the first position",
        )
    if "data" not in value:
        raise EnvelopeError(
            f"DeltaBase sent {where} without the required field 'data'.", "data", "is required"
        )
    raw_metadata = value.get("metadata")
    metadata: dict[str, Any]
    if isinstance(raw_metadata, dict):
        metadata = dict(raw_metadata)
    else:
        if raw_metadata is not None:
            _log.warning("Ignoring non-object metadata of %s", where)
        metadata = {}
    event_id: Any = None
    if event_id_key is not None and event_id_key in metadata:
        event_id = metadata.pop(event_id_key)
    if not isinstance(event_id, str) or not event_id:
        event_id = _text(value, "eventId", where)
    return RecordedEvent(
        event_id,
        type_,
        value["data"],
        stream_id,
        stream_position,
        global_position,
        _timestamp(value, where),
        metadata,
    )


def recorded_event(value: Any, settings: DeltaBaseSettings, where: str) -> RecordedEvent:
    """:func:`read_envelope` with the adapter's settings (``where`` names it in errors)."""
    return read_envelope(
        value,
        where,
        position_base=settings.stream_position_base,
        event_id_key=settings.event_id_metadata_key,
    )


def recorded_events(
    body: Mapping[str, Any], settings: DeltaBaseSettings, action: str
) -> list[RecordedEvent]:
    items = require_list(body, "events", action)
    return [
        recorded_event(item, settings, f"events[{i}] ({action})") for i, item in enumerate(items)
    ]


def global_position_of(value: Any, where: str) -> int:
    """Only the global position of an envelope (the cheap part of a head query)."""
    if not isinstance(value, dict):
        raise ProtocolError(f"DeltaBase sent {where} as {type(value).__name__}, not an event.")
    return _integer(value, "globalPosition", where)


def has_more(body: Mapping[str, Any]) -> bool | None:
    """``pagination.hasMore`` when present."""
    pagination = body.get("pagination")
    if isinstance(pagination, dict):
        value = pagination.get("hasMore")
        if isinstance(value, bool):
            return value
    return None


def _text(value: Mapping[str, Any], name: str, where: str) -> str:
    found = value.get(name)
    if not isinstance(found, str) or not found:
        raise _field_error(value, name, where, "a non-empty string")
    return found


def _integer(value: Mapping[str, Any], name: str, where: str) -> int:
    found = value.get(name)
    if isinstance(found, bool) or not isinstance(found, int):
        if isinstance(found, str) and found.isdigit():
            return int(found)  # a bigint sent as text
        raise _field_error(value, name, where, "a whole number")
    return found


def _field_error(value: Mapping[str, Any], name: str, where: str, kind: str) -> EnvelopeError:
    if name not in value:
        return EnvelopeError(
            f"DeltaBase sent {where} without the required field {name!r}.", name, "is required"
        )
    shown = repr(value[name])[:40]
    return EnvelopeError(
        f"DeltaBase sent {where} with {name!r} = {shown}, not {kind}.", name, f"must be {kind}"
    )


def _timestamp(value: Mapping[str, Any], where: str) -> datetime:
    """``createdAt``: ISO-8601 as documented (epoch milliseconds are accepted too)."""
    raw = value.get("createdAt")
    if isinstance(raw, int | Decimal) and not isinstance(raw, bool):
        return datetime.fromtimestamp(float(raw) / 1000, UTC)
    text = _text(value, "createdAt", where)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise EnvelopeError(
            f"DeltaBase sent {where} with an unreadable 'createdAt' ({text[:40]!r}).",
            "createdAt",
            "must be an ISO-8601 timestamp",
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
