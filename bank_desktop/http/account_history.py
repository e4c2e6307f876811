"""An account's history on the wire: ledger entries, holds, and the account as of a day."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from bank_desktop.application.days import parse_day, parse_zone
from bank_desktop.application.event_codec import wire_time
from bank_desktop.application.projections import LedgerEntry
from bank_desktop.application.projections.as_of import as_of, end_of_day
from bank_desktop.domain.errors import ValidationError
from bank_desktop.domain.holds import Hold
from bank_desktop.http.context import ApiContext
from bank_desktop.http.errors import ApiError, field_error
from bank_desktop.http.wire import ExactJSONResponse, money_out


def entry_body(entry: LedgerEntry) -> dict[str, Any]:
    return {
        "position": entry.stream_position,
        "globalPosition": entry.global_position,
        "eventId": entry.event_id,
        "time": wire_time(entry.occurred_at),
        "type": entry.kind,
        "description": entry.description,
        "amount": money_out(entry.amount),
        "balance": money_out(entry.balance),
        "clerkId": entry.clerk_id,
        "counterpartyAccountId": entry.counterparty_account_id,
        "transferId": entry.transfer_id,
        "requestId": entry.request_id,
        **({"reversesEventId": entry.reverses_event_id} if entry.reverses_event_id else {}),
        **(
            {"holdId": entry.hold_id, "heldAmount": money_out(entry.hold_amount)}
            if entry.hold_id is not None and entry.hold_amount is not None
            else {}
        ),
    }


def hold_body(hold: Hold) -> dict[str, Any]:
    body: dict[str, Any] = {
        "holdId": hold.hold_id,
        "amount": money_out(hold.amount),
        "reason": hold.reason,
        "placedAt": wire_time(hold.placed_at),
    }
    if hold.expires_at is not None:
        body["expiresAt"] = wire_time(hold.expires_at)
    return body


def _parsed(parse: Any, value: str | None, field: str) -> Any:
    try:
        return parse(value)
    except ValidationError as exc:
        raise field_error(field, exc.message) from None


async def account_as_of(
    api: ApiContext, account_id: str, day_text: str, tz: str | None
) -> Response:
    """``GET /accounts/{id}?asOf=``: the account at the end of that day."""
    day = _parsed(lambda text: parse_day(text, "asOf"), day_text, "asOf")
    zone = _parsed(parse_zone, tz, "tz")
    moment = end_of_day(day, zone)
    view = await run_in_threadpool(api.ledgers.current, account_id)
    if not view.entries:
        raise ApiError(404, f"Account {account_id} not found.", {"accountId": account_id})
    state = as_of(account_id, view.entries, moment)
    return ExactJSONResponse(
        {
            "accountId": account_id,
            "asOf": day.isoformat(),
            "at": moment.isoformat(),
            "timeZone": moment.tzname() or str(moment.tzinfo),
            "status": state.status,
            "balance": money_out(state.balance),
            "availableBalance": money_out(state.available_balance),
            "holds": [hold_body(hold) for hold in state.holds],
            "entries": [entry_body(entry) for entry in state.entries],
        }
    )
