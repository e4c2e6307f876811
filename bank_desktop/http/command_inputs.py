"""What a command request carries besides its body: the clerk, the request id, the account.

``X-Clerk-Id``, ``Idempotency-Key`` and, for a command on an account, the ``{account_id}`` of
its path. FastAPI validates declared header and path parameters with a pydantic validation per
parameter on every request; the commands are ``serve``'s hot path, so they read these three
themselves (one dependency, :data:`Inputs`), with the same rules and the same errors (a
``RequestValidationError`` naming the field, which the error handler turns into a 400), and
document them in OpenAPI as declared parameters would be (:func:`command_parameters`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Final

from fastapi import Depends
from fastapi.exceptions import RequestValidationError
from starlette.requests import Request

from bank_desktop.http.context import CLERK_HEADER, ApiContext, api_context
from bank_desktop.http.idempotency import HEADER as IDEMPOTENCY_HEADER

CLERK_MAX: Final = 64
KEY_MAX: Final = 200
ACCOUNT_MAX: Final = 200
CLERK_TEXT: Final = "Clerk recorded on the events (default: the server's --clerk)"
KEY_TEXT: Final = (
    "Repeat a request safely: the same key and body return the first result; the same key "
    "with a different body is refused (422)."
)
ACCOUNT_TEXT: Final = "e.g. account-3kq7x2m9v1ab (no spaces around it)"


@dataclass(frozen=True, slots=True)
class CommandInputs:
    """A command request's context, clerk header, request id and path account ("" if none)."""

    api: ApiContext
    clerk: str | None
    key: str | None
    account_id: str


async def command_inputs(request: Request) -> CommandInputs:
    """The inputs, checked as the declared parameters were (a FastAPI dependency)."""
    headers = request.headers
    problems: list[dict[str, Any]] = []
    clerk = headers.get(CLERK_HEADER)
    if clerk is not None and len(clerk) > CLERK_MAX:
        problems.append(_too_long("header", CLERK_HEADER, clerk, CLERK_MAX))
    key = headers.get(IDEMPOTENCY_HEADER)
    if key is not None and len(key) > KEY_MAX:
        problems.append(_too_long("header", IDEMPOTENCY_HEADER, key, KEY_MAX))
    account = request.path_params.get("account_id", "")
    if len(account) > ACCOUNT_MAX:
        problems.append(_too_long("path", "account_id", account, ACCOUNT_MAX))
    elif account != account.strip():
        problems.append(
            {
                "type": "value_error",
                "loc": ("path", "account_id"),
                "msg": "Value error, must not begin or end with spaces",
                "input": account,
            }
        )
    if problems:
        raise RequestValidationError(problems)
    return CommandInputs(await api_context(request), clerk, key, account)


#: A command endpoint's parameter: ``async def deposit(request: Request, inputs: Inputs)``.
Inputs = Annotated[CommandInputs, Depends(command_inputs)]


def _too_long(where: str, name: str, value: str, limit: int) -> dict[str, Any]:
    return {
        "type": "string_too_long",
        "loc": (where, name),
        "msg": f"String should have at most {limit} characters",
        "input": value,
        "ctx": {"max_length": limit},
    }


def command_parameters(*, account: bool) -> list[dict[str, Any]]:
    """The OpenAPI parameters of a command, as FastAPI documents declared ones."""
    found = []
    if account:
        found.append(
            {
                "name": "account_id",
                "in": "path",
                "required": True,
                "schema": {
                    "type": "string",
                    "maxLength": ACCOUNT_MAX,
                    "description": ACCOUNT_TEXT,
                    "title": "Account Id",
                },
                "description": ACCOUNT_TEXT,
            }
        )
    for name, limit, text in (
        (CLERK_HEADER, CLERK_MAX, CLERK_TEXT),
        (IDEMPOTENCY_HEADER, KEY_MAX, KEY_TEXT),
    ):
        found.append(
            {
                "name": name,
                "in": "header",
                "required": False,
                "schema": {
                    "anyOf": [{"type": "string", "maxLength": limit}, {"type": "null"}],
                    "description": text,
                    "title": name,
                },
                "description": text,
            }
        )
    return found
