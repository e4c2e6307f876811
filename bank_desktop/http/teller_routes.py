"""The teller's-day endpoints: customers, reversals, holds, the journal, an account as of a day.

Same conventions as the seed's endpoints: exact JSON bodies, ``Idempotency-Key`` on every
write (the same key and body answer the first result, another body 422), ``X-Clerk-Id``,
``X-Event-Position`` on writes and ``?after=`` on reads, ``{error, details}`` with 400 for a
bad request or a rule, 404 for an unknown account, customer, transaction or hold, 409 for a
national id another customer holds. Days are cut in ``tz`` (an IANA name, ``UTC`` or
``local``: the server's zone, the default); the answer says which.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Header, Path, Query
from pydantic import AfterValidator
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from bank_desktop.application.days import parse_day, parse_zone
from bank_desktop.application.event_codec import wire_time
from bank_desktop.application.journal import Journal, JournalLine, journal_from_store
from bank_desktop.application.projections import ReadModel
from bank_desktop.application.projections.customers import CustomerRow
from bank_desktop.domain import ValidationError, format_money
from bank_desktop.domain.customers import CustomerState
from bank_desktop.http.account_history import hold_body
from bank_desktop.http.approvals import HELD_FOR_APPROVAL
from bank_desktop.http.body import COMMAND_BODY_LIMIT, decode_body, read_body, require_json
from bank_desktop.http.context import POSITION_HEADER, READ_POSITION_HEADER, Api
from bank_desktop.http.docs import errors, json_body
from bank_desktop.http.errors import ApiError, field_error
from bank_desktop.http.queries import After, WaitHeader
from bank_desktop.http.schemas import no_surrounding_space, parse_request
from bank_desktop.http.teller_schemas import (
    ChangeCustomerRequest,
    ChangeCustomerResponse,
    CustomerModel,
    HoldRequest,
    HoldResponse,
    HoldsResponse,
    JournalResponse,
    RegisterCustomerRequest,
    RegisterCustomerResponse,
    ReversalRequest,
    ReversalResponse,
)
from bank_desktop.http.wire import ExactJSONResponse, money_out

router = APIRouter(tags=["teller"])

_WRITE_ERRORS: Final = errors(400, 401, 403, 404, 409, 413, 415, 422, 503)
#: Most customers one search or page returns.
MAX_CUSTOMERS: Final = 200

Clerk = Annotated[str | None, Header(alias="X-Clerk-Id", max_length=64)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]
PathId = Annotated[str, Path(max_length=200), AfterValidator(no_surrounding_space)]
Zone = Annotated[
    str | None,
    Query(max_length=60, description="IANA time zone, UTC or local (default: the server's)"),
]


async def _body(request: Request) -> Any:
    require_json(request)
    return decode_body(await read_body(request, COMMAND_BODY_LIMIT))


def _written(body: dict[str, Any], position: int, status: int = 200) -> Response:
    return ExactJSONResponse(body, status, headers={POSITION_HEADER: str(position)})


def _read(body: Any, position: int) -> Response:
    return ExactJSONResponse(body, headers={READ_POSITION_HEADER: str(position)})


def _query_value(parse: Any, value: str | None, field: str) -> Any:
    try:
        return parse(value)
    except ValidationError as exc:
        raise field_error(field, exc.message) from None


# ── customers ─────────────────────────────────────────────────────────────────────────────


def details_body(row: CustomerRow | CustomerState) -> dict[str, Any]:
    """A customer's details as the API writes them (optional ones only when given)."""
    body: dict[str, Any] = {
        "customerId": row.customer_id,
        "fullName": row.full_name,
        "nationalId": row.national_id,
    }
    if row.date_of_birth is not None:
        body["dateOfBirth"] = row.date_of_birth.isoformat()
    if row.phone is not None:
        body["phone"] = row.phone
    if row.address is not None:
        body["address"] = row.address
    return body


def customer_body(row: CustomerRow, accounts: tuple[str, ...]) -> dict[str, Any]:
    body = details_body(row)
    body["registeredAt"] = wire_time(row.registered_at)
    body["changedAt"] = wire_time(row.changed_at)
    body["accounts"] = list(accounts)
    return body


@router.post(
    "/customers",
    status_code=201,
    response_model=RegisterCustomerResponse,
    responses=_WRITE_ERRORS,
    openapi_extra=json_body(RegisterCustomerRequest),
    summary="Register a customer (the national id must be free)",
)
async def register_customer(
    request: Request, api: Api, clerk: Clerk = None, key: IdempotencyKey = None
) -> Response:
    body = parse_request(RegisterCustomerRequest, await _body(request))
    bank = api.acting(request, clerk)
    command_id = api.command_id(key)

    def register() -> tuple[str, str, str]:
        customer_id = bank.register_customer(
            body.fullName,
            body.nationalId,
            date_of_birth=body.dateOfBirth,
            phone=body.phone,
            address=body.address,
            command_id=command_id,
        )
        state = bank.get_customer(customer_id)
        return customer_id, state.full_name, state.national_id

    (customer_id, name, national_id), position = await api.run(register)
    return _written(
        {
            "customerId": customer_id,
            "fullName": name,
            "nationalId": national_id,
            "message": "Customer registered",
        },
        position,
        201,
    )


