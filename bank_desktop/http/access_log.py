"""One log line per request, without secrets: no headers, no bodies, no query values, never a
token (the clerk a token belongs to, or in open mode the one ``X-Clerk-Id`` names).

``POST /accounts/account-x/deposit 200 12.3 ms clerk=clerk-7 req=5f2c…``. The request id is
also returned as ``X-Request-Id`` so a clerk's report can be found in the log.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bank_desktop.http.clerk_auth import authenticated_clerk

_log = logging.getLogger("bank_desktop.http.access")


class AccessLog:
    """Pure ASGI middleware (streams untouched, no per-request task)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = os.urandom(6).hex()
        started = time.perf_counter()
        status = 0

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            query = " ?…" if scope.get("query_string") else ""
            clerk = authenticated_clerk(scope) or _header(scope, b"x-clerk-id")
            _log.info(
                "%s %s%s %s %.1f ms%s req=%s",
                scope.get("method"),
                _printable(str(scope.get("path", ""))),
                query,
                status or "-",
                elapsed,
                f" clerk={clerk}" if clerk else "",
                request_id,
            )


def _printable(text: str, limit: int = 300) -> str:
    """Control characters escaped, so a crafted path cannot forge log lines."""
    shown = text if text.isprintable() else text.encode("unicode_escape").decode("ascii")
    return shown if len(shown) <= limit else shown[:limit] + "…"


def _header(scope: Scope, name: bytes) -> str | None:
    headers: Any = scope.get("headers", ())
    for key, value in headers:
        if key == name:
            text = bytes(value).decode("latin-1")
            return text if text.isprintable() and len(text) <= 64 else "?"
    return None
