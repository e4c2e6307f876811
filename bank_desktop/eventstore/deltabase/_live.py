"""DeltaBase's live WebSocket feed on a worker thread: news of events, never the events themselves.

The feed only tells waiters that something may have happened (``seen_head`` rises, or
``generation`` moves after a (re)subscription); readers then query the gap over REST from
their own position, so a dropped connection, a lost frame or a frame in an unknown shape can
delay an event but never lose or duplicate one. Server frames are undocumented: anything that
looks like an event envelope, or wraps one (``event``, ``events``, ``data``, ``payload``),
counts as news; other frames (acks, errors) are logged and ignored.

After a drop the feed reconnects with the shared :class:`~bank_desktop.backoff.Backoff`. When
DeltaBase refuses the upgrade on every WebSocket path (403, 404, ...), the feed switches to
polling for the rest of the session and says so once in the log.
"""

from __future__ import annotations

import enum
import json
import logging
import random
import threading
from collections.abc import MutableMapping
from contextlib import suppress
from typing import Any, Final
from urllib.parse import quote, urlencode, urlsplit

from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException
from websockets.sync.client import ClientConnection, connect

from bank_desktop import __version__
from bank_desktop.backoff import Backoff
from bank_desktop.eventstore.deltabase._settings import DeltaBaseSettings
from bank_desktop.eventstore.deltabase._wire import error_text
from bank_desktop.eventstore.exact_json import decode_json

_log = logging.getLogger("bank_desktop.eventstore.deltabase.live")

#: Upgrade refusals that mean "no WebSocket here" (try the next path, then poll).
_REFUSED: Final = frozenset({400, 403, 404, 405, 410, 426, 501})
_MAX_DEPTH: Final = 4


class FeedMode(enum.Enum):
    IDLE = "idle"
    CONNECTING = "connecting"
    LIVE = "live"
    DOWN = "down"  #: lost; reconnecting with backoff (waiters poll meanwhile)
    POLLING = "polling"  #: WebSocket refused or switched off: waiters poll the head
    CLOSED = "closed"


class _Refused(Exception):
    pass


class _MaskingLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """Hands websockets a logger that formats each line and masks the API key in it."""

    def __init__(self, logger: logging.Logger, secret: str) -> None:
        super().__init__(logger, {})
        self._secret = secret

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if not self.isEnabledFor(level):
            return
        text = str(msg) % args if args else str(msg)
        if self._secret:
            text = text.replace(self._secret, "***")
        kwargs.pop("exc_info", None)  # exception texts may quote a URL with ?apiKey=
        self.logger.log(level, "%s", text, **kwargs)

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, Any]:
        return msg, kwargs


