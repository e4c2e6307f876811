"""Command endpoints (the write side): open, deposit, withdraw, transfer, close.

Each parses its body exactly, binds an ``Idempotency-Key`` to the request, runs the command
through ``BankService`` on the thread pool (it blocks on the store), and answers with the
seed's body plus ``X-Event-Position``: a global position at or after the command's last event,
to pass back as ``?after=`` for read-your-writes.
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Header, Path
from pydantic import AfterValidator
from starlette.requests import Request
from starlette.responses import Response

from bank_desktop.domain import format_money
from bank_desktop.http.approvals import HELD_FOR_APPROVAL
from bank_desktop.http.body import COMMAND_BODY_LIMIT, decode_body, read_body, require_json
from bank_desktop.http.context import CLERK_HEADER, POSITION_HEADER, Api, ApiContext
from bank_desktop.http.docs import errors, json_body
from bank_desktop.http.idempotency import HEADER as IDEMPOTENCY_HEADER
from bank_desktop.http.schemas import (
    CloseAccountRequest,
    CloseAccountResponse,
    MoneyRequest,
    MoneyResponse,
    OpenAccountRequest,
    OpenAccountResponse,
    TransferRequest,
    TransferResponse,
    no_surrounding_space,
    parse_request,
)
from bank_desktop.http.wire import ExactJSONResponse, money_out

router = APIRouter(tags=["commands"])

Clerk = Annotated[
    str | None,
    Header(
        alias=CLERK_HEADER,
        max_length=64,
        description="Clerk recorded on the events: with a token, only its own clerk (another "
        "is 403); in open mode any clerk (default: the server's --clerk)",
    ),
]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=IDEMPOTENCY_HEADER,
        max_length=200,
        description="Repeat a request safely: the same key and body return the first result; "
        "the same key with a different body is refused (422).",
    ),
]
AccountId = Annotated[
    str,
    Path(max_length=200, description="e.g. account-3kq7x2m9v1ab (no spaces around it)"),
    AfterValidator(no_surrounding_space),
]

_COMMAND_ERRORS: Final = errors(400, 401, 403, 404, 409, 413, 415, 422, 503)


async def _read(request: Request) -> bytes:
    require_json(request)
    return await read_body(request, COMMAND_BODY_LIMIT)


def _written(body: dict[str, object], position: int, status: int = 200) -> Response:
    return ExactJSONResponse(body, status, headers={POSITION_HEADER: str(position)})


@router.post(
    "/accounts",
    status_code=201,
    response_model=OpenAccountResponse,
    responses=errors(400, 409, 413, 415, 422, 503),
    openapi_extra=json_body(OpenAccountRequest),
    summary="Open an account",
)
async def open_account(
    request: Request, api: Api, clerk: Clerk = None, key: IdempotencyKey = None
) -> Response:
    body = parse_request(OpenAccountRequest, decode_body(await _read(request)))
    bank = api.acting(request, clerk)
    command_id = api.command_id(key)
    account_id, position = await api.run(
        lambda: bank.open_account(body.customerId, body.initialBalance, command_id=command_id)
    )
    return _written(
        {
            "accountId": account_id,
            "balance": money_out(body.initialBalance),
            "message": "Account opened successfully",
        },
        position,
        201,
    )


async def _money(
    request: Request,
    api: ApiContext,
    account_id: str,
    clerk: str | None,
    key: str | None,
    *,
    deposit: bool,
) -> Response:
    body = parse_request(MoneyRequest, decode_body(await _read(request)))
    bank = api.acting(request, clerk)
    command_id = api.command_id(key)
    run = bank.deposit if deposit else bank.withdraw
    balance, position = await api.run(
        lambda: run(account_id, body.amount, body.description, command_id=command_id)
    )
    verb = "Deposited" if deposit else "Withdrew"
    return _written(
        {
            "accountId": account_id,
            "newBalance": money_out(balance),
            "message": f"{verb} {format_money(body.amount)}",
        },
        position,
    )


@router.post(
    "/accounts/{account_id}/deposit",
    response_model=MoneyResponse,
    responses=_COMMAND_ERRORS,
    openapi_extra=json_body(MoneyRequest),
    summary="Deposit money",
)
async def deposit(
    request: Request,
    api: Api,
    account_id: AccountId,
    clerk: Clerk = None,
    key: IdempotencyKey = None,
) -> Response:
    return await _money(request, api, account_id, clerk, key, deposit=True)


@router.post(
    "/accounts/{account_id}/withdraw",
    response_model=MoneyResponse,
    responses={**_COMMAND_ERRORS, **HELD_FOR_APPROVAL},
    openapi_extra=json_body(MoneyRequest),
    summary="Withdraw money (never below zero)",
)
async def withdraw(
    request: Request,
    api: Api,
    account_id: AccountId,
    clerk: Clerk = None,
    key: IdempotencyKey = None,
) -> Response:
    return await _money(request, api, account_id, clerk, key, deposit=False)


@router.post(
    "/accounts/{account_id}/transfer",
    response_model=TransferResponse,
    responses={**_COMMAND_ERRORS, **HELD_FOR_APPROVAL},
    openapi_extra=json_body(TransferRequest),
    summary="Move money to another account",
    description="Answers once the transfer has completed; a refused or reversed transfer is a "
    "400 naming the reason (a reversed one has returned the money to the source).",
)
async def transfer(
    request: Request,
    api: Api,
    account_id: AccountId,
    clerk: Clerk = None,
    key: IdempotencyKey = None,
) -> Response:
    body = parse_request(TransferRequest, decode_body(await _read(request)))
    bank = api.acting(request, clerk)
    command_id = api.command_id(key)
    transfer_id, position = await api.run(
        lambda: bank.transfer(
            account_id, body.toAccountId, body.amount, body.description, command_id=command_id
        )
    )
    return _written(
        {
            "transferId": transfer_id,
            "fromAccountId": account_id,
            "toAccountId": body.toAccountId,
            "amount": money_out(body.amount),
            "status": "completed",
            "message": f"Transferred {format_money(body.amount)} to {body.toAccountId}",
        },
        position,
    )


@router.post(
    "/accounts/{account_id}/close",
    response_model=CloseAccountResponse,
    responses=_COMMAND_ERRORS,
    openapi_extra=json_body(CloseAccountRequest, required=False),
    summary="Close an account (its balance must be zero)",
)
async def close_account(
    request: Request,
    api: Api,
    account_id: AccountId,
    clerk: Clerk = None,
    key: IdempotencyKey = None,
) -> Response:
    raw = await _read(request)
    body = parse_request(CloseAccountRequest, decode_body(raw, empty={}))
    bank = api.acting(request, clerk)
    command_id = api.command_id(key)
    _, position = await api.run(
        lambda: bank.close_account(account_id, body.reason, command_id=command_id)
    )
    return _written(
        {"accountId": account_id, "isOpen": False, "message": "Account closed"}, position
    )
