"""A DeltaBase for tests, built from ``../shared/deltabase-api.md`` and nothing else.

REST routes of §3/§7/§8 (append, read a stream, query events, event stores, subscriptions),
the WebSocket feed of §7.3 and webhook delivery of §7.2 (``{"events": [...]}``), with
DeltaBase's envelopes (0-based ``streamPosition``, server-assigned ``eventId``) and error bodies
``{"error", "message", "details"}``. Events live in a :class:`MemoryEventStore` per event store,
which tests may read directly to check that nothing was lost or doubled.

Where the document leaves a choice open, the server makes the one the adapter's settings
default to, and a switch selects the alternative (auth header, ``/api`` prefix, append path,
version counting, inclusive ``fromPosition``, WebSocket frame shape). :class:`Faults` injects
errors, delays, a timeout after the write, dropped connections and malformed bodies.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import re
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Scope
from starlette.websockets import WebSocket, WebSocketDisconnect

from bank_desktop.eventstore import ANY, NO_STREAM, STREAM_EXISTS, ConcurrencyError, NewEvent
from bank_desktop.eventstore.memory import MemoryEventStore
from bank_desktop.eventstore.port import ExpectedPosition, RecordedEvent
from tests.deltabase.faults import DropResponse, Fault, Faults
from tests.deltabase.webhooks import WebhookDelivery

_encoder = msgspec.json.Encoder(decimal_format="number")
_decoder = msgspec.json.Decoder(float_hook=Decimal)
STORE_NAME = re.compile(r"^[a-z0-9_-]{3,63}$")
MAX_LIMIT = 1000
DEFAULT_LIMIT = 100


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None):
    return Response(_encoder.encode(body), status, headers, media_type="application/json")


def error(status: int, kind: str, message: str, details: Any = None, **headers: str) -> Response:
    body: dict[str, Any] = {"error": kind, "message": message}
    if details is not None:
        body["details"] = details
    return json_response(body, status, headers or None)


def now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


# ── state ─────────────────────────────────────────────────────────────────────────────────


@dataclass
class EventStoreState:
    name: str
    description: str | None
    settings: dict[str, Any] | None
    created: str
    events: MemoryEventStore = field(default_factory=MemoryEventStore)
    extras: dict[int, tuple[str, str]] = field(default_factory=dict)
    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    transactions: int = 0

    def info(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "eventStoreId": f"org_test:{self.name}",
            "eventStoreName": self.name,
            "eventStoreDurableObjectID": f"do_{self.name}",
            "eventBusDurableObjectID": f"bus_{self.name}",
            "created": self.created,
        }
        if self.description is not None:
            body["description"] = self.description
        if self.settings is not None:
            body["settings"] = self.settings
        return body


@dataclass
class _WsConnection:
    websocket: WebSocket
    queue: asyncio.Queue[Any]
    event_filter: Any = None
    subscribed: bool = False
    sent: int = 0
    drop_after: int | None = None


_DROP = object()


def filter_matches(event_filter: Any, event_type: str) -> bool:
    """DeltaBase's ``eventFilter``: ``*``, ``ns.*``, ``*.suffix``, an exact type, or a list."""
    if event_filter is None:
        return True
    if isinstance(event_filter, list):
        return any(filter_matches(item, event_type) for item in event_filter)
    if not isinstance(event_filter, str):
        return False
    if event_filter == "*":
        return True
    if event_filter.endswith(".*"):
        return event_type.startswith(event_filter[:-1])
    if event_filter.startswith("*."):
        return event_type.endswith(event_filter[1:])
    return event_filter == event_type


