"""``POST /api/projections/balances/events``: DeltaBase's webhook, a hint to read the store.

Authenticated by ``Authorization: Bearer $PROJECTION_AUTH_TOKEN`` (compared in constant time,
before the body is read). The body is ``{"events": [envelope, ...]}`` or the older
``{"event": envelope}``; each envelope is DeltaBase's read event (``streamId``,
``streamPosition`` 0-based, ``globalPosition``, ``eventId``, ``type``, ``data``, ``metadata``,
``createdAt``), decoded exactly (amounts as Decimal) into our RecordedEvent (stream positions
1-based).

The read model shows the configured store and nothing else, so a delivery is never applied:

1. nonsense is a 400 naming what is wrong: a malformed body or field, a negative or zero
   amount, an account event whose ``accountId`` is not its stream, two events at one position;
2. every event is looked up in the store (:func:`check_delivery`): one the store contradicts
   (another event at that position, other data, an unknown account) is a 400; one beyond the
   end of its stream is a 409 (not in the store, or not yet: the sender may redeliver);
3. when the store confirms the whole delivery, the read model catches up *from the store* at
   once, and the answer says up to which position it now shows the store (``readPosition``).

Redeliveries, any order, and the store's own events delivered again are therefore harmless,
and a forged or misdirected delivery changes nothing, now or after a restart.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from bank_desktop.application.errors import MalformedEventError
from bank_desktop.application.event_codec import decode_account_event, decode_transfer_event
from bank_desktop.application.projections.delivery_check import Disagreement
from bank_desktop.domain import accounts as acc
from bank_desktop.domain import transfers as tr
from bank_desktop.domain.money import MAX_AMOUNT, exact_cents, within_limit
from bank_desktop.eventstore import RecordedEvent
from bank_desktop.eventstore.deltabase import EVENT_ID_KEY, EnvelopeError, read_envelope
from bank_desktop.http.body import WEBHOOK_BODY_LIMIT, decode_body, read_body
from bank_desktop.http.context import Api
from bank_desktop.http.docs import errors, json_body
from bank_desktop.http.errors import ApiError
from bank_desktop.http.schemas import ErrorResponse, WebhookRequest, WebhookResponse
from bank_desktop.http.wire import ExactJSONResponse

router = APIRouter(tags=["projections"])

PATH: Final = "/api/projections/balances/events"
#: Most events one delivery may carry.
MAX_EVENTS: Final = 10_000
#: Fields of event ``data`` that hold amounts (checked to be exact cents).
_MONEY_FIELDS: Final = ("amount", "initialBalance")
_ACCOUNT_TYPES: Final = frozenset(acc.ACCOUNT_EVENT_TYPES)
#: Event type → (field, whether zero is allowed) of amounts that can never be negative.
_UNSIGNED: Final = {
    acc.AccountOpened.type: ("initialBalance", True),
    acc.MoneyDeposited.type: ("amount", False),
    acc.MoneyWithdrawn.type: ("amount", False),
    acc.WithdrawalRefused.type: ("amount", False),
    acc.HoldPlaced.type: ("amount", False),
    acc.HoldReleased.type: ("amount", False),
    tr.TransferRequested.type: ("amount", False),
}
#: Disagreements named in a refusal's message and details (the rest are counted).
_SHOWN: Final = 20


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
    """One DeltaBase envelope as our RecordedEvent, read by the adapter's own reader
    (:func:`read_envelope`: the same id and positions as a read of the store gives), after the
    stricter checks of input from outside (sizes, exact types, amounts in exact cents)."""
    if not isinstance(envelope, dict):
        raise _bad(where, "must be a JSON object")
    _text(envelope, where, "streamId")
    _whole(envelope, where, "streamPosition", position_base)
    _whole(envelope, where, "globalPosition", 0)
    _text(envelope, where, "eventId")
    _text(envelope, where, "type")
    data = envelope.get("data")
    if not isinstance(data, dict):
        raise _bad(f"{where}.data", "must be a JSON object")
    for key in _MONEY_FIELDS:
        if key in data:
            _check_amount(data[key], f"{where}.data.{key}")
    metadata = envelope.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise _bad(f"{where}.metadata", "must be a JSON object")
    if not isinstance(envelope.get("createdAt"), str):
        raise _bad(f"{where}.createdAt", "must be an ISO-8601 timestamp")
    try:
        return read_envelope(
            envelope, where, position_base=position_base, event_id_key=EVENT_ID_KEY
        )
    except EnvelopeError as exc:
        raise _bad(f"{where}.{exc.field}" if exc.field else where, exc.problem) from None


def _check_amount(value: Any, where: str) -> None:
    if type(value) is int:
        amount = Decimal(value)
    elif type(value) is Decimal and value.is_finite():
        amount = value
    else:
        raise _bad(where, "must be a JSON number")
    if not within_limit(amount):  # by comparison: abs() overflows on 1E+999999999
        raise _bad(where, f"must be at most {MAX_AMOUNT} in size")
    if exact_cents(amount) is None:
        raise _bad(where, "can have at most 2 decimal places")


def check_sense(events: list[RecordedEvent], wheres: list[str]) -> None:
    """Refuse (400) what no store could hold: a known event type with malformed fields, an
    amount below zero (or at zero where the rules forbid it), an account event about another
    account than its stream, and two different events claiming one position."""
    seen: dict[tuple[str, int], str] = {}
    for event, where in zip(events, wheres, strict=True):
        key = (event.stream_id, event.stream_position)
        earlier = seen.setdefault(key, event.event_id)
        if earlier != event.event_id:
            raise _bad(
                where,
                f"claims stream {event.stream_id} position {event.stream_position} like "
                f"event {earlier}: two different events at one position",
            )
        try:
            if event.type in _ACCOUNT_TYPES:
                decode_account_event(event)
            elif event.type in _UNSIGNED:
                decode_transfer_event(event)
        except MalformedEventError as exc:
            raise _bad(f"{where}.data", exc.problem) from None
        rule = _UNSIGNED.get(event.type)
        if rule is not None:
            name, zero_allowed = rule
            amount = event.data.get(name)
            if amount < 0 or (amount == 0 and not zero_allowed):
                wanted = "must not be negative" if zero_allowed else "must be positive"
                raise _bad(f"{where}.data.{name}", wanted)
        if event.type in _ACCOUNT_TYPES and event.data.get("accountId", event.stream_id) != (
            event.stream_id
        ):
            raise _bad(f"{where}.data.accountId", f"must be the event's stream {event.stream_id}")


def _listed(items: list[Disagreement], base: int) -> list[dict[str, Any]]:
    """Disagreements in the sender's numbering (DeltaBase: 0-based stream positions)."""
    return [
        {
            "eventId": item.event_id,
            "streamId": item.stream_id,
            "streamPosition": item.stream_position - 1 + base,
            "problem": item.problem,
        }
        for item in items[:_SHOWN]
    ]


