"""The hosted store: our event store port over DeltaBase's REST API and live WebSocket feed.

Store URLs are ``deltabase+https://host[:port]/<event-store>`` (see
:mod:`~._settings` for the environment variables and the
``?auth=bearer&prefix=none&append=events&read=whole&version=last_position&live=poll``
options). Every protocol choice the documents leave open is a setting; the module docstrings
of the private modules beside this one say which are inferred.

**Appends.** One ``POST .../streams/{id}`` with ``options.expectedStreamVersion``; our event
id travels in the metadata (``clientEventId``), as DeltaBase assigns its own ``eventId``. A 409
is a :class:`ConcurrencyError`. An append whose outcome is unknown is settled by reading the
stream before anything is sent again (:mod:`~._append`): nothing is doubled or lost.

**Reads** go through the events queries: a stream with ``sortBy=streamPosition`` and
offset paging, everything with ``fromPosition``/``sortBy=globalPosition`` paging where each
page starts at the last position seen and duplicates are dropped (the bound's inclusivity is
not documented). 429, 5xx, timeouts and dropped connections are retried with capped backoff,
then reported as :class:`StoreUnavailableError`.

**Live delivery.** ``wait_for_events`` listens to :class:`~._live.WebSocketFeed`: while
the WebSocket is subscribed and a head check was made since, it waits for frames; after a
(re)connection it returns at once so callers re-read the gap; while the feed is down or refused
it polls the head. Store failures surface as :class:`StoreUnavailableError`, so a subscription
runner shows live / catching up / offline as with any other store.

There is no :class:`~bank_desktop.eventstore.port.MultiStreamAppender`: DeltaBase has no
atomic multi-stream append.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Collection, Sequence

import httpx

from bank_desktop.eventstore.canonical import fast_digest
from bank_desktop.eventstore.deltabase._append import Appender
from bank_desktop.eventstore.deltabase._http import DeltaBaseHttp
from bank_desktop.eventstore.deltabase._live import FeedMode, WebSocketFeed
from bank_desktop.eventstore.deltabase._settings import (
    DeltaBaseSettings,
    build_client,
    settings_from_url,
)
from bank_desktop.eventstore.deltabase._wire import (
    global_position_of,
    has_more,
    recorded_event,
    recorded_events,
    require_list,
)
from bank_desktop.eventstore.errors import ConcurrencyError, EventStoreError
from bank_desktop.eventstore.port import (
    AppendResult,
    ExpectedPosition,
    NewEvent,
    RecordedEvent,
    StreamState,
    expectation_met,
)
from bank_desktop.eventstore.validation import check_new_events, check_read_args, check_stream_id


class DeltaBaseEventStore:
    """An event store on one DeltaBase event store, over an (injectable) ``httpx.Client``."""

    #: The chain digest through msgspec (capability ``ChainDigestSource``).
    chain_digest = staticmethod(fast_digest)

    def __init__(
        self,
        settings: DeltaBaseSettings,
        client: httpx.Client | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._settings = settings
        self._owns_client = client is None
        self._client = client if client is not None else build_client(settings)
        self._http = DeltaBaseHttp(settings, self._client, sleep=sleep, rng=rng)
        self._feed = WebSocketFeed(settings, rng=rng)
        self._appender = Appender(self._http, self)
        self._closed = False
        self._verified_generation = -1  #: feed generation a head check was made in
        self._recheck_at = 0.0

    @property
    def url(self) -> str:
        return self._settings.display_url

    @property
    def settings(self) -> DeltaBaseSettings:
        return self._settings

    @property
    def http(self) -> DeltaBaseHttp:
        """The REST routes of this store's DeltaBase (for ``deploy``)."""
        self._check_open()
        return self._http

    def __repr__(self) -> str:
        return f"DeltaBaseEventStore({self.url!r})"

    def start_live(self, *, wait: float = 0.0) -> FeedMode:
        """Open the WebSocket feed now instead of at the first ``wait_for_events``.

        Waits up to ``wait`` seconds for it to settle (live, or polling when refused) and
        returns the feed's mode.
        """
        self._check_open()
        return self._feed.start(wait=wait)

    # ── writing ───────────────────────────────────────────────────────────────────────────

    def append(
        self, stream_id: str, events: Sequence[NewEvent], expected: ExpectedPosition
    ) -> AppendResult:
        self._check_open()
        check_stream_id(stream_id)
        check_new_events(events)
        if not isinstance(expected, StreamState) and (
            isinstance(expected, bool) or not isinstance(expected, int) or expected < 0
        ):
            raise ValueError(f"Expected position must be >= 0 or a StreamState: {expected!r}")
        if not events:
            actual = self.stream_position(stream_id)
            if not expectation_met(expected, actual):
                raise ConcurrencyError(stream_id, expected, actual)
            return AppendResult(stream_id, actual, ())
        result = self._appender.append(stream_id, events, expected)
        self._feed.note_head(result.last_global_position)
        return result

    # ── reading ───────────────────────────────────────────────────────────────────────────

    def read_stream(
        self, stream_id: str, *, after: int = 0, limit: int | None = None
    ) -> list[RecordedEvent]:
        self._check_open()
        check_stream_id(stream_id)
        check_read_args(after, limit)
        settings, action = self._settings, f"read {stream_id}"
        if settings.stream_read == "whole":
            body = self._http.read_json(self._http.store_path("streams", stream_id), action=action)
            whole = sorted(recorded_events(body, settings, action), key=_by_stream)
            chosen = [e for e in whole if e.stream_position > after]
            return chosen if limit is None else chosen[:limit]
        path = self._http.store_path("streams", stream_id, "events")
        out: list[RecordedEvent] = []
        offset = after
        while limit is None or len(out) < limit:
            want = (
                settings.page_size if limit is None else min(settings.page_size, limit - len(out))
            )
            params: dict[str, str | int] = {
                "sortBy": "streamPosition",
                "sortDirection": "asc",
                "offset": offset,
                "limit": want,
            }
            body = self._http.read_json(path, action=action, params=params)
            page = sorted(recorded_events(body, settings, action), key=_by_stream)
            last = out[-1].stream_position if out else after
            fresh = [e for e in page if e.stream_position > last]
            out.extend(fresh)
            more = has_more(body)
            if not fresh or more is False or (len(page) < want and more is not True):
                break
            offset += len(page)
        return out if limit is None else out[:limit]

    def stream_position(self, stream_id: str) -> int:
        self._check_open()
        check_stream_id(stream_id)
        if self._settings.stream_read == "whole":
            events = self.read_stream(stream_id)
            return events[-1].stream_position if events else 0
        action = f"read the position of {stream_id}"
        body = self._http.read_json(
            self._http.store_path("streams", stream_id, "events"),
            action=action,
            params={"sortBy": "streamPosition", "sortDirection": "desc", "limit": 1},
        )
        items = require_list(body, "events", action)
        if not items:
            return 0
        return max(recorded_event(i, self._settings, action).stream_position for i in items)

    def read_all(
        self,
        *,
        after: int = 0,
        limit: int = 1000,
        types: Collection[str] | None = None,
        with_metadata: bool = True,
    ) -> list[RecordedEvent]:
        self._check_open()
        check_read_args(after, limit, limit_required=True)
        wanted = None if types is None else frozenset(types)
        if wanted is not None and not wanted:
            return []
        settings, action = self._settings, "read events"
        path = self._http.store_path("events")
        out: list[RecordedEvent] = []
        last = after
        while len(out) < limit:
            # One extra, in case fromPosition is inclusive and the first is the one we have.
            want = min(settings.page_size, limit - len(out) + 1)
            params: list[tuple[str, str | int]] = [
                ("fromPosition", last),
                ("sortBy", "globalPosition"),
                ("sortDirection", "asc"),
                ("limit", want),
            ]
            params.extend(("type", t) for t in sorted(wanted or ()))
            body = self._http.read_json(path, action=action, params=params)
            page = sorted(recorded_events(body, settings, action), key=_by_global)
            fresh: list[RecordedEvent] = []
            advanced = False
            for event in page:
                if event.global_position > last:  # drops the inclusive bound's repeat
                    advanced, last = True, event.global_position
                    if wanted is None or event.type in wanted:  # in case `type` was ignored
                        fresh.append(event)
            out.extend(fresh[: limit - len(out)])
            more = has_more(body)
            if not advanced or more is False or (len(page) < want and more is not True):
                break
        if out:
            self._feed.note_head(out[-1].global_position)
        return out

    def head_position(self) -> int:
        self._check_open()
        action = "read the newest event position"
        body = self._http.read_json(
            self._http.store_path("events"),
            action=action,
            params={"sortBy": "globalPosition", "sortDirection": "desc", "limit": 1},
        )
        items = require_list(body, "events", action)
        head = max((global_position_of(i, f"events[0] ({action})") for i in items), default=0)
        self._feed.note_head(head)
        return head

    # ── live ──────────────────────────────────────────────────────────────────────────────

    def wait_for_events(self, after: int, timeout: float) -> bool:
        if self._closed:
            return False
        feed = self._feed
        feed.start()
        deadline = time.monotonic() + max(0.0, timeout)
        next_poll = 0.0
        with feed.changed:
            news = feed.news
            trusted = (
                feed.mode is FeedMode.LIVE
                and self._verified_generation == feed.generation
                and time.monotonic() < self._recheck_at
            )
            # the feed generation of the last head check: none yet, unless one can be trusted
            checked = feed.generation if trusted else -1
        while True:
            with feed.changed:
                while True:
                    if self._closed or feed.is_closed():
                        return False
                    if feed.seen_head > after or feed.news != news:
                        return True
                    now = time.monotonic()
                    live = feed.mode is FeedMode.LIVE
                    if feed.generation != checked and (live or now >= next_poll):
                        break  # first look, or a new subscription: query the gap now
                    trusted = (
                        live
                        and self._verified_generation == feed.generation
                        and now < self._recheck_at
                    )
                    if not trusted and now >= next_poll:
                        break  # polling (feed down or refused), or the periodic re-check
                    if now >= deadline:
                        return False
                    due = self._recheck_at if trusted else next_poll
                    feed.changed.wait(max(0.0, min(deadline, due) - now))
                checking = feed.generation
            head = self.head_position()  # raises StoreUnavailableError when offline
            now = time.monotonic()
            checked, next_poll = checking, now + self._settings.poll_interval
            if live:
                self._verified_generation = checking
                self._recheck_at = now + self._settings.live_recheck_seconds
            if head > after:
                return True

    # ── lifecycle ─────────────────────────────────────────────────────────────────────────

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._feed.close()
        if self._owns_client:
            self._client.close()

    def _check_open(self) -> None:
        if self._closed:
            raise EventStoreError("The event store is closed.")


def open_deltabase(url: str, *, client: httpx.Client | None = None) -> DeltaBaseEventStore:
    """The store a ``deltabase+http(s)://`` URL names (settings from the URL and environment)."""
    return DeltaBaseEventStore(settings_from_url(url), client)


def _by_stream(event: RecordedEvent) -> int:
    return event.stream_position


def _by_global(event: RecordedEvent) -> int:
    return event.global_position
