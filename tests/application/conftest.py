"""Stores for application tests: every behaviour is checked on memory and on a SQLite file."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bank_desktop.eventstore import open_store
from bank_desktop.eventstore.port import (
    AppendRequest,
    AppendResult,
    EventStore,
    ExpectedPosition,
    NewEvent,
    RecordedEvent,
)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EventStore]:
    url = "memory://" if request.param == "memory" else f"sqlite://{tmp_path / 'bank.db'}"
    opened = open_store(url)
    yield opened
    opened.close()


class StepClock:
    """A deterministic clock: each call is one millisecond after the previous one."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now


class CountingStore:
    """Wraps a store and counts reads and appends, to prove what a command costs."""

    def __init__(self, inner: EventStore) -> None:
        self.inner = inner
        self.reads = 0
        self.appends = 0
        self.before_append: Callable[[str], None] | None = None
        self.optimistic_only = False  # hide append_decided/_many, like a store without (DeltaBase)
        self.no_fast_digest = False  # hide chain_digest, like a store that lends none

    @property
    def url(self) -> str:
        return self.inner.url

    def append(
        self, stream_id: str, events: Sequence[NewEvent], expected: ExpectedPosition
    ) -> AppendResult:
        self.appends += 1
        if self.before_append is not None:
            hook, self.before_append = self.before_append, None
            hook(stream_id)
        return self.inner.append(stream_id, events, expected)

    def read_stream(
        self, stream_id: str, *, after: int = 0, limit: int | None = None
    ) -> list[RecordedEvent]:
        self.reads += 1
        return self.inner.read_stream(stream_id, after=after, limit=limit)

    def stream_position(self, stream_id: str) -> int:
        self.reads += 1
        return self.inner.stream_position(stream_id)

    def read_all(
        self,
        *,
        after: int = 0,
        limit: int = 1000,
        types: Collection[str] | None = None,
        with_metadata: bool = True,
    ) -> list[RecordedEvent]:
        self.reads += 1
        return self.inner.read_all(
            after=after, limit=limit, types=types, with_metadata=with_metadata
        )

    def head_position(self) -> int:
        return self.inner.head_position()

    def wait_for_events(self, after: int, timeout: float) -> bool:
        return self.inner.wait_for_events(after, timeout)

    def close(self) -> None:
        self.inner.close()

    def __getattr__(self, name: str) -> Any:
        if name in ("append_decided", "append_many") and self.optimistic_only:
            raise AttributeError(name)
        if name == "chain_digest" and self.no_fast_digest:
            raise AttributeError(name)
        if name == "append_many":
            return self._append_many
        return getattr(self.inner, name)

    def _append_many(self, requests: Sequence[AppendRequest]) -> list[AppendResult]:
        self.appends += 1
        if self.before_append is not None:
            hook, self.before_append = self.before_append, None
            hook(requests[-1].stream_id)
        return self.inner.append_many(requests)  # type: ignore[attr-defined, no-any-return]
