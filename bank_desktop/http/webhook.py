"""``POST /api/projections/balances/events``: DeltaBase's webhook, feeding the read model.

Authenticated by ``Authorization: Bearer $PROJECTION_AUTH_TOKEN`` (compared in constant time,
before the body is read). The body is ``{"events": [envelope, ...]}`` or the older
``{"event": envelope}``; each envelope is DeltaBase's read event (``streamId``,
``streamPosition`` 0-based, ``globalPosition``, ``eventId``, ``type``, ``data``, ``metadata``,
``createdAt``), decoded exactly (amounts as Decimal) into our RecordedEvent (stream positions
1-based). A malformed body is a 400 naming what is wrong, and nothing of it is applied.

Events are applied per stream in stream order (:class:`StreamOrderedFeed`): redeliveries change
nothing, and an event that arrives before an earlier one of its stream is held until that one
arrives. Such a delivery is answered 409 (after applying all it could), so the sender
redelivers it later rather than counting on a buffer that a restart would lose.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from bank_desktop.application.errors import MalformedEventError
from bank_desktop.application.projections.stream_order import DeliveryConflictError, Waiting
from bank_desktop.domain.money import CENT, MAX_AMOUNT, within_limit
from bank_desktop.eventstore import RecordedEvent
from bank_desktop.http.body import WEBHOOK_BODY_LIMIT, decode_body, read_body
from bank_desktop.http.context import ApiContext
from bank_desktop.http.docs import errors, json_body
from bank_desktop.http.errors import ApiError
from bank_desktop.http.schemas import WebhookRequest, WebhookResponse
from bank_desktop.http.wire import ExactJSONResponse

router = APIRouter(tags=["projections"])

PATH: Final = "/api/projections/balances/events"
#: Most events one delivery may carry.
MAX_EVENTS: Final = 10_000
#: Fields of event ``data`` that hold amounts (checked to be exact cents).
_MONEY_FIELDS: Final = ("amount", "initialBalance")


def _bad(where: str, message: str) -> ApiError:
    return ApiError(
        400,
        f"Malformed webhook body: {where} {message}.",
        {"errors": [{"field": where, "message": message}]},
    )


def envelopes_of(body: Any) -> list[tuple[str, Any]]:
    """(where, envelope) for each event of ``{events: [...]}`` or ``{event: {...}}``."""
    if not isinstance(body, dict):
        raise _bad("body", "must be a JSON object with an 'events' array")
    events = body.get("events")
    if events is not None:
        if not isinstance(events, list):
            raise _bad("events", "must be an array of events")
        if len(events) > MAX_EVENTS:
            raise ApiError(
                413, f"A delivery may carry at most {MAX_EVENTS:,} events.", {"limit": MAX_EVENTS}
            )
        return [(f"events[{index}]", item) for index, item in enumerate(events)]
    if "event" in body:
        return [("event", body["event"])]
    raise _bad("body", "must have 'events' (an array of events) or 'event' (one event)")


def _text(envelope: Mapping[str, Any], where: str, key: str, *, limit: int = 200) -> str:
    value = envelope.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _bad(f"{where}.{key}", "must be a non-empty string")
    if len(value) > limit:
        raise _bad(f"{where}.{key}", f"must be at most {limit} characters")
    return value


def _whole(envelope: Mapping[str, Any], where: str, key: str, minimum: int) -> int:
    value = envelope.get(key)
    if type(value) is not int or value < minimum:
        raise _bad(f"{where}.{key}", f"must be a whole number of at least {minimum}")
    if value > 2**63 - 1:
        raise _bad(f"{where}.{key}", "is too large")
    return value


def to_recorded(where: str, envelope: Any, position_base: int) -> RecordedEvent:
    """One DeltaBase envelope as our RecordedEvent (stream position ``+1 - position_base``)."""
    if not isinstance(envelope, dict):
        raise _bad(where, "must be a JSON object")
    stream_id = _text(envelope, where, "streamId")
    stream_position = _whole(envelope, where, "streamPosition", position_base)
    global_position = _whole(envelope, where, "globalPosition", 0)
    event_id = _text(envelope, where, "eventId")
    event_type = _text(envelope, where, "type")
    data = envelope.get("data")
    if not isinstance(data, dict):
        raise _bad(f"{where}.data", "must be a JSON object")
    for key in _MONEY_FIELDS:
        if key in data:
            _check_amount(data[key], f"{where}.data.{key}")
    metadata = envelope.get("metadata")
    if metadata is None:
        metadata = {}
    elif not isinstance(metadata, dict):
        raise _bad(f"{where}.metadata", "must be a JSON object")
    created = envelope.get("createdAt")
    try:
        if not isinstance(created, str):
            raise ValueError
        created_at = datetime.fromisoformat(created)
    except ValueError:
        raise _bad(f"{where}.createdAt", "must be an ISO-8601 timestamp") from None
    return RecordedEvent(
        event_id,
        event_type,
        data,
        stream_id,
        stream_position + 1 - position_base,
        global_position,
        created_at,
        metadata,
    )


def _check_amount(value: Any, where: str) -> None:
    if type(value) is int:
        amount = Decimal(value)
    elif type(value) is Decimal and value.is_finite():
        amount = value
    else:
        raise _bad(where, "must be a JSON number")
    if not within_limit(amount):  # by comparison: abs() overflows on 1E+999999999
        raise _bad(where, f"must be at most {MAX_AMOUNT} in size")
    if amount.quantize(CENT) != amount:
        raise _bad(where, "can have at most 2 decimal places")


def _waiting_body(item: Waiting, base: int) -> dict[str, Any]:
    """A held event, in the sender's numbering (DeltaBase: 0-based)."""
    shift = base - 1
    first, last = item.missing
    return {
        "streamId": item.stream_id,
        "streamPosition": item.stream_position + shift,
        "missingFrom": first + shift,
        "missingTo": last + shift,
    }


