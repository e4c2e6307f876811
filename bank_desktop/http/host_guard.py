"""Only requests that name this server, from no other web page: the defence against DNS rebinding.

A web page the clerk happens to open can make the browser send requests to ``127.0.0.1:3001``
under a name of its own (it re-points its DNS name at this machine): the browser then treats
the API as the page's own origin. Such requests say ``Host: evil.example:3001``, so the Host
must be one this server is known by (loopback names, plus what the operator allows). A request
a browser sends for a page of another origin carries ``Origin``; unless that is this server
itself (its own ``/docs`` page), it is refused. No response grants CORS.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Iterable
from typing import Any, Final
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from bank_desktop.http.errors import error_body
from bank_desktop.http.wire import ExactJSONResponse

#: Names of this machine every local server answers to.
LOOPBACK_NAMES: Final = ("localhost", "127.0.0.1", "::1")
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


def host_name(authority: str) -> tuple[str, int | None] | None:
    """``name[:port]`` or ``[v6][:port]`` as (lower-case name, port); None when malformed."""
    text = authority.strip().lower()
    port_text = ""
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            return None
        name, rest = text[1:end], text[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                return None
            port_text = rest[1:]
    else:
        name, _, port_text = text.partition(":")
    if not name or (port_text and not port_text.isdigit()):
        return None
    port = int(port_text) if port_text else None
    if port is not None and not 0 < port < 65536:
        return None
    return name.rstrip("."), port


def normalised_hosts(names: Iterable[str]) -> frozenset[str]:
    """Host names as :func:`host_name` gives them (brackets, case and ports dropped)."""
    found = set()
    for name in names:
        parsed = host_name(name if not _is_bare_ipv6(name) else f"[{name}]")
        if parsed is not None:
            found.add(parsed[0])
    return frozenset(found)


def _is_bare_ipv6(name: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(name.strip()), ipaddress.IPv6Address)
    except ValueError:
        return False


class HostGuard:
    """Pure ASGI middleware: 400 for a Host not allowed, 403 for a request from another origin."""

    def __init__(self, app: ASGIApp, allowed_hosts: Collection[str] = LOOPBACK_NAMES) -> None:
        self.app = app
        self.allowed = normalised_hosts(allowed_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host = _header(scope, b"host")
        named = host_name(host) if host is not None else None
        if named is None or named[0] not in self.allowed:
            shown = "none" if host is None else repr(host[:100])
            await _refuse(
                scope,
                receive,
                send,
                400,
                f"Host {shown} is not a name this server answers to; use "
                f"{', '.join(sorted(self.allowed))}.",
                details={"host": host, "allowedHosts": sorted(self.allowed)},
            )
            return
        origin = _header(scope, b"origin")
        if origin is not None and not _same_origin(origin, str(scope.get("scheme", "http")), named):
            await _refuse(
                scope,
                receive,
                send,
                403,
                f"Requests from another origin ({origin[:100]!r}) are not allowed: this API "
                "serves programs, not other web pages.",
                details={"origin": origin},
            )
            return
        await self.app(scope, receive, send)


def _same_origin(origin: str, scheme: str, host: tuple[str, int | None]) -> bool:
    """``origin`` is this very server: same scheme, name and port as the request's Host."""
    parts = urlsplit(origin.strip().lower())
    if parts.scheme != scheme or parts.path or parts.query or parts.fragment:
        return False
    named = host_name(parts.netloc)
    if named is None:
        return False
    default = _DEFAULT_PORTS.get(scheme)
    return named[0] == host[0] and (named[1] or default) == (host[1] or default)


def _header(scope: Scope, name: bytes) -> str | None:
    headers: Any = scope.get("headers", ())
    for key, value in headers:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


async def _refuse(
    scope: Scope, receive: Receive, send: Send, status: int, message: str, *, details: Any
) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    response = ExactJSONResponse(error_body(message, details), status)
    await response(scope, receive, send)
