"""A real uvicorn server on 127.0.0.1 (a free port), in a thread, over a store of the test's."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import uvicorn
from fastapi import FastAPI

from bank_desktop.eventstore import EventStore, open_store
from bank_desktop.http import ServeSettings, create_app
from bank_desktop.http.server import listen, server_config

TOKEN = "test-projection-token-0123456789"
_encoder = msgspec.json.Encoder(decimal_format="number")
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class Server:
    url: str
    app: FastAPI
    store: EventStore
    client: httpx.Client

    def post(self, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        """POST ``body``: bytes as they are, anything else as JSON (Decimals as numbers);
        ``Content-Type: application/json`` unless the caller says otherwise."""
        return self._send("POST", path, body, **kwargs)

    def patch(self, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        """PATCH ``body``, sent as :meth:`post` sends it."""
        return self._send("PATCH", path, body, **kwargs)

    def _send(self, method: str, path: str, body: Any, **kwargs: Any) -> httpx.Response:
        kwargs["headers"] = {"Content-Type": "application/json", **kwargs.pop("headers", {})}
        if body is not None and not isinstance(body, (bytes, str)):
            body = _encoder.encode(body)
        if body is not None:
            kwargs["content"] = body
        return self.client.request(method, path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(path, **kwargs)


class ThreadedServer:
    """uvicorn.Server on a thread, configured as ``serve`` configures it (``timeouts``: its
    deadlines for slow clients); stopped like SIGTERM stops it (should_exit)."""

    def __init__(self, app: FastAPI, **timeouts: float) -> None:
        self.sock = listen("127.0.0.1", 0)
        self.port = self.sock.getsockname()[1]
        config = server_config(app, **timeouts)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(20)
        self.sock.close()


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    running: list[tuple[ThreadedServer, Server]] = []

    def make(store: EventStore | None = None, **options: Any) -> Server:
        store = store or open_store("memory://")
        options.setdefault("clerk_id", "api-clerk")
        # The seed's own tests run in its tutorial mode, without client tokens;
        # tests/http/test_auth.py runs the API as it runs by default, with them.
        options.setdefault("open", True)
        options.setdefault("projection_token", TOKEN)
        options.setdefault("idle_wait", 0.05)
        app = create_app(store, ServeSettings(**options))
        threaded = ThreadedServer(app)
        threaded.start()
        url = f"http://127.0.0.1:{threaded.port}"
        server = Server(url, app, store, httpx.Client(base_url=url, timeout=30))
        running.append((threaded, server))
        return server

    yield make
    for threaded, server in running:
        server.client.close()
        threaded.stop()
        server.store.close()


@pytest.fixture
def server(make_server: Callable[..., Server]) -> Server:
    return make_server()
