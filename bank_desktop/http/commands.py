"""Command endpoints (the write side): open, deposit, withdraw, transfer, close.

Each parses its body exactly, binds an ``Idempotency-Key`` to the request, runs the command
through ``BankService`` on the command threads (it blocks on the store), and answers with the
seed's body plus ``X-Event-Position``: a global position at or after the command's last event,
to pass back as ``?after=`` for read-your-writes. The clerk, the request id and the path's
account id come in one :data:`~bank_desktop.http.command_inputs.Inputs` (read without
FastAPI's per-parameter validation: this is ``serve``'s hot path); the ``Clerk``,
``IdempotencyKey`` and ``AccountId`` parameter types below do the same as FastAPI parameters.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Header, Path
from pydantic import AfterValidator, BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bank_desktop.domain import format_money
from bank_desktop.http.approvals import HELD_FOR_APPROVAL
from bank_desktop.http.body import COMMAND_BODY_LIMIT, decode_body, read_body, require_json
from bank_desktop.http.command_inputs import (
    CommandInputs,
    Inputs,
    command_inputs,
    command_parameters,
)
from bank_desktop.http.context import CLERK_HEADER, POSITION_HEADER
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


def _documented(
    model: type[BaseModel], *, account: bool = True, required: bool = True
) -> dict[str, Any]:
    """The operation's body and parameters for OpenAPI (the handler reads both itself)."""
    return {
        **json_body(model, required=required),
        "parameters": command_parameters(account=account),
    }


def _written(body: dict[str, object], position: int, status: int = 200) -> Response:
    return ExactJSONResponse(body, status, headers={POSITION_HEADER: str(position)})


@router.post(
    "/accounts",
    status_code=201,
    response_model=OpenAccountResponse,
    responses=errors(400, 409, 413, 415, 422, 503),
    openapi_extra=_documented(OpenAccountRequest, account=False),
    summary="Open an account",
)
async def open_account(request: Request, inputs: Inputs) -> Response:
    body = parse_request(OpenAccountRequest, decode_body(await _read(request)))
    api = inputs.api
    bank = api.acting(request, inputs.clerk)
    command_id = api.command_id(inputs.key)
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


async def _money(request: Request, inputs: CommandInputs, *, deposit: bool) -> Response:
    body = parse_request(MoneyRequest, decode_body(await _read(request)))
    api, account_id = inputs.api, inputs.account_id
    bank = api.acting(request, inputs.clerk)
    command_id = api.command_id(inputs.key)
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
    openapi_extra=_documented(MoneyRequest),
    summary="Deposit money",
)
async def deposit(request: Request, inputs: Inputs) -> Response:
    return await _money(request, inputs, deposit=True)


@router.post(
    "/accounts/{account_id}/withdraw",
    response_model=MoneyResponse,
    responses={**_COMMAND_ERRORS, **HELD_FOR_APPROVAL},
    openapi_extra=_documented(MoneyRequest),
    summary="Withdraw money (never below zero)",
)
async def withdraw(request: Request, inputs: Inputs) -> Response:
    return await _money(request, inputs, deposit=False)


async def _fast_deposit(request: Request) -> Response:
    return await _money(request, await command_inputs(request), deposit=True)


async def _fast_withdraw(request: Request) -> Response:
    return await _money(request, await command_inputs(request), deposit=False)


def money_routes() -> list[Route]:
    """Deposits and withdrawals, ``serve``'s hot path, as plain Starlette routes that
    ``create_app`` puts ahead of FastAPI's: the same handler (``_money``) and the same errors
    (the app's exception handlers), without FastAPI's per-request machinery around a handler
    that reads its own body and inputs (dependency solving, exit stacks), about a fifth of the
    request's CPU in ``serve``. The FastAPI routes above stay as the OpenAPI documentation of
    the two endpoints (``tests/http/test_statuses.py`` checks both)."""
    return [
        Route("/accounts/{account_id}/deposit", _fast_deposit, methods=["POST"]),
        Route("/accounts/{account_id}/withdraw", _fast_withdraw, methods=["POST"]),
    ]


@router.post(
    "/accounts/{account_id}/transfer",
    response_model=TransferResponse,
    responses={**_COMMAND_ERRORS, **HELD_FOR_APPROVAL},
    openapi_extra=_documented(TransferRequest),
    summary="Move money to another account",
    description="Answers once the transfer has completed; a refused or reversed transfer is a "
    "400 naming the reason (a reversed one has returned the money to the source).",
)
async def transfer(request: Request, inputs: Inputs) -> Response:
    body = parse_request(TransferRequest, decode_body(await _read(request)))
    api, account_id = inputs.api, inputs.account_id
    bank = api.acting(request, inputs.clerk)
    command_id = api.command_id(inputs.key)
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
    openapi_extra=_documented(CloseAccountRequest, required=False),
    summary="Close an account (its balance must be zero)",
)
async def close_account(request: Request, inputs: Inputs) -> Response:
    raw = await _read(request)
    body = parse_request(CloseAccountRequest, decode_body(raw, empty={}))
    api, account_id = inputs.api, inputs.account_id
    bank = api.acting(request, inputs.clerk)
    command_id = api.command_id(inputs.key)
    _, position = await api.run(
        lambda: bank.close_account(account_id, body.reason, command_id=command_id)
    )
    return _written(
        {"accountId": account_id, "isOpen": False, "message": "Account closed"}, position
    )
