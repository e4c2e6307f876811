"""Who is asking: every request but the webhook's carries a clerk's API token (DESIGN §10).

``Authorization: Bearer <token>`` on every endpoint, reads included; a missing, malformed,
unknown or revoked token is 401. The token is looked up in the store on each request (the
staff register's new events first), so a token issued a moment ago by ``bank-desktop staff
token`` in another process works at once and a revoked one stops at once. The token's clerk
is who acted: an ``X-Clerk-Id`` naming anyone else is 403. The webhook has its own token
(``PROJECTION_AUTH_TOKEN``) and is left to its route.

Tokens are never logged: the access log shows the clerk the token belongs to.

One thread hop for a command: on the paths ``deferrable`` names (deposits and withdrawals,
whose handlers run the command through ``ApiContext.run``), a token this server has already
verified is not looked up here; the lookup is owed (:data:`owed_token_check`) and made on the
command's thread right before the command, so a token revoked meanwhile still writes nothing
(401). A refusal decided before the command (a malformed body: 422) is then answered without
the lookup, and the access log names the token's last known clerk.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from contextvars import ContextVar
from typing import Any, Final

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from bank_desktop.eventstore.errors import EventStoreError
from bank_desktop.http.errors import RETRY_AFTER, ApiError, error_body
from bank_desktop.http.wire import ExactJSONResponse

#: Where the authenticated clerk is kept in the ASGI scope for the routes and the access log.
CLERK_SCOPE_KEY: Final = "bank_desktop.clerk"
_CHALLENGE: Final = {"WWW-Authenticate": 'Bearer realm="bank-desktop"'}
_ADVICE: Final = (
    "send 'Authorization: Bearer <token>' with a clerk's API token (an admin issues one with "
    "`bank-desktop staff token CLERK`)."
)
_NOT_CURRENT: Final = f"Unauthorized: the token is not a clerk's current API token; {_ADVICE}"
#: Verified tokens remembered (token → clerk) to defer their next lookup; forgotten all at
#: once when full (a token is 60-odd characters).
_KNOWN_MAX: Final = 1024

#: The token lookup a deferred request still owes: ``ApiContext.run`` calls it on the
#: command's thread before the command (it raises ApiError 401 if the token is no longer
#: current). Set by :class:`ClerkAuth` for the request's task only.
owed_token_check: ContextVar[Callable[[], None] | None] = ContextVar(
    "bank_desktop_owed_token_check", default=None
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
        deferrable: Callable[[Scope], bool] | None = None,
    ) -> None:
        """``blocking`` runs ``authenticate`` off the event loop (it reads the store):
        ``ApiContext.blocking``, the command threads, by default anyio's thread pool.
        ``deferrable`` names the requests whose handlers settle :data:`owed_token_check`."""
        self.app = app
        self._authenticate = authenticate
        self._exempt = frozenset(exempt)
        self._blocking = blocking
        self._deferrable = deferrable
        self._known: dict[str, str] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self._exempt:
            await self.app(scope, receive, send)
            return
        token = _bearer(_header(scope, b"authorization"))
        if token is None:
            await _answer(scope, receive, send, 401, f"Unauthorized: {_ADVICE}", headers=_CHALLENGE)
            return
        known = self._known.get(token)
        if known is not None and self._deferrable is not None and self._deferrable(scope):
            if await self._refused_claim(scope, receive, send, known):
                return
            scope[CLERK_SCOPE_KEY] = known
            owed = owed_token_check.set(lambda: self._recheck(token, known))
            try:
                await self.app(scope, receive, send)
            finally:
                owed_token_check.reset(owed)
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
            self._known.pop(token, None)
            await _answer(scope, receive, send, 401, _NOT_CURRENT, headers=_CHALLENGE)
            return
        if self._deferrable is not None:
            if len(self._known) >= _KNOWN_MAX:
                self._known.clear()
            self._known[token] = clerk
        if await self._refused_claim(scope, receive, send, clerk):
            return
        scope[CLERK_SCOPE_KEY] = clerk
        await self.app(scope, receive, send)

    async def _refused_claim(self, scope: Scope, receive: Receive, send: Send, clerk: str) -> bool:
        """Answer 403 (and say so) when ``X-Clerk-Id`` names someone other than ``clerk``."""
        claimed = _header(scope, b"x-clerk-id")
        if claimed is None or claimed.strip() == clerk:
            return False
        await _answer(
            scope,
            receive,
            send,
            403,
            f"X-Clerk-Id names {claimed.strip()[:64]!r}, but the token is {clerk}'s: a "
            "request is recorded for the clerk its token belongs to.",
            headers={},
        )
        return True

    def _recheck(self, token: str, clerk: str) -> None:
        """The owed lookup (blocking, on the command's thread): ApiError 401 unless the token
        is still ``clerk``'s current one."""
        if self._authenticate(token) != clerk:
            self._known.pop(token, None)
            raise ApiError(401, _NOT_CURRENT, headers=_CHALLENGE)


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
