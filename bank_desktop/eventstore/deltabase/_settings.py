"""DeltaBase connection settings: every uncertain protocol choice in one frozen object.

What DeltaBase's documents leave open (``../shared/deltabase-api.md`` §10) is a field here with
the documented or inferred default, so checking against a real server later means changing a
default, not code. Settings come from a store URL::

    deltabase+https://api.delta-base.com/banking          # base URL + event store name
    deltabase+http://127.0.0.1:8787/banking?auth=bearer   # protocol options as query keys
    deltabase://                                          # everything from the environment

The event store name is the URL's last path segment, else ``DELTABASE_EVENT_STORE_NAME``, else
``banking``; the API key is the URL's password (``://:KEY@host``) or ``apiKey`` query (both for
tests), else ``DELTABASE_API_KEY``; the base URL is ``DELTABASE_BASE_URL`` when the URL names
no host, else the tutorial's ``http://localhost:8787``. The key is held in a :class:`Secret`:
it never appears in ``repr``, in the display URL or in an error message.
"""

from __future__ import annotations

import hmac
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Final, Literal
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

import httpx

from bank_desktop import __version__
from bank_desktop.eventstore.errors import StoreConfigError

ENV_BASE_URL: Final = "DELTABASE_BASE_URL"
ENV_API_KEY: Final = "DELTABASE_API_KEY"
ENV_STORE_NAME: Final = "DELTABASE_EVENT_STORE_NAME"
DEFAULT_BASE_URL: Final = "http://localhost:8787"  # the tutorial's `dev` server
DEFAULT_STORE_NAME: Final = "banking"
SCHEMES: Final = ("deltabase+http", "deltabase+https", "deltabase")
#: The metadata key our event id travels under (DeltaBase assigns an ``eventId`` of its own).
EVENT_ID_KEY: Final = "clientEventId"

#: DeltaBase's rule for event store names (create-store operation): 3-63 of [a-z0-9_-].
STORE_NAME: Final = re.compile(r"^[a-z0-9_-]{3,63}$")

AuthHeader = Literal["x-api-key", "bearer"]
AppendPath = Literal["stream", "events"]
StreamRead = Literal["query", "whole"]
VersionMode = Literal["count", "last_position"]
WsAuth = Literal["header", "query"]