def _refusal(status: int, items: list[Disagreement], base: int, verdict: str) -> ApiError:
    first = items[0]
    return ApiError(
        status,
        f"Webhook delivery refused: {len(items)} event(s) {verdict}, e.g. event "
        f"{first.event_id} of stream {first.stream_id} at position "
        f"{first.stream_position - 1 + base}: {first.problem}. Nothing was changed: the "
        "read model shows only what the store holds.",
        {"events": _listed(items, base), "count": len(items)},
    )


@router.post(
    PATH,
    response_model=WebhookResponse,
    responses={
        **errors(400, 401, 413, 503),
        409: {
            "model": ErrorResponse,
            "description": "Some events are not in the store (yet); nothing was changed. "
            "Redeliver later if they should be.",
        },
    },
    openapi_extra=json_body(WebhookRequest),
    summary="DeltaBase webhook: events to confirm against the store",
)
async def balances_events(request: Request, api: Api) -> Response:
    api.authorize(request.headers.get("authorization"))
    body = decode_body(await read_body(request, WEBHOOK_BODY_LIMIT))
    base = api.settings.webhook_position_base
    envelopes = envelopes_of(body)
    events = [to_recorded(where, item, base) for where, item in envelopes]
    check_sense(events, [where for where, _ in envelopes])
    check = await run_in_threadpool(api.live.confirm, events)
    if check.contradicted:
        raise _refusal(400, check.contradicted, base, "do not match the store")
    if check.not_yet:
        raise _refusal(
            409,
            check.not_yet,
            base,
            "are not in the store (or not yet: redeliver later if they should be)",
        )
    return ExactJSONResponse(
        {
            "success": True,
            "processedEventCount": len(events),
            "confirmed": len(check.confirmed),
            "readPosition": api.live.checkpoint,
        }
    )
