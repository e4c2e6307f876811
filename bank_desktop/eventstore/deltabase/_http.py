"""Requests to DeltaBase over an injected ``httpx.Client``: paths, retries, error translation.

Reads are retried on 429, 5xx, timeouts, dropped connections and unreadable bodies, with the
shared :class:`~bank_desktop.backoff.Backoff` (honouring ``Retry-After``), and then reported as
:class:`StoreUnavailableError` in words a clerk can act on. Writes are sent once per call: an
attempt whose outcome is unknown is reported to the caller (:class:`Unanswered`), which checks
the stream before anything is sent again. No httpx exception leaves this module, and no message
carries the API key.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from email.utils import parsedate_to_datetime
from typing import Any, Final
from urllib.parse import quote

import httpx

from bank_desktop.backoff import Backoff
from bank_desktop.eventstore.deltabase._settings import DeltaBaseSettings
from bank_desktop.eventstore.deltabase._wire import (
    ProtocolError,
    decode_body,
    error_text,
    expect_object,
)
from bank_desktop.eventstore.errors import (
    EventStoreError,
    StoreConfigError,
    StoreUnavailableError,
)

_log = logging.getLogger("bank_desktop.eventstore.deltabase")

RETRYABLE_STATUS: Final = frozenset({408, 425, 429, 500, 502, 503, 504})
Params = Sequence[tuple[str, str | int]] | Mapping[str, str | int] | None


class NotSent(Exception):
    """The request never reached DeltaBase (no connection): nothing can have been written."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Unanswered(Exception):
    """The request went out but no usable answer came back: its outcome is unknown."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class DeltaBaseHttp:
    """One DeltaBase event store's REST routes over a shared ``httpx.Client``."""

    def __init__(
        self,
        settings: DeltaBaseSettings,
        client: httpx.Client,
        *,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self._client = client
        self._sleep = sleep
        self._policy = Backoff(
            settings.backoff_initial,
            settings.backoff_max,
            settings.max_attempts,
            rng or random.Random(),
        )
        key = settings.api_key.reveal() if settings.api_key else ""
        self._secret = key

    # ── paths ─────────────────────────────────────────────────────────────────────────────

    def management_path(self, *parts: str) -> str:
        """``{prefix}/event-stores[/part…]`` with each part escaped as one path segment."""
        return self.settings.rest_prefix + "/event-stores" + _segments(parts)

    def store_path(self, *parts: str) -> str:
        """``{prefix}/event-stores/{name}[/part…]``."""
        return self.management_path(self.settings.event_store, *parts)

    def append_path(self, stream_id: str) -> str:
        if self.settings.append_path == "events":
            return self.store_path("streams", stream_id, "events")
        return self.store_path("streams", stream_id)

    # ── sending ───────────────────────────────────────────────────────────────────────────

    def send(
        self,
        method: str,
        path: str,
        *,
        action: str,
        params: Params = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        """One attempt; raises NotSent or Unanswered instead of httpx errors."""
        headers = {"Content-Type": "application/json"} if content is not None else None
        query: list[tuple[str, str | int | float | bool | None]] | None = None
        if params is not None:
            query = list(params.items() if isinstance(params, Mapping) else params)
        try:
            return self._client.request(
                method, path, params=query, content=content, headers=headers
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise NotSent(self._reason(exc)) from exc
        except httpx.UnsupportedProtocol as exc:
            raise StoreConfigError(
                f"The DeltaBase base URL {self.settings.display_base} is not http(s)."
            ) from exc
        except httpx.HTTPError as exc:
            raise Unanswered(self._reason(exc)) from exc
        except RuntimeError as exc:  # the client was closed under us
            raise EventStoreError(f"The connection to DeltaBase is closed ({action}).") from exc

    def read_json(self, path: str, *, action: str, params: Params = None) -> dict[str, Any]:
        """GET a JSON object, retrying what may pass; definitive errors are raised at once."""
        return self.request_json("GET", path, action=action, params=params)

    def request_json(
        self,
        method: str,
        path: str,
        *,
        action: str,
        params: Params = None,
        content: bytes | None = None,
        ok: Sequence[int] = (200, 201),
    ) -> dict[str, Any]:
        """An idempotent request retried like a read; returns the JSON object of an ``ok``."""
        _, body = self.exchange(method, path, action=action, params=params, content=content, ok=ok)
        return expect_object(body, action)

    def exchange(
        self,
        method: str,
        path: str,
        *,
        action: str,
        params: Params = None,
        content: bytes | None = None,
        ok: Sequence[int] = (200, 201),
    ) -> tuple[int, Any]:
        """Status and decoded JSON of an idempotent request whose status is in ``ok``.

        429, 5xx, timeouts, dropped connections and unreadable bodies are retried with backoff,
        then reported as StoreUnavailableError; any other status raises its store error.
        """
        reason = ""
        for attempt in range(1, self.settings.max_attempts + 1):
            retry_after: float | None = None
            try:
                response = self.send(method, path, action=action, params=params, content=content)
            except (NotSent, Unanswered) as exc:
                reason = exc.reason
            else:
                if response.status_code in ok:
                    try:
                        return response.status_code, decode_body(response.content, action)
                    except ProtocolError as exc:
                        reason = str(exc)
                elif response.status_code in RETRYABLE_STATUS:
                    reason = self.status_reason(response)
                    retry_after = _retry_after(response)
                else:
                    raise self.failure(response, action)
            if attempt < self.settings.max_attempts:
                delay = self.backoff(attempt, retry_after)
                _log.warning(
                    "DeltaBase at %s: could not %s (%s); retrying in %.1f s (attempt %d of %d)",
                    self.settings.host,
                    action,
                    self.mask(reason),
                    delay,
                    attempt + 1,
                    self.settings.max_attempts,
                )
        raise self.unavailable(action, reason)

    # ── errors ────────────────────────────────────────────────────────────────────────────

    def failure(self, response: httpx.Response, action: str) -> EventStoreError:
        """The store error for a definitive (non-retryable) HTTP answer."""
        status = response.status_code
        detail = self.mask(error_text(_maybe_json(response)))
        detail_part = f" ({detail})" if detail else ""
        host = self.settings.host
        if status == 401:
            return StoreConfigError(
                f"DeltaBase at {host} did not accept the API key (HTTP 401) when trying to "
                f"{action}: check your API key (DELTABASE_API_KEY){detail_part}."
            )
        if status == 403:
            return StoreConfigError(
                f"DeltaBase at {host} refused to {action} (HTTP 403): check your API key's "
                f"permissions (it needs read:events, write:events and read:streams){detail_part}."
            )
        if status == 404:
            return StoreConfigError(
                f"DeltaBase at {host} has no event store {self.settings.event_store!r} "
                f"(HTTP 404{': ' + detail if detail else ''}): run `bank-desktop "
                "deploy` to create it, or check the store name and the API prefix "
                f"{self.settings.rest_prefix or '(none)'!r}."
            )
        if 300 <= status < 400:
            return StoreConfigError(
                f"DeltaBase at {host} redirected the request to {action} (HTTP {status}): "
                "check the base URL (https?)."
            )
        if status in (400, 413, 422):
            return EventStoreError(f"DeltaBase refused to {action} (HTTP {status}){detail_part}.")
        return EventStoreError(f"DeltaBase could not {action} (HTTP {status}){detail_part}.")

    def unavailable(self, action: str, reason: str) -> StoreUnavailableError:
        return StoreUnavailableError(
            f"DeltaBase at {self.settings.host} is not answering, so this client could not "
            f"{action} after {self.settings.max_attempts} attempts ({self.mask(reason)}). "
            "Check the network connection; the work is safe to retry."
        )

    def status_reason(self, response: httpx.Response) -> str:
        detail = self.mask(error_text(_maybe_json(response)))
        name = {429: "too many requests"}.get(response.status_code, "server error")
        return f"HTTP {response.status_code} {name}" + (f": {detail}" if detail else "")

    def mask(self, text: str) -> str:
        """``text`` with the API key replaced, for anything a server or library echoed."""
        return text.replace(self._secret, "***") if self._secret else text

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """Sleep before attempt ``attempt + 1``; returns the delay (jittered, capped)."""
        delay = self._policy.delay(attempt)
        if retry_after is not None:
            delay = min(self._policy.cap, max(delay, retry_after))
        self._sleep(delay)
        return delay

    def _reason(self, exc: Exception) -> str:
        kinds: dict[type[Exception], str] = {
            httpx.ConnectError: "cannot connect",
            httpx.ConnectTimeout: "connection timed out",
            httpx.PoolTimeout: "too many requests in flight",
            httpx.ReadTimeout: "no answer in time",
            httpx.WriteTimeout: "sending timed out",
            httpx.RemoteProtocolError: "the connection dropped mid-answer",
            httpx.ReadError: "the connection broke",
            httpx.WriteError: "the connection broke while sending",
        }
        return kinds.get(type(exc), type(exc).__name__)


def _segments(parts: Sequence[str]) -> str:
    return "".join("/" + quote(part, safe="") for part in parts)


def _maybe_json(response: httpx.Response) -> Any:
    try:
        return decode_body(response.content, "an error")
    except ProtocolError:
        return None


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())
