"""Every failure as ``{error, details}`` JSON with the right status; never a 500 for bad input.

One status for one kind of mistake. Whatever is wrong with what the client sent is 400, as in
the seed (which answers 400 for every refusal): a client fixes its request either way, and an
amount is not 422 for one mistake and 400 for another. ``details.errors`` (``[{field,
message}]``) says which field, when a field is to blame; its absence means the body as a whole
or a business rule.

================================================================  ======
the request is wrong: not JSON, not an object, a field missing,      400
of the wrong type or format, an invalid amount of any kind
(string, three decimals, too large, zero, negative), a bad query
parameter, path id or header, a business rule refused it
Host not served here (DNS rebinding)                                  400
missing, unknown or revoked token (a clerk's, or the webhook's)     401
a request from another web page's origin; X-Clerk-Id naming          403
someone other than the token's clerk; a role the clerk lacks
(approving without the supervisor role, your own request, ...)
unknown account (customer, transaction, hold, approval request)      404
version conflict the retries could not absorb; a national id that    409
another customer holds
body too large / not sent as application/json                      413/415
Idempotency-Key (request id) already used for another request        422
the store is unreachable / the read model is behind                  503
================================================================  ======

Not an error: a command above the approval limit answers 202 with ``{approvalId, status,
url}`` (the request is recorded and waits for a supervisor; ``GET url`` says where it stands).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from bank_desktop.application.errors import MalformedEventError, TransferInterruptedError
from bank_desktop.domain.errors import (
    ApprovalRequired,
    CommandIdReusedError,
    DomainError,
    DuplicateNationalIdError,
    NotFoundError,
    PermissionDeniedError,
)
from bank_desktop.eventstore.errors import (
    ConcurrencyError,
    EventStoreError,
    IdentityMismatchError,
    StoreConfigError,
    StoreUnavailableError,
)
from bank_desktop.http.wire import ExactJSONResponse

_log = logging.getLogger("bank_desktop.http")

#: Seconds a client should wait before retrying after a 503.
RETRY_AFTER = "2"


class ApiError(Exception):
    """A refusal decided by the HTTP layer itself (bad body, bad header, timeout, auth)."""

    def __init__(
        self,
        status: int,
        message: str,
        details: Mapping[str, Any] | None = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = dict(details or {})
        self.headers = dict(headers or {})


def field_error(field: str, message: str, status: int = 400) -> ApiError:
    """A request field is wrong: the message names it, ``details.errors`` lists it."""
    return ApiError(
        status, f"{field}: {message}", {"errors": [{"field": field, "message": message}]}
    )


def approval_url(approval_id: str) -> str:
    """Where a client polls a request held for approval."""
    return f"/approvals/{approval_id}"


def error_body(message: str, details: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {"error": message, "details": dict(details or {})}


def _respond(
    status: int,
    message: str,
    details: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    return ExactJSONResponse(error_body(message, details), status, headers=dict(headers or {}))


#: Status by exception class, first match wins (so subclasses come before their bases).
_STATUSES: Final[tuple[tuple[type[BaseException], int], ...]] = (
    (NotFoundError, 404),
    (DuplicateNationalIdError, 409),
    (PermissionDeniedError, 403),
    (ApprovalRequired, 202),
    (CommandIdReusedError, 422),
    (DomainError, 400),
    (ConcurrencyError, 409),
    (MalformedEventError, 500),  # a damaged stored event: IT must look, retrying will not help
    (IdentityMismatchError, 403),  # strict identity: this login may not act as that clerk
    (StoreConfigError, 500),
    (EventStoreError, 503),
)


def status_of(exc: BaseException) -> int:
    """The HTTP status for an exception of the core (500 for anything unexpected)."""
    if isinstance(exc, TransferInterruptedError):
        return status_of(exc.cause)  # recorded, not finished: as the store failure it met
    return next((status for kind, status in _STATUSES if isinstance(exc, kind)), 500)


def install_error_handlers(app: FastAPI) -> None:
    async def api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return _respond(exc.status, exc.message, exc.details, exc.headers)

    async def domain_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DomainError)
        return _respond(status_of(exc), exc.message, exc.details)

    async def approval_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApprovalRequired)
        url = approval_url(exc.approval_id)
        return ExactJSONResponse(
            {
                "approvalId": exc.approval_id,
                "status": "pending",
                "url": url,
                "message": exc.message,
                "details": exc.details,
            },
            202,
            headers={"Location": url},
        )

    async def store_error(request: Request, exc: Exception) -> Response:
        status = status_of(exc)
        if isinstance(exc, ConcurrencyError):
            return _respond(
                status,
                f"{exc} Another request changed the account at the same moment; try again.",
                {"streamId": exc.stream_id, "actual": exc.actual},
            )
        if status == 503 or isinstance(exc, StoreUnavailableError):
            _log.warning(
                "Store unavailable during %s %s: %s", request.method, request.url.path, exc
            )
            return _respond(
                503,
                f"The event store is unavailable: {exc}",
                {"retryAfter": int(RETRY_AFTER)},
                {"Retry-After": RETRY_AFTER},
            )
        _log.error("Store failure during %s %s: %s", request.method, request.url.path, exc)
        return _respond(status, str(exc))

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = [_describe(error) for error in exc.errors()]
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "invalid request"
        return _respond(400, summary, {"errors": errors})

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        message = exc.detail if isinstance(exc.detail, str) else "Request refused."
        return _respond(exc.status_code, message, None, exc.headers)

    async def unexpected(request: Request, exc: Exception) -> Response:
        _log.exception("Internal error during %s %s", request.method, request.url.path)
        return _respond(500, "Internal error; the request may not have been applied.")

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(DomainError, domain_error)
    app.add_exception_handler(ApprovalRequired, approval_required)
    app.add_exception_handler(EventStoreError, store_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)


def _describe(error: Mapping[str, Any]) -> dict[str, str]:
    """One pydantic/FastAPI error as {field, message}, the field named as the client sent it."""
    loc = [str(part) for part in error.get("loc", ()) if part not in ("body",)]
    where = loc[0] if loc and loc[0] in ("query", "header", "path") else None
    parts = loc[1:] if where else loc
    field = ".".join(parts) or "body"
    message = str(error.get("msg", "is invalid"))
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    return {"field": field, "message": message, **({"in": where} if where else {})}
