"""Faults the test DeltaBase can be told to commit, and the plumbing to commit them."""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send


@dataclass
class Fault:
    """One injected misbehaviour for requests to ``route`` (``*``: any), ``times`` times.

    kinds: ``status`` (answer ``status`` before doing anything), ``delay`` (wait ``seconds``,
    then work normally), ``status_after_write`` (do the work, then answer ``status``),
    ``hold_after_write`` (do the work, then answer only when released: the client times out),
    ``drop_after_write`` (do the work, then cut the connection mid-answer), ``drop_before``
    (cut the connection without doing anything), ``malformed`` (do the work, answer non-JSON),
    ``missing_field`` (do the work, answer events without ``field``), ``ws_refuse`` (refuse the
    WebSocket upgrade with ``status``), ``ws_drop_after`` (close the WebSocket after ``frames``
    frames). Gates order requests across connections: ``late_write`` waits for gate ``gate``,
    works, then opens ``gate + "-done"``; ``release`` opens ``gate`` and waits for
    ``gate + "-done"`` before working (so the late request lands first).
    """

    route: str
    kind: str
    status: int = 500
    seconds: float = 0.0
    times: int = 1
    field: str = "globalPosition"
    retry_after: str | None = None
    body: Any = None
    gate: str = ""
    frames: int = 0
    hits: int = 0


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[Fault] = []
        self.released = threading.Event()
        self.requests: dict[str, int] = {}
        self.gates: dict[str, threading.Event] = {}

    def gate(self, name: str) -> threading.Event:
        with self._lock:
            return self.gates.setdefault(name, threading.Event())

    async def wait_gate(self, name: str) -> None:
        gate = self.gate(name)
        await asyncio.get_running_loop().run_in_executor(None, gate.wait, 30.0)

    def add(self, route: str, kind: str, **options: Any) -> Fault:
        fault = Fault(route, kind, **options)
        with self._lock:
            self._rules.append(fault)
        return fault

    def take(self, route: str) -> Fault | None:
        with self._lock:
            self.requests[route] = self.requests.get(route, 0) + 1
            for fault in self._rules:
                if fault.route in (route, "*") and fault.times > 0:
                    fault.times -= 1
                    fault.hits += 1
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self.requests.clear()
            gates, self.gates = list(self.gates.values()), {}
        for gate in gates:
            gate.set()
        self.released.set()
        self.released = threading.Event()

    def release(self) -> None:
        self.released.set()


class Dropped(Exception):
    """Raised inside a response to make the server cut the connection."""


class DropResponse(Response):
    def __init__(self, started: bool) -> None:
        super().__init__()
        self._started = started

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._started:
            await send(
                {
                    "type": "http.response.start",
                    "status": 201,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", b"999"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b'{"success": tr', "more_body": True})
        raise Dropped


class _QuietDrops(logging.Filter):
    """Keeps uvicorn from logging the faults we cause on purpose as errors."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], Dropped):
            return False
        # uvicorn's sans-io WebSocket says this after every (correct) denial response
        return "returned without completing handshake" not in record.getMessage()


logging.getLogger("uvicorn.error").addFilter(_QuietDrops())
