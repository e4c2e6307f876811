"""Command handling: decide on cached state, append with the expected position, retry on conflict.

The fast path costs one append and no read: the state of each stream is cached with the
position it reflects, and the append's expected position proves the cache was current. When
another writer got there first the append fails with ``ConcurrencyError``, the cache catches up
with only the events after its position, and the command is decided again (jittered backoff,
bounded attempts). A rule violation decided on cached state is confirmed on fresh state before
it is reported, so a stale cache never refuses a valid command.

Idempotency: each event carries the command id and a hash of the request in its metadata.
The cache indexes them per stream, so a repeated command id returns the first result without
writing, and the same id with a different request is refused. Because every later write to the
stream moves its position, a repeat sent through any process is detected: either its cache
already holds the id, or its stale append conflicts and the catch-up reads it.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any, Generic, TypeVar

from bank_desktop.application.deciders import Decider
from bank_desktop.domain.errors import CommandIdReusedError, DomainError
from bank_desktop.eventstore.errors import ConcurrencyError
from bank_desktop.eventstore.port import NO_STREAM, EventStore, NewEvent, RecordedEvent

C = TypeVar("C")
E = TypeVar("E")
S = TypeVar("S")

_PAGE = 5000


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often to re-decide after a conflict, and how long to back off in between."""

    max_attempts: int = 10
    base_delay: float = 0.001
    max_delay: float = 0.05

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Full jitter: racing clerks spread out instead of colliding again in lockstep."""
        return rng.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))


@dataclass(frozen=True, slots=True)
class CommandResult(Generic[S]):
    """The outcome of one command; ``replayed`` when its id had been handled before."""

    stream_id: str
    events: tuple[RecordedEvent, ...]
    state: S
    stream_position: int
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class _CommandRecord(Generic[S]):
    fingerprint: str | None
    first: int
    last: int
    state: S


@dataclass(frozen=True, slots=True)
class _View(Generic[S]):
    """A stream's state as of ``position``; ``commands`` is shared and only ever grows."""

    state: S
    position: int
    commands: dict[str, _CommandRecord[S]]


def command_fingerprint(command: object) -> str:
    """A stable hash of what a command asks for (its time excluded), for idempotency checks.

    Decimals are normalised (5.0 and 5.00 ask for the same), so only a real difference in the
    request makes a reused command id a conflict.
    """
    kind = type(command)
    names = _FINGERPRINT_FIELDS.get(kind)
    if names is None:
        names = tuple(f.name for f in fields(command) if f.name != "at")  # type: ignore[arg-type]
        _FINGERPRINT_FIELDS[kind] = names
    parts = [str(getattr(command, "type", kind.__name__))]
    parts.extend(f"{name}={_canonical(getattr(command, name))}" for name in names)
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


_FINGERPRINT_FIELDS: dict[type, tuple[str, ...]] = {}


def _canonical(value: object) -> str:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return repr(value)