@router.post(
    PATH,
    response_model=WebhookResponse,
    responses={
        **errors(400, 401, 413, 503),
        409: {
            "model": WebhookResponse,
            "description": "Some events wait for earlier events of their stream; what could be "
            "applied was. Redeliver later.",
        },
    },
    openapi_extra=json_body(WebhookRequest),
    summary="DeltaBase webhook: events for the balances projection",
)
async def balances_events(request: Request) -> Response:
    api = ApiContext.of(request)
    api.authorize(request.headers.get("authorization"))
    body = decode_body(await read_body(request, WEBHOOK_BODY_LIMIT))
    base = api.settings.webhook_position_base
    events = [to_recorded(where, item, base) for where, item in envelopes_of(body)]
    try:
        report = await run_in_threadpool(api.live.deliver, events)
    except MalformedEventError as exc:
        raise ApiError(
            400,
            f"Malformed webhook body: event {exc.event_id} of stream {exc.stream_id} "
            f"is malformed: {exc.problem}.",
            {"eventId": exc.event_id, "streamId": exc.stream_id, "problem": exc.problem},
        ) from None
    except DeliveryConflictError as exc:
        raise ApiError(
            400,
            f"Malformed webhook body: {exc}",
            {"streamId": exc.stream_id, "streamPosition": exc.position - 1 + base},
        ) from None
    waiting = [_waiting_body(item, base) for item in report.waiting]
    result = {
        "success": not waiting,
        "processedEventCount": len(events),
        "applied": report.applied,
        "duplicates": report.duplicates,
        "ignored": report.ignored,
        "released": report.released,
        "waiting": waiting,
    }
    if waiting:
        first = waiting[0]
        message = (
            f"{len(waiting)} event(s) wait for earlier events of their stream (e.g. "
            f"{first['streamId']} positions {first['missingFrom']}–{first['missingTo']}); "
            "the rest was applied. Redeliver later."
        )
        return ExactJSONResponse({"error": message, "details": result, **result}, 409)
    return ExactJSONResponse(result)
