"""Deadlines for slow clients: a request's head and body must arrive in time.

uvicorn times out only an idle keep-alive connection, and only after a first response: a client
that opens connections and sends a request head one byte at a time ("slow loris"), or a body
that never ends, holds each connection, and its memory and file descriptor, for as long as it
likes. Here every request gets a deadline for its head and another for its body, measured from
the moment each began and not reset by a trickle of bytes; past it the connection is closed.
The time the API takes to answer is not limited here: that is the application's business.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Final

from uvicorn.protocols.http.h11_impl import H11Protocol, RequestResponseCycle
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_log = logging.getLogger("bank_desktop.http")

#: Seconds a client may take to send a request's head (request line and headers).
HEADER_TIMEOUT: Final = 10.0
#: Seconds a client may take to send a request's body, once its head has arrived.
BODY_TIMEOUT: Final = 30.0


class DeadlineH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with a deadline for each request's head and body."""

    header_timeout: float = HEADER_TIMEOUT
    body_timeout: float = BODY_TIMEOUT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._watched_cycle: object | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        self._arm(self.header_timeout, "head")

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        super().handle_events()
        cycle: RequestResponseCycle | None = self.cycle  # None until a first request
        if cycle is None:
            return
        if cycle is not self._watched_cycle:  # the head of a new request has arrived
            self._watched_cycle = cycle
            if cycle.more_body:
                self._arm(self.body_timeout, "body")
            else:
                self._disarm()
        elif not cycle.more_body:  # its body is complete
            self._disarm()

    def on_response_complete(self) -> None:
        self._arm(self.header_timeout, "head")  # for the next request on this connection
        super().on_response_complete()

    def _arm(self, seconds: float, part: str) -> None:
        self._disarm()
        if not self.transport.is_closing():
            self._deadline = self.loop.call_later(seconds, self._expired, seconds, part)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self, seconds: float, part: str) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        _log.info(
            "Closed a connection from %s: the request's %s did not arrive within %g s",
            self.client[0] if self.client else "?",
            part,
            seconds,
        )
        if part == "head" and self._watched_cycle is None:
            # Nothing was answered on this connection yet: say why it is being closed.
            self.transport.write(
                b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
        self.transport.close()


class DeadlineHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol (a C parser: about half the server's CPU per request of
    h11's) with the same deadlines for each request's head and body."""

    header_timeout: float = HEADER_TIMEOUT
    body_timeout: float = BODY_TIMEOUT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._heads = 0  #: request heads received on this connection

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        self._arm(self.header_timeout, "head")

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._heads += 1
        self._arm(self.body_timeout, "body")  # disarmed by the end of the body (at once if none)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()  # may start a pipelined request already received
        if self.cycle.response_complete:
            self._arm(self.header_timeout, "head")  # for the next request on this connection

    def _arm(self, seconds: float, part: str) -> None:
        self._disarm()
        if not self.transport.is_closing():
            self._deadline = self.loop.call_later(seconds, self._expired, seconds, part)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self, seconds: float, part: str) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        _log.info(
            "Closed a connection from %s: the request's %s did not arrive within %g s",
            self.client[0] if self.client else "?",
            part,
            seconds,
        )
        if part == "head" and not self._heads:
            # Nothing was asked on this connection yet: say why it is being closed.
            self.transport.write(
                b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
        self.transport.close()


def deadline_protocol(
    header_timeout: float, body_timeout: float, *, parser: str = "httptools"
) -> type[DeadlineHttpToolsProtocol] | type[DeadlineH11Protocol]:
    """The protocol class with these deadlines (uvicorn takes a class, not an instance), on
    httptools (the default: the faster parser) or h11."""
    base: type[DeadlineHttpToolsProtocol] | type[DeadlineH11Protocol] = (
        DeadlineH11Protocol if parser == "h11" else DeadlineHttpToolsProtocol
    )
    return type(
        base.__name__,
        (base,),
        {"header_timeout": header_timeout, "body_timeout": body_timeout},
    )
