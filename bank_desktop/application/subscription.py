"""Catch-up-then-live delivery of events in global order, on a thread of its own.

The runner reads pages after its position and hands each page to ``on_events``; once a page
comes back short it is live and waits on the store's cheapest change signal
(``wait_for_events``: a condition variable, a polled head, LISTEN/NOTIFY or a WebSocket).
Any store failure turns the status to offline and is retried from the same position, with the
shared :class:`~bank_desktop.backoff.Backoff` (full jitter, capped at ``max_backoff``), so
nothing is skipped and, as consumers are idempotent, a page redelivered after a failure does no
harm. Status changes go to ``on_status``: live, catching up (with how many
events behind), or offline since when and why.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bank_desktop.application.clock import Clock, system_clock
from bank_desktop.backoff import Backoff
from bank_desktop.eventstore.errors import EventStoreError
from bank_desktop.eventstore.port import EventStore, RecordedEvent

_log = logging.getLogger(__name__)


class SubscriptionState(enum.Enum):
    STARTING = "starting"
    CATCHING_UP = "catching up"
    LIVE = "live"
    OFFLINE = "offline"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class SubscriptionStatus:
    state: SubscriptionState
    position: int  #: the last global position delivered
    behind: int = 0  #: events known to exist beyond ``position``
    since: datetime | None = None  #: when it went offline
    error: str | None = None

    def describe(self) -> str:
        """One line for a status bar: "live", "catching up 1,204 events", "offline since …"."""
        match self.state:
            case SubscriptionState.LIVE:
                return "live"
            case SubscriptionState.CATCHING_UP:
                return f"catching up {self.behind:,} events"
            case SubscriptionState.OFFLINE:
                since = self.since.astimezone().strftime("%H:%M:%S") if self.since else "?"
                return f"offline since {since}: {self.error}"
            case _:
                return str(self.state.value)


EventsHandler = Callable[[Sequence[RecordedEvent]], None]
StatusHandler = Callable[[SubscriptionStatus], None]


class SubscriptionRunner:
    """Delivers every event after ``after`` exactly in global order to ``on_events``."""

    def __init__(
        self,
        store: EventStore,
        on_events: EventsHandler,
        *,
        after: int = 0,
        on_status: StatusHandler | None = None,
        batch_size: int = 1000,
        idle_wait: float = 0.5,
        max_backoff: float = 10.0,
        clock: Clock = system_clock,
        name: str = "subscription",
        with_metadata: bool = True,
        gather: float = 0.0,
    ) -> None:
        """``gather``: once news arrives while live, wait this long before reading, so that a
        stream of single commits is read and applied a few at a time rather than one by one
        (each read, wake-up and apply costs the same for one event as for ten). It delays
        delivery by at most that much; 0 reads at once."""
        self._store = store
        self._on_events = on_events
        self._on_status = on_status
        self._position = after
        self._batch_size = batch_size
        self._idle_wait = idle_wait
        self._backoff = Backoff(base=0.5, cap=max_backoff)
        self._clock = clock
        self._name = name
        self._with_metadata = with_metadata
        self._gather = gather
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._status = SubscriptionStatus(SubscriptionState.STARTING, after)

    @property
    def status(self) -> SubscriptionStatus:
        return self._status

    @property
    def position(self) -> int:
        return self._position

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("The subscription is already running.")
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._report(SubscriptionStatus(SubscriptionState.STOPPED, self._position))

    def _report(self, status: SubscriptionStatus) -> None:
        if status == self._status:
            return
        self._status = status
        if self._on_status is not None:
            try:
                self._on_status(status)
            except Exception:
                _log.exception("Subscription status handler failed")

    def _run(self) -> None:
        failures = 0
        offline_since: datetime | None = None
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception as exc:
                if not isinstance(exc, EventStoreError):
                    # A consumer bug: keep the position, say so, and retry the same page later.
                    _log.exception("Event handler failed at position %s", self._position)
                failures += 1
                offline_since = offline_since or self._clock()
                error = str(exc) if isinstance(exc, EventStoreError) else f"internal error: {exc}"
                self._report(
                    SubscriptionStatus(
                        SubscriptionState.OFFLINE, self._position, since=offline_since, error=error
                    )
                )
                self._stop.wait(self._backoff.delay(failures))
                continue
            failures, offline_since = 0, None

    def poll_once(self) -> int:
        """Deliver one page (and, caught up by it, wait for news), or wait for news when there
        is none; returns the events delivered."""
        events = self._store.read_all(
            after=self._position, limit=self._batch_size, with_metadata=self._with_metadata
        )
        if events:
            if len(events) == self._batch_size:
                behind = max(0, self._store.head_position() - events[-1].global_position)
                self._report(
                    SubscriptionStatus(SubscriptionState.CATCHING_UP, self._position, behind)
                )
            self._on_events(events)
            self._position = events[-1].global_position
            if len(events) < self._batch_size:
                # Caught up: wait for news at once (the wait reads the head first) rather than
                # reading an empty page to find out.
                self._report(SubscriptionStatus(SubscriptionState.LIVE, self._position))
                self._wait_for_news()
            return len(events)
        self._report(SubscriptionStatus(SubscriptionState.LIVE, self._position))
        self._wait_for_news()
        return 0

    def _wait_for_news(self) -> None:
        if self._stop.is_set():
            return
        if self._store.wait_for_events(self._position, self._idle_wait) and self._gather > 0:
            self._stop.wait(self._gather)