class CommandHandler:
    """Runs commands against one store with a bounded LRU cache of stream states.

    Safe to share between threads: cache entries are immutable apart from the append-only
    command index, and concurrent writers are sorted out by the store's expected position.
    """

    def __init__(
        self,
        store: EventStore,
        *,
        cache_size: int = 10_000,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._store = store
        self._cache: OrderedDict[tuple[str, str], _View[Any]] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._rng = rng or random.Random()

    @property
    def store(self) -> EventStore:
        return self._store

    def execute(
        self,
        stream_id: str,
        command: C,
        decider: Decider[C, E, S],
        *,
        command_id: str,
        metadata: Mapping[str, Any],
    ) -> CommandResult[S]:
        """Decide and append ``command``; see the module docstring for the guarantees."""
        fingerprint = command_fingerprint(command)
        view = self._cached(stream_id, decider)
        fresh = view is None
        if view is None:
            view = self._refresh(stream_id, decider, None)
        conflicts = 0
        while True:
            record = view.commands.get(command_id)
            if record is not None:
                return self._replay(stream_id, command_id, fingerprint, record)
            try:
                decided = decider.decide(command, view.state)
            except DomainError:
                if fresh:
                    raise
                view, fresh = self._refresh(stream_id, decider, view), True
                continue
            if not decided:
                return CommandResult(stream_id, (), view.state, view.position)
            event_metadata = {**metadata, "commandId": command_id, "requestHash": fingerprint}
            new_events = []
            for event in decided:
                type_, data = decider.encode(event)
                new_events.append(NewEvent(type_, data, event_metadata))
            try:
                result = self._store.append(stream_id, new_events, view.position or NO_STREAM)
            except ConcurrencyError:
                conflicts += 1
                if conflicts >= self._retry.max_attempts:
                    raise
                self._sleep(self._retry.delay(conflicts, self._rng))
                view, fresh = self._refresh(stream_id, decider, view), True
                continue
            state = view.state
            for event in decided:
                state = decider.evolve(state, event)
            view.commands[command_id] = _CommandRecord(
                fingerprint, view.position + 1, result.stream_position, state
            )
            self._remember(stream_id, decider, _View(state, result.stream_position, view.commands))
            return CommandResult(stream_id, result.events, state, result.stream_position)

    def current(self, stream_id: str, decider: Decider[C, E, S]) -> tuple[S, int]:
        """The stream's latest state and position, read through the cache (one catch-up read)."""
        view = self._refresh(stream_id, decider, self._cached(stream_id, decider))
        return view.state, view.position

    def forget(self, stream_id: str, decider: Decider[C, E, S]) -> None:
        with self._lock:
            self._cache.pop((decider.name, stream_id), None)

    # ── cache ─────────────────────────────────────────────────────────────────────────────

    def _cached(self, stream_id: str, decider: Decider[C, E, S]) -> _View[S] | None:
        key = (decider.name, stream_id)
        with self._lock:
            view = self._cache.get(key)
            if view is not None:
                self._cache.move_to_end(key)
            return view

    def _remember(self, stream_id: str, decider: Decider[C, E, S], view: _View[S]) -> None:
        key = (decider.name, stream_id)
        with self._lock:
            current = self._cache.get(key)
            if current is None or current.position < view.position:
                self._cache[key] = view
            self._cache.move_to_end(key)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    def _refresh(
        self, stream_id: str, decider: Decider[C, E, S], view: _View[S] | None
    ) -> _View[S]:
        if view is None:
            view = _View(decider.initial_state(), 0, {})
        while True:
            events = self._store.read_stream(stream_id, after=view.position, limit=_PAGE)
            if events:
                view = _fold(view, events, decider)
            if len(events) < _PAGE:
                break
        self._remember(stream_id, decider, view)
        return view

    def _replay(
        self, stream_id: str, command_id: str, fingerprint: str, record: _CommandRecord[S]
    ) -> CommandResult[S]:
        if record.fingerprint is not None and record.fingerprint != fingerprint:
            raise CommandIdReusedError(command_id)
        events = self._store.read_stream(
            stream_id, after=record.first - 1, limit=record.last - record.first + 1
        )
        return CommandResult(stream_id, tuple(events), record.state, record.last, replayed=True)


def _fold(view: _View[S], events: list[RecordedEvent], decider: Decider[Any, Any, S]) -> _View[S]:
    state = view.state
    commands = view.commands
    for recorded in events:
        event = decider.decode(recorded)
        if event is not None:
            state = decider.evolve(state, event)
        command_id = recorded.metadata.get("commandId")
        if not isinstance(command_id, str):
            continue
        position = recorded.stream_position
        record = commands.get(command_id)
        if record is None:
            fingerprint = recorded.metadata.get("requestHash")
            commands[command_id] = _CommandRecord(
                fingerprint if isinstance(fingerprint, str) else None, position, position, state
            )
        elif record.last == position - 1:
            commands[command_id] = _CommandRecord(record.fingerprint, record.first, position, state)
    return _View(state, events[-1].stream_position, commands)


def handle_command(
    store: EventStore,
    stream_id: str,
    command: C,
    decider: Decider[C, E, S],
    *,
    command_id: str,
    metadata: Mapping[str, Any] | None = None,
    handler: CommandHandler | None = None,
) -> CommandResult[S]:
    """One-shot form of :meth:`CommandHandler.execute` (pass a handler to keep its cache)."""
    runner = handler or CommandHandler(store)
    return runner.execute(
        stream_id, command, decider, command_id=command_id, metadata=metadata or {}
    )
