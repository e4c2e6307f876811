"""Serving ASGI apps on 127.0.0.1 from a thread, and a webhook receiver that records posts.

The listening socket is bound before the server thread starts, so clients can connect at once:
the kernel queues them until uvicorn accepts. Nothing here waits on a timer.
"""

from __future__ import annotations

import socket
import threading
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bank_desktop.eventstore.exact_json import decode_json


class ServedApp:
    """An ASGI app served by uvicorn on a thread; ``url`` is ``http://127.0.0.1:PORT``."""

    def __init__(self, app: Any, *, port: int = 0) -> None:
        # proto=IPPROTO_TCP, or asyncio does not set TCP_NODELAY on accepted connections and
        # every response waits 40 ms for a delayed ACK.
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", port))
        self._socket.listen(128)
        self.port = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app,
            log_config=None,
            log_level="warning",
            access_log=False,
            ws="websockets-sansio",
            lifespan="off",
            timeout_graceful_shutdown=1,
            ws_ping_interval=None,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self._socket.close()


class WebhookReceiver:
    """Records webhook posts (headers and decoded body); can fail the first ``fail_first``."""

    def __init__(self, *, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.posts: list[tuple[dict[str, str], Any]] = []
        self.failed = 0
        self._changed = threading.Condition()
        self.app = Starlette(routes=[Route("/{path:path}", self._receive, methods=["POST"])])

    async def _receive(self, request: Request) -> JSONResponse:
        body = decode_json(await request.body())
        with self._changed:
            if self.failed < self.fail_first:
                self.failed += 1
                return JSONResponse({"error": "try later"}, 500)
            self.posts.append((dict(request.headers), body))
            self._changed.notify_all()
        events = body.get("events", []) if isinstance(body, dict) else []
        return JSONResponse({"success": True, "processedEventCount": len(events)})

    def events(self) -> list[dict[str, Any]]:
        with self._changed:
            return [e for _, body in self.posts for e in body["events"]]

    def wait_for_events(self, count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        with self._changed:
            assert self._changed.wait_for(
                lambda: sum(len(b["events"]) for _, b in self.posts) >= count, timeout
            ), f"webhook got {len(self.posts)} posts, wanted {count} events"
        return self.events()