class Secret:
    """A string that does not show itself: ``repr`` and ``str`` give ``***``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(("Secret", len(self._value)))


@dataclass(frozen=True, slots=True)
class DeltaBaseSettings:
    """How to talk to one DeltaBase event store; defaults follow deltabase-api.md."""

    base_url: str = DEFAULT_BASE_URL
    event_store: str = DEFAULT_STORE_NAME
    api_key: Secret | None = field(default=None, compare=False)
    #: ``X-API-Key: <key>`` (newest Platform API docs) or ``Authorization: Bearer <key>`` (older).
    auth_header: AuthHeader = "x-api-key"
    #: Path before ``/event-stores`` for REST: ``/api`` (OpenAPI) or ``""`` (older docs).
    rest_prefix: str = "/api"
    #: Append to ``.../streams/{id}`` (OpenAPI) or ``.../streams/{id}/events`` (curl example).
    append_path: AppendPath = "stream"
    #: Read a stream with the paged events query (``.../streams/{id}/events``, sortBy
    #: streamPosition, offset/limit) or as one whole ``GET .../streams/{id}``.
    stream_read: StreamRead = "query"
    #: WebSocket paths tried in order; ``{name}`` is the event store. Guide first, then OpenAPI.
    ws_paths: tuple[str, ...] = (
        "/event-stores/{name}/events/ws",
        "/api/event-stores/{name}/events/ws",
    )
    #: Send the WebSocket's key in the auth header, or as ``?apiKey=`` (the guide's example).
    ws_auth: WsAuth = "header"
    #: ``position`` of the subscribe message; the gap is always re-read over REST anyway.
    ws_subscribe_position: str = "latest"
    #: After subscribing, wait this long for a first frame (an ack) before declaring the feed
    #: live: DeltaBase documents no ack, and events in between are found by the head check.
    ws_settle_seconds: float = 0.5
    #: Use the WebSocket at all (``False``: poll the head, e.g. behind a proxy without WS).
    live_websocket: bool = True
    #: DeltaBase's first streamPosition (documented 0; our port starts at 1).
    stream_position_base: int = 0
    #: What ``expectedStreamVersion`` counts: ``count`` = events in the stream (our position;
    #: an empty stream is 0, as the documented read of a missing stream and the documented
    #: first append with 0 both suggest) or ``last_position`` = the last event's streamPosition.
    expected_version: VersionMode = "count"
    #: Metadata key carrying our event id (DeltaBase assigns its own ``eventId``); ``None``
    #: means trust the envelope's ``eventId`` (only if the server keeps ids it is sent).
    event_id_metadata_key: str | None = EVENT_ID_KEY
    #: Also send ``eventId`` on each appended event (undocumented; off by default).
    send_event_id: bool = False
    #: Events asked for per request (older docs: at most 1000 per read).
    page_size: int = 1000
    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    #: Attempts for a read (and for resolving an append) before giving up as unavailable.
    max_attempts: int = 4
    backoff_initial: float = 0.2
    backoff_max: float = 5.0
    #: Polling interval for new events when the WebSocket is refused or down.
    poll_interval: float = 1.0
    #: Even while the WebSocket is live, re-check the head this often (a missed frame costs
    #: at most this long).
    live_recheck_seconds: float = 30.0
    reconnect_initial: float = 0.2
    reconnect_max: float = 15.0
    #: Honour proxy settings from the environment (``HTTPS_PROXY``, ``NO_PROXY``).
    trust_env: bool = True

    def __post_init__(self) -> None:
        if not STORE_NAME.match(self.event_store):
            raise StoreConfigError(
                f"{self.event_store!r} is not a DeltaBase event store name "
                "(3 to 63 characters: lowercase letters, digits, '-' and '_')."
            )
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise StoreConfigError(
                f"The DeltaBase base URL must be http(s)://host[:port], got {self.display_base!r}."
            )
        if parts.username or parts.password or parts.query:
            raise StoreConfigError("The DeltaBase base URL must not carry credentials or options.")
        if self.rest_prefix and not self.rest_prefix.startswith("/"):
            raise StoreConfigError(f"The REST prefix must start with '/': {self.rest_prefix!r}")
        for name in ("page_size", "max_attempts"):
            if getattr(self, name) < 1:
                raise StoreConfigError(f"DeltaBase setting {name} must be at least 1.")

    @property
    def display_base(self) -> str:
        """The base URL without anything secret (it never holds any, but stay safe)."""
        parts = urlsplit(self.base_url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{host}{port}{parts.path.rstrip('/')}"

    @property
    def display_url(self) -> str:
        """The store URL this object stands for, safe to log and show (no key)."""
        parts = urlsplit(self.display_base)
        query = options_query(self)
        return f"deltabase+{parts.scheme}://{parts.netloc}{parts.path}/{self.event_store}" + (
            f"?{query}" if query else ""
        )

    @property
    def host(self) -> str:
        """``host:port`` for messages."""
        return urlsplit(self.base_url).netloc.rsplit("@", 1)[-1]

    def with_changes(self, **changes: object) -> DeltaBaseSettings:
        return replace(self, **changes)  # type: ignore[arg-type]

    def auth_headers(self) -> dict[str, str]:
        if self.api_key is None:
            return {}
        if self.auth_header == "bearer":
            return {"Authorization": f"Bearer {self.api_key.reveal()}"}
        return {"X-API-Key": self.api_key.reveal()}


#: URL query keys that set protocol options (documented in the module docstring of deltabase).
_OPTIONS: Final[dict[str, tuple[str, tuple[str, ...] | None]]] = {
    "auth": ("auth_header", ("x-api-key", "bearer")),
    "prefix": ("rest_prefix", None),
    "append": ("append_path", ("stream", "events")),
    "read": ("stream_read", ("query", "whole")),
    "version": ("expected_version", ("count", "last_position")),
    "live": ("live_websocket", ("ws", "poll")),
    "ws_auth": ("ws_auth", ("header", "query")),
    "timeout": ("read_timeout", None),
}
_KEY_PARAMS: Final = ("apiKey", "apikey", "api_key")


def settings_from_url(url: str, env: Mapping[str, str] | None = None) -> DeltaBaseSettings:
    """Settings for a ``deltabase+http(s)://host[:port][/base]/store?options`` URL."""
    environ = os.environ if env is None else env
    scheme, sep, _ = url.partition(":")
    if not sep or scheme.lower() not in SCHEMES:
        raise StoreConfigError("A DeltaBase store URL starts with deltabase+https:// or +http://.")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise StoreConfigError(f"The DeltaBase store URL is malformed ({exc}).") from None
    if parts.fragment:
        raise StoreConfigError("A DeltaBase store URL takes no '#fragment'.")

    key = unquote(parts.password) if parts.password else None
    if parts.username and parts.password is None:
        raise StoreConfigError(
            "Put the DeltaBase API key after a colon (deltabase+https://:KEY@host/store) or, "
            f"better, in the {ENV_API_KEY} environment variable."
        )
    segments = [unquote(s) for s in parts.path.split("/") if s]
    store = segments.pop() if segments else environ.get(ENV_STORE_NAME) or DEFAULT_STORE_NAME

    base = _base_url(scheme.lower(), parts.hostname, port, segments, environ)

    changes: dict[str, object] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name in _KEY_PARAMS:
            key = value
            continue
        if name not in _OPTIONS:
            known = ", ".join(sorted(_OPTIONS))
            raise StoreConfigError(f"Unknown DeltaBase URL option {name!r}; known: {known}.")
        field_name, allowed = _OPTIONS[name]
        changes[field_name] = _option(name, value, allowed)
    if key is None:
        key = environ.get(ENV_API_KEY) or None
    return DeltaBaseSettings(
        base_url=base,
        event_store=store,
        api_key=Secret(key) if key else None,
        **changes,  # type: ignore[arg-type]
    )