#: Body fields of a change → ``change_customer_details`` keywords, and which may be removed.
_DETAILS: Final = {
    "fullName": ("full_name", False),
    "nationalId": ("national_id", False),
    "dateOfBirth": ("date_of_birth", True),
    "phone": ("phone", True),
    "address": ("address", True),
}


@router.patch(
    "/customers/{customer_id}",
    response_model=ChangeCustomerResponse,
    responses=_WRITE_ERRORS,
    openapi_extra=json_body(ChangeCustomerRequest),
    summary="Change a customer's details (recorded; null removes an optional detail)",
)
async def change_customer(
    request: Request,
    api: Api,
    customer_id: PathId,
    clerk: Clerk = None,
    key: IdempotencyKey = None,
) -> Response:
    body = parse_request(ChangeCustomerRequest, await _body(request))
    changes: dict[str, Any] = {}
    clear: list[str] = []
    for field in sorted(body.model_fields_set & _DETAILS.keys()):
        name, removable = _DETAILS[field]
        value = getattr(body, field)
        if value is not None:
            changes[name] = value
        elif removable:
            clear.append(name)
        else:
            raise field_error(field, "cannot be removed: give the new value")
    bank = api.acting(request, clerk)
    command_id = api.command_id(key)

    def change() -> dict[str, Any]:
        state = bank.change_customer_details(
            customer_id, **changes, clear=clear, command_id=command_id
        )
        answer = details_body(state)
        if state.changed_at is not None:
            answer["changedAt"] = wire_time(state.changed_at)
        answer["message"] = "Customer details changed"
        return answer

    answer, position = await api.run(change)
    return _written(answer, position)


@router.get(
    "/customers/{customer_id}",
    response_model=CustomerModel,
    responses=errors(400, 404, 503),
    summary="One customer and their accounts, from the read model",
)
async def get_customer(
    api: Api, customer_id: PathId, after: After = None, wait: WaitHeader = None
) -> Response:
    await api.wait_for(after, wait)

    def find(model: ReadModel) -> dict[str, Any] | None:
        row = model.customers.get(customer_id)
        if row is None:
            return None
        return customer_body(row, model.balances.accounts_of(customer_id))

    body = api.live.read(find)
    if body is None:
        raise ApiError(
            404, f"Customer {customer_id} is not registered.", {"customerId": customer_id}
        )
    return _read(body, api.live.checkpoint)


