"""Who is asking: every request but the webhook's carries a clerk's API token (DESIGN §10).

``Authorization: Bearer <token>`` on every endpoint, reads included; a missing, malformed,
unknown or revoked token is 401. The token is looked up in the store on each request (the
staff register's new events first), so a token issued a moment ago by ``bank-desktop staff
token`` in another process works at once and a revoked one stops at once. The token's clerk
is who acted: an ``X-Clerk-Id`` naming anyone else is 403. The webhook has its own token
(``PROJECTION_AUTH_TOKEN``) and is left to its route.

Tokens are never logged: the access log shows the clerk the token belongs to.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from typing import Any, Final

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from bank_desktop.eventstore.errors import EventStoreError
from bank_desktop.http.errors import RETRY_AFTER, error_body
from bank_desktop.http.wire import ExactJSONResponse

#: Where the authenticated clerk is kept in the ASGI scope for the routes and the access log.
CLERK_SCOPE_KEY: Final = "bank_desktop.clerk"
_CHALLENGE: Final = {"WWW-Authenticate": 'Bearer realm="bank-desktop"'}
_ADVICE: Final = (
    "send 'Authorization: Bearer <token>' with a clerk's API token (an admin issues one with "
    "`bank-desktop staff token CLERK`)."
)


def authenticated_clerk(scope: Scope) -> str | None:
    """The clerk :class:`ClerkAuth` found for this request (None in open mode)."""
    clerk = scope.get(CLERK_SCOPE_KEY)
    return clerk if isinstance(clerk, str) else None


class ClerkAuth:
    """Pure ASGI middleware: a clerk's valid token on every request but to ``exempt`` paths."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        authenticate: Callable[[str], str | None],
        exempt: Collection[str] = (),
        blocking: Callable[[Callable[[], str | None]], Awaitable[str | None]] | None = None,
    ) -> None:
        """``blocking`` runs ``authenticate`` off the event loop (it reads the store):
        ``ApiContext.blocking``, the command threads, by default anyio's thread pool."""
        self.app = app
        self._authenticate = authenticate
        self._exempt = frozenset(exempt)
        self._blocking = blocking

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self._exempt:
            await self.app(scope, receive, send)
            return
        token = _bearer(_header(scope, b"authorization"))
        if token is None:
            await _answer(scope, receive, send, 401, f"Unauthorized: {_ADVICE}", headers=_CHALLENGE)
            return
        try:
            if self._blocking is None:
                clerk = await run_in_threadpool(self._authenticate, token)
            else:
                clerk = await self._blocking(lambda: self._authenticate(token))
        except EventStoreError as exc:
            await _answer(
                scope,
                receive,
                send,
                503,
                f"The event store is unavailable, so the token cannot be checked: {exc}",
                headers={"Retry-After": RETRY_AFTER},
            )
            return
        if clerk is None:
            await _answer(
                scope,
                receive,
                send,
                401,
                f"Unauthorized: the token is not a clerk's current API token; {_ADVICE}",
                headers=_CHALLENGE,
            )
            return
        claimed = _header(scope, b"x-clerk-id")
        if claimed is not None and claimed.strip() != clerk:
            await _answer(
                scope,
                receive,
                send,
                403,
                f"X-Clerk-Id names {claimed.strip()[:64]!r}, but the token is {clerk}'s: a "
                "request is recorded for the clerk its token belongs to.",
                headers={},
            )
            return
        scope[CLERK_SCOPE_KEY] = clerk
        await self.app(scope, receive, send)


def _bearer(header: str | None) -> str | None:
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 200:
        return None
    return token


def _header(scope: Scope, name: bytes) -> str | None:
    headers: Any = scope.get("headers", ())
    for key, value in headers:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


async def _answer(
    scope: Scope,
    receive: Receive,
    send: Send,
    status: int,
    message: str,
    *,
    headers: dict[str, str],
) -> None:
    response = ExactJSONResponse(error_body(message), status, headers=headers)
    await response(scope, receive, send)