class FakeDeltaBase:
    """The server's state, switches and ASGI app (serve it with ``tests.deltabase.threaded``)."""

    def __init__(
        self,
        *,
        api_key: str | None = "db_test_key",
        auth: str = "x-api-key",  # or "bearer", or "either"
        prefix: str = "/api",
        append_paths: Iterable[str] = ("stream",),  # "stream" and/or "events"
        ws_paths: Iterable[str] = (
            "/event-stores/{name}/events/ws",
            "/api/event-stores/{name}/events/ws",
        ),
        ws_style: str = "wrapped",  # "bare", "batch", "notify"
        ws_ack: bool = True,
        version_mode: str = "count",  # or "last_position"
        stream_position_base: int = 0,
        from_inclusive: bool = True,
        max_limit: int = MAX_LIMIT,
        keep_client_event_id: bool = False,
        list_shows_headers: bool = True,
        webhook_seconds_per_minute: float = 0.01,
    ) -> None:
        self.api_key = api_key
        self.auth = auth
        self.prefix = [s for s in prefix.split("/") if s]
        self.append_paths = set(append_paths)
        self.ws_paths = tuple(ws_paths)
        self.ws_style = ws_style
        self.ws_ack = ws_ack
        self.version_mode = version_mode
        self.base = stream_position_base
        self.from_inclusive = from_inclusive
        self.max_limit = max_limit
        self.keep_client_event_id = keep_client_event_id
        self.list_shows_headers = list_shows_headers
        self.forbidden = False
        self.faults = Faults()
        self.stores: dict[str, EventStoreState] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self._sockets: list[_WsConnection] = []
        self._changed = threading.Condition()
        self.ws_connections = 0  # accepted WebSocket connections, ever
        self.ws_subscriptions = 0
        self.webhooks = WebhookDelivery(seconds_per_minute=webhook_seconds_per_minute)
        self.app = Starlette(
            routes=[
                Route(
                    "/{path:path}", self._http, methods=["GET", "POST", "PATCH", "DELETE", "PUT"]
                ),
                WebSocketRoute("/{path:path}", self._websocket),
            ]
        )

    # ── helpers for tests ─────────────────────────────────────────────────────────────────

    def create_store(self, name: str, description: str | None = None) -> MemoryEventStore:
        state = EventStoreState(name, description, None, now_text())
        self.stores[name] = state
        return state.events

    def store(self, name: str) -> MemoryEventStore:
        return self.stores[name].events

    def drop_websockets(self) -> int:
        """Cut every live WebSocket (the server side closes them with 1012)."""
        assert self.loop is not None
        dropping = list(self._sockets)
        for connection in dropping:
            self.loop.call_soon_threadsafe(connection.queue.put_nowait, _DROP)
        return len(dropping)

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 20.0) -> None:
        with self._changed:
            assert self._changed.wait_for(predicate, timeout), "server condition not reached"

    def live_subscribers(self) -> int:
        return sum(1 for c in self._sockets if c.subscribed)

    # ── versions and envelopes ────────────────────────────────────────────────────────────

    def version(self, count: int) -> int:
        if self.version_mode == "count":
            return count
        return count - 1 + self.base

    def expectation(self, raw: Any) -> ExpectedPosition | None:
        if raw is None or raw == "any":
            return ANY
        if raw == "no_stream":
            return NO_STREAM
        if raw == "stream_exists":
            return STREAM_EXISTS
        if isinstance(raw, int) and not isinstance(raw, bool):
            position = raw if self.version_mode == "count" else raw - self.base + 1
            return position if position >= 0 else NO_STREAM
        return None

    def envelope(self, state: EventStoreState, event: RecordedEvent) -> dict[str, Any]:
        schema, transaction = state.extras.get(event.global_position, ("1.0.0", "tx_0"))
        return {
            "streamId": event.stream_id,
            "streamPosition": event.stream_position - 1 + self.base,
            "globalPosition": event.global_position,
            "eventId": event.event_id,
            "type": event.type,
            "data": event.data,
            "metadata": dict(event.metadata),
            "schemaVersion": schema,
            "transactionId": transaction,
            "createdAt": event.created_at.isoformat(timespec="microseconds").replace("+00:00", "Z"),
        }

    # ── HTTP ──────────────────────────────────────────────────────────────────────────────

    def _authorised(self, headers: Any, query: Any) -> bool:
        if self.api_key is None:
            return True
        given: list[str] = []
        if self.auth in ("x-api-key", "either") and headers.get("x-api-key"):
            given.append(headers["x-api-key"])
        authorization = headers.get("authorization", "")
        if self.auth in ("bearer", "either") and authorization.startswith("Bearer "):
            given.append(authorization[7:])
        if query is not None:
            given.extend(v for k in ("apiKey", "authToken") if (v := query.get(k)))
        return any(hmac.compare_digest(g.encode(), self.api_key.encode()) for g in given)

    def _segments(self, scope: Scope) -> list[str] | None:
        raw = scope.get("raw_path") or scope["path"].encode()
        text = raw.decode("ascii", "replace").split("?", 1)[0]
        segments = [unquote(s) for s in text.split("/")[1:]]
        if segments and segments[-1] == "":
            segments.pop()
        if segments[: len(self.prefix)] != self.prefix:
            return None
        return segments[len(self.prefix) :]

    async def _http(self, request: Request) -> Response:
        self.loop = asyncio.get_running_loop()
        segments = self._segments(request.scope)
        route, handler, args = self._route(request.method, segments)
        if handler is None:
            return error(404, "NOT_FOUND", f"No route {request.method} {request.url.path}")
        if not self._authorised(request.headers, None):
            return error(401, "UNAUTHORIZED", "Invalid or missing API key")
        if self.forbidden:
            return error(403, "FORBIDDEN", "Insufficient permissions")
        fault = self.faults.take(route)
        if fault is not None:
            early = await self._fault_before(fault, route, args)
            if early is not None:
                return early
        raw = await request.body()
        try:
            payload = _decoder.decode(raw) if raw else None
        except msgspec.DecodeError:
            return error(400, "VALIDATION_ERROR", "Body is not valid JSON")
        if fault is not None and fault.kind == "late_write":
            await self.faults.wait_gate(fault.gate)
        if fault is not None and fault.kind == "release":
            self.faults.gate(fault.gate).set()
            await self.faults.wait_gate(fault.gate + "-done")
        response = handler(request, payload, *args)
        if fault is not None:
            return await self._fault_after(fault, response)
        return response

    async def _fault_before(
        self, fault: Fault, route: str, args: tuple[Any, ...]
    ) -> Response | None:
        if fault.kind == "status":
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            if fault.status == 409 and fault.body is None and route == "append":
                state = self.stores.get(args[0])
                count = state.events.stream_position(args[1]) if state else 0
                return error(
                    409,
                    "STREAM_VERSION_CONFLICT",
                    "Stream version mismatch",
                    {"streamId": args[1], "currentVersion": self.version(count)},
                )
            if fault.body is not None:
                return json_response(fault.body, fault.status, headers)
            return error(fault.status, f"HTTP_{fault.status}", "Injected fault", **headers)
        if fault.kind == "delay":
            await asyncio.sleep(fault.seconds)
        if fault.kind == "drop_before":
            return DropResponse(started=False)
        return None

    async def _fault_after(self, fault: Fault, response: Response) -> Response:
        if fault.kind == "late_write":
            self.faults.gate(fault.gate + "-done").set()
        if fault.kind == "status_after_write":
            return error(fault.status, "INTERNAL_SERVER_ERROR", "Injected failure after write")
        if fault.kind == "hold_after_write":
            released = self.faults.released
            await asyncio.get_running_loop().run_in_executor(None, released.wait, 30.0)
            return response
        if fault.kind == "drop_after_write":
            return DropResponse(started=True)
        if fault.kind == "malformed":
            return Response(b"<html>upstream hiccup", response.status_code, media_type="text/html")
        if fault.kind == "missing_field":
            body = _decoder.decode(response.body)
            for item in body.get("events", []):
                item.pop(fault.field, None)
            return json_response(body, response.status_code)
        return response

    def _route(  # noqa: PLR0912 - one branch per documented route reads best
        self, method: str, s: list[str] | None
    ) -> tuple[str, Any, tuple[Any, ...]]:
        if not s or s[0] != "event-stores":
            return "", None, ()
        n = len(s)
        table: dict[tuple[str, int], tuple[str, Any]] = {
            ("GET", 1): ("list_stores", self._list_stores),
            ("POST", 1): ("create_store", self._create_store),
            ("GET", 2): ("get_store", self._get_store),
            ("DELETE", 2): ("delete_store", self._delete_store),
        }
        if (method, n) in table:
            route, handler = table[(method, n)]
            return route, handler, tuple(s[1:])
        if n < 3:
            return "", None, ()
        name, rest = s[1], s[2:]
        if rest == ["settings"] and method == "PATCH":
            return "update_store", self._update_store, (name,)
        if rest == ["events"] and method == "GET":
            return "query", self._store_scoped(self._query_events), (name,)
        if rest == ["streams"] and method == "GET":
            return "list_streams", self._store_scoped(self._list_streams), (name,)
        if rest == ["subscribe"] and method == "POST":
            return "subscribe", self._store_scoped(self._subscribe), (name,)
        if rest == ["subscriptions"] and method == "GET":
            return "list_subscriptions", self._store_scoped(self._list_subscriptions), (name,)
        if len(rest) == 2 and rest[0] == "subscriptions":
            if method == "GET":
                return (
                    "get_subscription",
                    self._store_scoped(self._get_subscription),
                    (name, rest[1]),
                )
            if method == "DELETE":
                return (
                    "delete_subscription",
                    self._store_scoped(self._delete_subscription),
                    (name, rest[1]),
                )
        if len(rest) == 2 and rest[0] == "streams":
            if method == "POST" and "stream" in self.append_paths:
                return "append", self._store_scoped(self._append), (name, rest[1])
            if method == "GET":
                return "read_stream", self._store_scoped(self._read_stream), (name, rest[1])
        if len(rest) == 3 and rest[0] == "streams" and rest[2] == "events":
            if method == "POST" and "events" in self.append_paths:
                return "append", self._store_scoped(self._append), (name, rest[1])
            if method == "GET":
                return "stream_events", self._store_scoped(self._stream_events), (name, rest[1])
        return "", None, ()

    def _store_scoped(self, handler: Callable[..., Response]) -> Callable[..., Response]:
        def scoped(request: Request, payload: Any, name: str, *rest: str) -> Response:
            state = self.stores.get(name)
            if state is None:
                return error(
                    404,
                    "EVENT_STORE_NOT_FOUND",
                    f"Event store '{name}' not found",
                    {"eventStoreName": name},
                )
            return handler(request, payload, state, *rest)

        return scoped

    # ── event stores ──────────────────────────────────────────────────────────────────────

    def _list_stores(self, request: Request, payload: Any) -> Response:
        stores = [s.info() for s in self.stores.values()]
        return json_response({"eventStores": stores, "totalCount": len(stores)})

    def _create_store(self, request: Request, payload: Any) -> Response:
        if not isinstance(payload, dict) or not isinstance(payload.get("name"), str):
            return error(400, "VALIDATION_ERROR", "name is required")
        name = payload["name"]
        if not STORE_NAME.match(name):
            return error(400, "VALIDATION_ERROR", "name must match ^[a-z0-9_-]{3,63}$")
        if name in self.stores:
            return error(409, "EVENT_STORE_ALREADY_EXISTS", f"Event store '{name}' already exists")
        state = EventStoreState(
            name, payload.get("description"), payload.get("settings"), now_text()
        )
        self.stores[name] = state
        return json_response(state.info(), 201)

    def _get_store(self, request: Request, payload: Any, name: str) -> Response:
        state = self.stores.get(name)
        if state is None:
            return error(404, "EVENT_STORE_NOT_FOUND", f"Event store '{name}' not found")
        info = state.info()
        info["statistics"] = {
            "totalStreams": len({e.stream_id for e in state.events.read_all(limit=10**9)}),
            "totalEvents": state.events.head_position(),
        }
        return json_response(info)

    def _update_store(self, request: Request, payload: Any, name: str) -> Response:
        state = self.stores.get(name)
        if state is None:
            return error(404, "EVENT_STORE_NOT_FOUND", f"Event store '{name}' not found")
        if not isinstance(payload, dict) or not ({"description", "settings"} & payload.keys()):
            return error(400, "NO_UPDATES", "Nothing to update")
        if "description" in payload:
            state.description = payload["description"]
        if "settings" in payload:
            state.settings = payload["settings"]
        return json_response(state.info())

    def _delete_store(self, request: Request, payload: Any, name: str) -> Response:
        if request.query_params.get("confirm") != "true":
            return error(400, "CONFIRMATION_REQUIRED", "Pass confirm=true")
        if self.stores.pop(name, None) is None:
            return error(404, "EVENT_STORE_NOT_FOUND", f"Event store '{name}' not found")
        return json_response({"success": True, "message": "Event store deleted successfully"})

    # ── events ────────────────────────────────────────────────────────────────────────────

    def _append(self, request: Request, payload: Any, state: EventStoreState, stream_id: str):
        if not isinstance(payload, dict) or not isinstance(payload.get("events"), list):
            return error(400, "VALIDATION_ERROR", "events must be a list")
        items = payload["events"]
        if not items:
            return error(400, "VALIDATION_ERROR", "events must not be empty")
        options = payload.get("options") if isinstance(payload.get("options"), dict) else {}
        raw_expected = options.get("expectedStreamVersion", payload.get("expectedStreamVersion"))
        expected = self.expectation(raw_expected)
        if expected is None:
            return error(400, "VALIDATION_ERROR", "expectedStreamVersion is invalid")
        new_events, schemas = [], []
        for index, item in enumerate(items):
            if (
                not isinstance(item, dict)
                or not isinstance(item.get("type"), str)
                or not item["type"]
            ):
                return error(400, "VALIDATION_ERROR", f"events[{index}].type is required")
            if not isinstance(item.get("data"), dict):
                return error(400, "VALIDATION_ERROR", f"events[{index}].data must be an object")
            metadata = item.get("metadata") or {}
            if not isinstance(metadata, dict):
                return error(400, "VALIDATION_ERROR", f"events[{index}].metadata must be an object")
            event_id = f"evt_{uuid.uuid4().hex}"
            if self.keep_client_event_id and isinstance(item.get("eventId"), str):
                event_id = item["eventId"]
            new_events.append(NewEvent(item["type"], item["data"], metadata, event_id))
            schemas.append(str(item.get("schemaVersion") or "1.0.0"))
        before = state.events.stream_position(stream_id)
        try:
            result = state.events.append(stream_id, new_events, expected)
        except ConcurrencyError as exc:
            return error(
                409,
                "STREAM_VERSION_CONFLICT",
                "Stream version mismatch",
                {
                    "streamId": stream_id,
                    "expectedVersion": raw_expected,
                    "currentVersion": self.version(exc.actual),
                },
            )
        state.transactions += 1
        transaction = f"tx_{state.transactions}"
        for event, schema in zip(result.events, schemas, strict=True):
            state.extras[event.global_position] = (schema, transaction)
        envelopes = [self.envelope(state, e) for e in result.events]
        self._publish(state, envelopes)
        return json_response(
            {
                "success": True,
                "nextExpectedStreamVersion": self.version(result.stream_position),
                "eventsWritten": len(envelopes),
                "createdNewStream": before == 0,
                "events": envelopes,
            },
            201,
        )

    def _read_stream(self, request: Request, payload: Any, state: EventStoreState, stream_id: str):
        events = state.events.read_stream(stream_id)
        return json_response(
            {
                "events": [self.envelope(state, e) for e in events],
                "currentStreamVersion": self.version(len(events)) if events else 0,
            }
        )

    def _stream_events(self, request: Request, payload: Any, state: EventStoreState, stream_id):
        return self._page(request, state, state.events.read_stream(stream_id), "streamPosition")

    def _query_events(self, request: Request, payload: Any, state: EventStoreState) -> Response:
        query = request.query_params
        stream_id = query.get("streamId")
        if stream_id is not None:
            candidates = state.events.read_stream(stream_id)
        else:
            start = int(query.get("fromPosition") or 0)
            after = max(0, start - 1 if self.from_inclusive else start)
            offset, limit = self._paging(request)
            types = query.getlist("type") or None
            plain_order = (
                query.get("sortBy", "globalPosition") == "globalPosition"
                and query.get("sortDirection", "asc") == "asc"
            )
            if query.get("sortDirection") == "desc" and query.get("sortBy") == "globalPosition":
                head = state.events.head_position()
                newest = 0 if types else max(0, head - offset - limit)
                candidates = state.events.read_all(after=newest, limit=head + 1, types=types)
            elif plain_order:
                candidates = state.events.read_all(
                    after=after, limit=offset + limit + 1, types=types
                )
            else:
                candidates = state.events.read_all(after=after, limit=10**9, types=types)
        return self._page(request, state, candidates, "globalPosition")

    def _paging(self, request: Request) -> tuple[int, int]:
        query = request.query_params
        limit = min(int(query.get("limit") or DEFAULT_LIMIT), self.max_limit)
        return int(query.get("offset") or 0), max(1, limit)

    def _page(
        self,
        request: Request,
        state: EventStoreState,
        events: list[RecordedEvent],
        default_sort: str,
    ):
        query = request.query_params
        start = query.get("fromPosition")
        if start is not None:
            bound = int(start)
            events = [
                e for e in events if e.global_position >= bound + (0 if self.from_inclusive else 1)
            ]
        if query.get("toPosition") is not None:
            events = [e for e in events if e.global_position <= int(query["toPosition"])]
        types = query.getlist("type")
        if types:
            events = [e for e in events if e.type in types]
        for key, attribute in (("eventId", "event_id"), ("streamId", "stream_id")):
            if query.get(key) is not None:
                events = [e for e in events if getattr(e, attribute) == query[key]]
        sort_by = query.get("sortBy", default_sort)
        key = {"globalPosition": "global_position", "streamPosition": "stream_position"}.get(
            sort_by, "global_position"
        )
        events = sorted(
            events,
            key=lambda e: (
                (getattr(e, key), e.global_position) if sort_by != "createdAt" else e.created_at
            ),
            reverse=query.get("sortDirection", "asc") == "desc",
        )
        offset, limit = self._paging(request)
        page = events[offset : offset + limit]
        pagination: dict[str, Any] = {
            "limit": limit,
            "offset": offset,
            "hasMore": offset + limit < len(events),
        }
        if query.get("includeCount") == "true":
            pagination["total"] = len(events)
        return json_response(
            {"events": [self.envelope(state, e) for e in page], "pagination": pagination}
        )

    def _list_streams(self, request: Request, payload: Any, state: EventStoreState) -> Response:
        heads: dict[str, RecordedEvent] = {}
        for event in state.events.read_all(limit=10**9):
            heads[event.stream_id] = event
        streams = [
            {
                "streamId": sid,
                "streamPosition": e.stream_position - 1 + self.base,
                "streamType": re.split(r"[-_:]", sid, maxsplit=1)[0],
                "isArchived": False,
                "lastArchivedPosition": None,
                "createdAt": e.created_at.isoformat(),
                "updatedAt": e.created_at.isoformat(),
            }
            for sid, e in heads.items()
        ]
        return json_response({"streams": streams, "pagination": {"hasMore": False}})

    # ── subscriptions ─────────────────────────────────────────────────────────────────────

    def _subscribe(self, request: Request, payload: Any, state: EventStoreState) -> Response:
        if not isinstance(payload, dict):
            return error(400, "INVALID_SUBSCRIPTION_CONFIG", "Body must be an object")
        event_filter = payload.get("eventFilter")
        valid_filter = isinstance(event_filter, str) or (
            isinstance(event_filter, list)
            and event_filter
            and all(isinstance(f, str) for f in event_filter)
        )
        if not valid_filter:
            return error(400, "INVALID_SUBSCRIPTION_CONFIG", "eventFilter is required")
        subscriber = payload.get("subscriber")
        if not isinstance(subscriber, dict) or subscriber.get("type") not in (
            "webhook",
            "durable_object",
        ):
            return error(400, "INVALID_SUBSCRIPTION_CONFIG", "subscriber.type must be webhook")
        config = subscriber.get("config") or {}
        if subscriber["type"] == "webhook" and not isinstance(config.get("url"), str):
            return error(400, "INVALID_SUBSCRIPTION_CONFIG", "subscriber.config.url is required")
        subscriber_config = {
            "url": config.get("url"),
            "headers": config.get("headers") or {},
            "timeoutMs": config.get("timeoutMs"),
            "retryPolicy": config.get("retryPolicy"),
        }
        for existing in state.subscriptions.values():
            same = (
                existing["subscriberType"] == subscriber["type"]
                and existing["eventFilter"] == event_filter
                and {k: existing["subscriberConfig"][k] for k in ("url", "headers", "timeoutMs")}
                == {k: subscriber_config[k] for k in ("url", "headers", "timeoutMs")}
            )
            if same:
                return json_response(
                    {
                        **self._shown(existing),
                        "isExistingSubscription": True,
                        "message": "An identical subscription already exists",
                    }
                )
        now = now_text()
        record = {
            "subscriptionId": f"sub_{uuid.uuid4().hex[:12]}",
            "eventStoreName": state.name,
            "eventFilter": event_filter,
            "subscriberType": subscriber["type"],
            "subscriberId": payload.get("subscriberId") or f"subscriber_{uuid.uuid4().hex[:8]}",
            "subscriberConfig": subscriber_config,
            "status": "active",
            "createdAt": now,
            "updatedAt": now,
            "lastProcessedEventGlobalPosition": None,
        }
        state.subscriptions[record["subscriptionId"]] = record
        if payload.get("initialPosition") == "earliest":
            old = [self.envelope(state, e) for e in state.events.read_all(limit=10**9)]
            matching = [e for e in old if filter_matches(event_filter, e["type"])]
            if matching:
                self.webhooks.enqueue(record, matching)
        return json_response({**self._shown(record), "isExistingSubscription": False}, 201)

    def _shown(self, record: dict[str, Any]) -> dict[str, Any]:
        shown = dict(record)
        config = dict(record["subscriberConfig"])
        if not self.list_shows_headers:
            config.pop("headers", None)
        shown["subscriberConfig"] = config
        return shown

    def _list_subscriptions(self, request: Request, payload: Any, state: EventStoreState):
        records = list(state.subscriptions.values())
        kind = request.query_params.get("subscriberType")
        if kind:
            records = [r for r in records if r["subscriberType"] == kind]
        offset = int(request.query_params.get("offset") or 0)
        limit = int(request.query_params.get("limit") or 50)
        page = records[offset : offset + limit]
        return json_response(
            {"subscriptions": [self._shown(r) for r in page], "totalCount": len(records)}
        )

    def _get_subscription(
        self, request: Request, payload: Any, state: EventStoreState, sub_id: str
    ):
        record = state.subscriptions.get(sub_id)
        if record is None:
            return error(
                404,
                "SUBSCRIPTION_NOT_FOUND",
                "Subscription not found",
                {"eventStoreName": state.name, "subscriptionId": sub_id},
            )
        return json_response(self._shown(record))

    def _delete_subscription(self, request: Request, payload: Any, state: EventStoreState, sub_id):
        if state.subscriptions.pop(sub_id, None) is None:
            return error(404, "SUBSCRIPTION_NOT_FOUND", "Subscription not found")
        return json_response({"success": True, "message": "Subscription successfully removed"})

    # ── publishing ────────────────────────────────────────────────────────────────────────

    def _publish(self, state: EventStoreState, envelopes: list[dict[str, Any]]) -> None:
        for connection in self._sockets:
            if connection.subscribed:
                connection.queue.put_nowait(envelopes)
        for record in state.subscriptions.values():
            if record["subscriberType"] != "webhook":
                continue
            matching = [e for e in envelopes if filter_matches(record["eventFilter"], e["type"])]
            if matching:
                self.webhooks.enqueue(record, matching)

    # ── WebSocket ─────────────────────────────────────────────────────────────────────────

    async def _websocket(self, websocket: WebSocket) -> None:
        self.loop = asyncio.get_running_loop()
        path = (websocket.scope.get("raw_path") or b"").decode().split("?", 1)[0]
        name = None
        for pattern in self.ws_paths:
            regex = "^" + re.escape(pattern).replace(re.escape("{name}"), "([^/]+)") + "$"
            if match := re.match(regex, path):
                name = unquote(match.group(1))
        if name is None or name not in self.stores:
            await websocket.send_denial_response(error(404, "NOT_FOUND", "No WebSocket here"))
            return
        if not self._authorised(websocket.headers, websocket.query_params):
            await websocket.send_denial_response(error(401, "UNAUTHORIZED", "Invalid API key"))
            return
        fault = self.faults.take("ws")
        if fault is not None and fault.kind == "ws_refuse":
            await websocket.send_denial_response(error(fault.status, "FORBIDDEN", "Refused"))
            return
        await websocket.accept()
        connection = _WsConnection(websocket, asyncio.Queue())
        if fault is not None and fault.kind == "ws_drop_after":
            connection.drop_after = fault.frames
        with self._changed:
            self._sockets.append(connection)
            self.ws_connections += 1
            self._changed.notify_all()
        sender = asyncio.create_task(self._ws_send(connection))
        try:
            while True:
                message = await websocket.receive_text()
                try:
                    request = _decoder.decode(message)
                except msgspec.DecodeError:
                    await websocket.send_text('{"type":"error","error":"Invalid JSON"}')
                    continue
                if isinstance(request, dict) and request.get("action") == "subscribe":
                    await self._ws_subscribe(connection, request)
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
            with self._changed:
                if connection in self._sockets:
                    self._sockets.remove(connection)
                self._changed.notify_all()

    async def _ws_subscribe(self, connection: _WsConnection, request: dict[str, Any]) -> None:
        connection.event_filter = request.get("eventFilter", "*")
        position = request.get("position")
        if isinstance(position, int) and not isinstance(position, bool):
            # undocumented: replay from a global position (inclusive) before going live
            for state in self.stores.values():
                old = state.events.read_all(after=max(0, position - 1), limit=10**9)
                if old:
                    connection.queue.put_nowait([self.envelope(state, e) for e in old])
        connection.subscribed = True
        with self._changed:
            self.ws_subscriptions += 1
            self._changed.notify_all()
        if self.ws_ack:
            await connection.websocket.send_text(
                _encoder.encode(
                    {"type": "subscribed", "eventFilter": connection.event_filter}
                ).decode()
            )

    async def _ws_send(self, connection: _WsConnection) -> None:
        websocket = connection.websocket
        while True:
            item = await connection.queue.get()
            if item is _DROP:
                await websocket.close(code=1012)
                return
            envelopes = [e for e in item if filter_matches(connection.event_filter, e["type"])]
            if not envelopes:
                continue
            if self.ws_style == "batch":
                frames = [{"events": envelopes}]
            elif self.ws_style == "bare":
                frames = envelopes
            elif self.ws_style == "notify":
                frames = [{"type": "notification", "streamId": envelopes[0]["streamId"]}]
            else:
                frames = [{"type": "event", "event": e} for e in envelopes]
            for frame in frames:
                if connection.drop_after is not None and connection.sent >= connection.drop_after:
                    await websocket.close(code=1011)
                    return
                await websocket.send_text(_encoder.encode(frame).decode())
                connection.sent += 1