def _base_url(
    scheme: str, hostname: str | None, port: int | None, path: list[str], env: Mapping[str, str]
) -> str:
    """The http(s) base URL: the store URL's host (and path before the store name), else env."""
    if hostname:
        if scheme == "deltabase":
            raise StoreConfigError("Say deltabase+https:// or deltabase+http:// before a host.")
        host = hostname if ":" not in hostname else f"[{hostname}]"
        base = f"{scheme.removeprefix('deltabase+')}://{host}{f':{port}' if port else ''}"
        return base + "".join("/" + quote(s, safe="") for s in path)
    if path:
        raise StoreConfigError("A DeltaBase URL without a host names only the event store.")
    base = (env.get(ENV_BASE_URL) or DEFAULT_BASE_URL).strip().rstrip("/")
    wanted = scheme.removeprefix("deltabase+")
    if scheme != "deltabase" and not base.startswith(f"{wanted}://"):
        raise StoreConfigError(f"The store URL says {scheme} but {ENV_BASE_URL} is not {wanted}.")
    return base


def _option(name: str, value: str, allowed: tuple[str, ...] | None) -> object:
    if allowed is not None and value not in allowed:
        raise StoreConfigError(f"DeltaBase URL option {name}={value!r}: use one of {allowed}.")
    if name == "live":
        return value == "ws"
    if name == "prefix":
        return "" if value in ("", "none", "/") else "/" + value.strip("/")
    if name == "timeout":
        try:
            seconds = float(value)
        except ValueError:
            seconds = -1.0
        if not 0 < seconds <= 600:
            raise StoreConfigError(f"DeltaBase URL option timeout={value!r}: seconds, 0-600.")
        return seconds
    return value


def options_query(settings: DeltaBaseSettings) -> str:
    """The URL query that reproduces ``settings``' non-default options (never the key)."""
    default = DeltaBaseSettings()
    pairs = []
    for name, (field_name, _) in _OPTIONS.items():
        value = getattr(settings, field_name)
        if value != getattr(default, field_name):
            shown = ("ws" if value else "poll") if name == "live" else value
            pairs.append((name, str(shown) if shown != "" else "none"))
    return urlencode(pairs)


def build_client(
    settings: DeltaBaseSettings, *, transport: httpx.BaseTransport | None = None
) -> httpx.Client:
    """The ``httpx.Client`` the adapter uses: base URL, auth header, timeouts, JSON accept.

    ``transport`` replaces the network (``httpx.MockTransport`` in tests, custom TLS).
    """
    headers = {
        "Accept": "application/json",
        "User-Agent": f"bank-desktop/{__version__}",
        **settings.auth_headers(),
    }
    timeout = httpx.Timeout(
        settings.read_timeout, connect=settings.connect_timeout, pool=settings.connect_timeout
    )
    return httpx.Client(
        base_url=settings.base_url,
        headers=headers,
        timeout=timeout,
        follow_redirects=False,
        trust_env=settings.trust_env,
        limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
        transport=transport,
    )