@router.get(
    "/customers",
    response_model=list[CustomerModel],
    responses=errors(400, 503),
    summary="Find customers by name or national id (case and accents ignored)",
    description="With `q`, the best matches first (an exact national id, then names that "
    "start with it); without, customers in registration order. `limit` up to 200.",
)
async def list_customers(
    api: Api,
    *,
    q: Annotated[str | None, Query(max_length=200)] = None,
    after: After = None,
    wait: WaitHeader = None,
    limit: Annotated[int, Query(ge=1, le=MAX_CUSTOMERS)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    await api.wait_for(after, wait)

    def find(model: ReadModel) -> list[dict[str, Any]]:
        customers = model.customers
        if q is not None and q.strip():
            rows = customers.search(q, limit=offset + limit)[offset:]
        else:
            rows = list(customers)[offset : offset + limit]
        return [customer_body(r, model.balances.accounts_of(r.customer_id)) for r in rows]

    return _read(api.live.read(find), api.live.checkpoint)


# ── reversals and holds ───────────────────────────────────────────────────────────────────


@router.post(
    "/accounts/{account_id}/reversals",
    status_code=201,
    response_model=ReversalResponse,
    responses={**_WRITE_ERRORS, **HELD_FOR_APPROVAL},
    openapi_extra=json_body(ReversalRequest),
    summary="Reverse a deposit or withdrawal keyed by mistake (with a reason)",
    description="Records the opposite seed event with `reversesEventId`. Refused: no reason, "
    "an unknown event (404), one reversed already, a reversal, a transfer leg, a closed "
    "account, a reversed deposit that would overdraw the available balance.",
)
async def reverse(
    request: Request,
    api: Api,
    account_id: PathId,
    clerk: Clerk = None,
    key: IdempotencyKey = None,
) -> Response:
    body = parse_request(ReversalRequest, await _body(request))
    bank = api.acting(request, clerk)
    command_id = api.command_id(key)
    balance, position = await api.run(
        lambda: bank.reverse(account_id, body.eventId, body.reason, command_id=command_id)
    )
    return _written(
        {
            "accountId": account_id,
            "reversesEventId": body.eventId,
            "newBalance": money_out(balance),
            "message": f"Reversed {body.eventId}",
        },
        position,
        201,
    )


def _expiry(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        message = "must be an ISO-8601 time such as 2026-11-30T17:00:00Z"
        raise field_error("expiresAt", message) from None
    if moment.tzinfo is None:
        raise field_error("expiresAt", "must say its time zone (e.g. Z or +01:00)")
    return moment


@router.post(
    "/accounts/{account_id}/holds",
    status_code=201,
    response_model=HoldResponse,
    responses=_WRITE_ERRORS,
    openapi_extra=json_body(HoldRequest),
    summary="Place a hold: set money aside without moving it",
)
async def place_hold(
    request: Request,
    api: Api,
    account_id: PathId,
    clerk: Clerk = None,
    key: IdempotencyKey = None,
) -> Response:
    body = parse_request(HoldRequest, await _body(request))
    expires = _expiry(body.expiresAt)
    bank = api.acting(request, clerk)
    command_id = api.command_id(key)

    def place() -> tuple[str, Any]:
        hold_id = bank.place_hold(
            account_id, body.amount, body.reason, expires_at=expires, command_id=command_id
        )
        return hold_id, bank.get_account(account_id).available_balance

    (hold_id, available), position = await api.run(place)
    return _written(
        {
            "accountId": account_id,
            "holdId": hold_id,
            "availableBalance": money_out(available),
            "message": f"Hold of {format_money(body.amount)} placed",
        },
        position,
        201,
    )


@router.delete(
    "/accounts/{account_id}/holds/{hold_id}",
    response_model=HoldResponse,
    responses=_WRITE_ERRORS,
    summary="Release a hold",
)
async def release_hold(
    request: Request,
    api: Api,
    account_id: PathId,
    hold_id: PathId,
    *,
    clerk: Clerk = None,
    key: IdempotencyKey = None,
) -> Response:
    bank = api.acting(request, clerk)
    command_id = api.command_id(key)
    available, position = await api.run(
        lambda: bank.release_hold(account_id, hold_id, command_id=command_id)
    )
    return _written(
        {
            "accountId": account_id,
            "holdId": hold_id,
            "availableBalance": money_out(available),
            "message": "Hold released",
        },
        position,
    )


@router.get(
    "/accounts/{account_id}/holds",
    response_model=HoldsResponse,
    responses=errors(400, 404, 503),
    summary="The holds active now and the available balance, from the read model",
)
async def list_holds(
    api: Api, account_id: PathId, after: After = None, wait: WaitHeader = None
) -> Response:
    await api.wait_for(after, wait)
    row = api.live.account(account_id)
    if row is None:
        raise ApiError(404, f"Account {account_id} not found.", {"accountId": account_id})
    now = datetime.now().astimezone()
    return _read(
        {
            "accountId": account_id,
            "balance": money_out(row.balance),
            "availableBalance": money_out(row.available(now)),
            "holds": [hold_body(hold) for hold in row.active_holds(now)],
        },
        api.live.checkpoint,
    )


# ── the journal and "as of" ───────────────────────────────────────────────────────────────


def line_body(line: JournalLine) -> dict[str, Any]:
    return {
        "time": wire_time(line.occurred_at),
        "accountId": line.account_id,
        "type": line.kind,
        "amount": money_out(line.amount),
        "held": None if line.held is None else money_out(line.held),
        "description": line.description,
        "clerkId": line.clerk_id,
        "requestId": line.request_id,
        "eventId": line.event_id,
        "globalPosition": line.global_position,
        "transferId": line.transfer_id,
        "reversesEventId": line.reverses_event_id,
        "holdId": line.hold_id,
        "requestedBy": line.requested_by,
        "approvedBy": line.approved_by,
    }


def journal_body(journal: Journal) -> dict[str, Any]:
    return {
        "date": journal.day.isoformat(),
        "timeZone": journal.zone,
        "start": journal.start.isoformat(),
        "end": journal.end.isoformat(),
        "clerkId": journal.clerk_id,
        "lines": [line_body(line) for line in journal.lines],
        "totals": {
            kind: {"count": total.count, "amount": money_out(total.amount)}
            for kind, total in journal.totals.items()
        },
        "transfers": journal.transfers,
        "openingTotal": money_out(journal.opening_total),
        "closingTotal": money_out(journal.closing_total),
        "net": money_out(journal.net),
        "othersNet": money_out(journal.others_net),
        "reconciles": journal.reconciles,
        "skipped": journal.skipped,
    }


@router.get(
    "/journal",
    response_model=JournalResponse,
    responses=errors(400, 503),
    summary="The end-of-day journal: a day's transactions, totals by kind, balance sums",
    description="Every transaction of `date` (midnight to midnight in `tz`), optionally one "
    "clerk's, with counts and amounts by kind and the sum of all balances at the start and "
    "end of the day; `reconciles` says they add up. Read from the store (always current).",
)
async def journal(
    api: Api,
    *,
    date: Annotated[str, Query(max_length=40, description="YYYY-MM-DD")],
    clerk: Annotated[str | None, Query(max_length=64)] = None,
    tz: Zone = None,
) -> Response:
    day = _query_value(parse_day, date, "date")
    zone = _query_value(parse_zone, tz, "tz")
    result = await run_in_threadpool(journal_from_store, api.store, day, zone, clerk or None)
    return ExactJSONResponse(journal_body(result))


__all__ = ["router"]