class WebSocketFeed:
    """Keeps a WebSocket subscription open and publishes what it hears under ``changed``."""

    def __init__(self, settings: DeltaBaseSettings, *, rng: random.Random | None = None) -> None:
        self.settings = settings
        self.changed = threading.Condition()
        self.mode = FeedMode.IDLE
        self.generation = 0  #: bumped on every (re)subscription: waiters re-read the gap
        self.seen_head = 0  #: the highest global position known to exist
        self.news = 0  #: event frames that carried no position
        self.connections = 0
        self.last_problem: str | None = None
        self._reconnect = Backoff(
            settings.reconnect_initial, settings.reconnect_max, rng=rng or random.Random()
        )
        self._thread: threading.Thread | None = None
        self._ws: ClientConnection | None = None
        self._path = 0
        secret = settings.api_key.reveal() if settings.api_key else ""
        self._secret = secret
        self._ws_logger = _MaskingLogger(
            logging.getLogger("bank_desktop.eventstore.deltabase.ws"), secret
        )

    # ── control ───────────────────────────────────────────────────────────────────────────

    def start(self, *, wait: float = 0.0) -> FeedMode:
        """Start the worker once (idempotent); without WebSocket the feed is just polling.

        Waits up to ``wait`` seconds for the feed to be live (or polling, or closed).
        """
        with self.changed:
            if self.mode is FeedMode.IDLE:
                if not self.settings.live_websocket:
                    self.mode = FeedMode.POLLING
                else:
                    self.mode = FeedMode.CONNECTING
                    self._thread = threading.Thread(
                        target=self._run, name="deltabase-live", daemon=True
                    )
                    self._thread.start()
            if wait > 0:
                self.changed.wait_for(
                    lambda: self.mode in (FeedMode.LIVE, FeedMode.POLLING, FeedMode.CLOSED), wait
                )
            return self.mode

    def note_head(self, position: int) -> None:
        """Record that events up to ``position`` exist (from appends, reads, head checks)."""
        with self.changed:
            if position > self.seen_head:
                self.seen_head = position
                self.changed.notify_all()

    def close(self) -> None:
        with self.changed:
            self.mode = FeedMode.CLOSED
            ws, thread = self._ws, self._thread
            self.changed.notify_all()
        if ws is not None:
            with suppress(Exception):  # closing a connection that may be broken already
                ws.close()
        if thread is not None and thread is not threading.current_thread():
            thread.join(5.0)

    def is_closed(self) -> bool:
        return self.mode is FeedMode.CLOSED

    # ── the worker ────────────────────────────────────────────────────────────────────────

    def _run(self) -> None:
        failures = 0
        while not self.is_closed():
            try:
                was_live = self._session()
            except _Refused as exc:
                _log.warning(
                    "DeltaBase refused the live feed (%s); polling for new events every %.1f s",
                    exc,
                    self.settings.poll_interval,
                )
                self._set_mode(FeedMode.POLLING, str(exc))
                return
            except (OSError, TimeoutError, WebSocketException) as exc:
                was_live = False
                self._set_mode(FeedMode.DOWN, self._describe(exc))
            except Exception as exc:  # a bug here must not leave waiters trusting a dead feed
                _log.exception("DeltaBase live feed failed")
                was_live = False
                self._set_mode(FeedMode.DOWN, self._describe(exc))
            if self.is_closed():
                return
            failures = 1 if was_live else failures + 1
            delay = self._reconnect.delay(failures)
            _log.log(
                logging.WARNING if was_live else logging.INFO,
                "DeltaBase live feed lost (%s); reconnecting in %.1f s",
                self.last_problem,
                delay,
            )
            with self.changed:
                self.changed.wait_for(self.is_closed, timeout=delay)

    def _session(self) -> bool:
        """Connect, subscribe, listen until the connection ends; True if it went live."""
        ws = self._connect()
        with self.changed:
            if self.is_closed():
                ws.close()
                return False
            self._ws = ws
        live = False
        try:
            ws.send(json.dumps(self._subscribe_message()))
            with suppress(TimeoutError):
                self._handle(ws.recv(timeout=self.settings.ws_settle_seconds))
            with self.changed:
                if self.is_closed():
                    return False
                self.mode = FeedMode.LIVE
                self.generation += 1
                self.connections += 1
                self.last_problem = None
                self.changed.notify_all()
            live = True
            _log.info("DeltaBase live feed connected (%s)", self.settings.display_url)
            while True:
                self._handle(ws.recv())
        except (ConnectionClosed, OSError, WebSocketException) as exc:
            self._set_mode(FeedMode.DOWN, self._describe(exc))
            return live
        finally:
            with self.changed:
                self._ws = None
            with suppress(Exception):
                ws.close()

    def _connect(self) -> ClientConnection:
        settings = self.settings
        paths = settings.ws_paths
        refusals: list[str] = []
        for offset in range(len(paths)):
            index = (self._path + offset) % len(paths)
            url = self._url(paths[index])
            headers = settings.auth_headers() if settings.ws_auth == "header" else {}
            try:
                ws = connect(
                    url,
                    additional_headers=headers,
                    open_timeout=settings.connect_timeout,
                    close_timeout=1.0,
                    proxy=True if settings.trust_env else None,
                    logger=self._ws_logger,
                    max_size=2**24,
                    user_agent_header=f"bank-desktop/{__version__}",
                )
            except InvalidStatus as exc:
                status = exc.response.status_code
                if status == 401:
                    raise _Refused("HTTP 401: check your API key") from None
                if status not in _REFUSED:
                    raise
                refusals.append(f"HTTP {status} on {paths[index].split('{', 1)[0]}…")
                continue
            self._path = index
            return ws
        raise _Refused(", ".join(refusals) or "no WebSocket path configured")

    def _url(self, path: str) -> str:
        base = urlsplit(self.settings.base_url)
        scheme = "wss" if base.scheme == "https" else "ws"
        url = f"{scheme}://{base.netloc}{base.path.rstrip('/')}"
        url += path.replace("{name}", quote(self.settings.event_store, safe=""))
        if self.settings.ws_auth == "query" and self._secret:
            url += "?" + urlencode({"apiKey": self._secret})
        return url

    def _subscribe_message(self) -> dict[str, Any]:
        message: dict[str, Any] = {"action": "subscribe", "eventFilter": "*"}
        if self.settings.ws_subscribe_position:
            message["position"] = self.settings.ws_subscribe_position
        return message

    def _set_mode(self, mode: FeedMode, problem: str | None) -> None:
        with self.changed:
            if self.is_closed():
                return
            self.mode = mode
            self.last_problem = problem
            self.changed.notify_all()

    def _describe(self, exc: BaseException) -> str:
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return text.replace(self._secret, "***") if self._secret else text

    # ── frames ────────────────────────────────────────────────────────────────────────────

    def _handle(self, raw: str | bytes) -> None:
        try:
            message = decode_json(raw)
        except ValueError:
            _log.debug("DeltaBase live feed: ignoring a frame that is not JSON")
            return
        positions: list[int | None] = []
        _collect(message, positions, 0)
        if not positions:
            if isinstance(message, dict) and "error" in message:
                text = error_text(message)
                _log.warning(
                    "DeltaBase live feed reported: %s",
                    text.replace(self._secret, "***") if self._secret else text,
                )
            else:
                _log.debug("DeltaBase live feed: ignoring a frame without events")
            return
        known = [p for p in positions if p is not None]
        with self.changed:
            if known:
                self.seen_head = max(self.seen_head, *known)
            if len(known) < len(positions):
                self.news += 1
            self.changed.notify_all()


def _looks_like_event(value: dict[str, Any]) -> bool:
    return "globalPosition" in value or (
        "type" in value and ("streamId" in value or "eventId" in value)
    )


def _collect(value: Any, out: list[int | None], depth: int) -> None:
    """Global positions of the events a frame carries (None for an event without one)."""
    if depth > _MAX_DEPTH:
        return
    if isinstance(value, list):
        for item in value:
            _collect(item, out, depth + 1)
        return
    if not isinstance(value, dict):
        return
    if _looks_like_event(value):
        position = value.get("globalPosition")
        valid = isinstance(position, int) and not isinstance(position, bool)
        out.append(position if valid else None)
        return
    for key in ("event", "events", "data", "payload"):
        inner = value.get(key)
        if isinstance(inner, dict | list):
            _collect(inner, out, depth + 1)
