"""The subscription runner: catch up, go live, report offline, resume without gaps."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from bank_desktop.application import (
    BankService,
    SubscriptionRunner,
    SubscriptionState,
    SubscriptionStatus,
)
from bank_desktop.eventstore import StoreUnavailableError
from bank_desktop.eventstore.port import EventStore, RecordedEvent
from tests.application.conftest import CountingStore


class Recorder:
    """Collects what the runner delivers and lets the test wait for a condition."""

    def __init__(self) -> None:
        self.positions: list[int] = []
        self.statuses: list[SubscriptionStatus] = []
        self._changed = threading.Condition()

    def events(self, batch: Sequence[RecordedEvent]) -> None:
        with self._changed:
            self.positions.extend(e.global_position for e in batch)
            self._changed.notify_all()

    def status(self, status: SubscriptionStatus) -> None:
        with self._changed:
            self.statuses.append(status)
            self._changed.notify_all()

    def wait(self, predicate: Any, timeout: float = 10.0) -> None:
        with self._changed:
            assert self._changed.wait_for(predicate, timeout), "condition not reached in time"

    def states(self) -> list[SubscriptionState]:
        return [s.state for s in self.statuses]


def test_catches_up_in_pages_then_delivers_live_in_order(store: EventStore) -> None:
    bank = BankService(store)
    account = bank.open_account("cust-1", "100")
    for _ in range(24):
        bank.deposit(account, "1")
    seen = Recorder()
    runner = SubscriptionRunner(
        store, seen.events, on_status=seen.status, batch_size=10, idle_wait=0.05
    )
    runner.start()
    try:
        seen.wait(lambda: len(seen.positions) == 25)
        seen.wait(lambda: SubscriptionState.LIVE in seen.states())
        assert SubscriptionState.CATCHING_UP in seen.states()
        catching = next(s for s in seen.statuses if s.state is SubscriptionState.CATCHING_UP)
        assert catching.behind > 0
        assert catching.describe().startswith("catching up")
        for _ in range(5):
            bank.withdraw(account, "1")
        seen.wait(lambda: len(seen.positions) == 30)
        assert seen.positions == list(range(1, 31))
        assert runner.status.describe() == "live"
    finally:
        runner.stop()
    assert runner.status.state is SubscriptionState.STOPPED


def test_starts_after_a_checkpoint(store: EventStore) -> None:
    bank = BankService(store)
    account = bank.open_account("cust-1", "100")
    bank.deposit(account, "1")
    bank.deposit(account, "1")
    seen = Recorder()
    runner = SubscriptionRunner(store, seen.events, after=2, idle_wait=0.05)
    runner.start()
    try:
        seen.wait(lambda: seen.positions == [3])
    finally:
        runner.stop()


class FlakyStore(CountingStore):
    """Fails reads while ``down`` is set, like a server that went away."""

    def __init__(self, inner: EventStore) -> None:
        super().__init__(inner)
        self.down = threading.Event()

    def read_all(self, **kwargs: Any) -> list[RecordedEvent]:
        if self.down.is_set():
            raise StoreUnavailableError("connection refused")
        return super().read_all(**kwargs)


def test_reports_offline_and_resumes_without_gaps_or_duplicates(store: EventStore) -> None:
    flaky = FlakyStore(store)
    bank = BankService(store)
    account = bank.open_account("cust-1", "100")
    seen = Recorder()
    runner = SubscriptionRunner(
        flaky, seen.events, on_status=seen.status, idle_wait=0.05, max_backoff=0.1
    )
    runner.start()
    try:
        seen.wait(lambda: seen.positions == [1])
        flaky.down.set()
        for _ in range(3):
            bank.deposit(account, "1")
        seen.wait(lambda: SubscriptionState.OFFLINE in seen.states())
        offline = next(s for s in seen.statuses if s.state is SubscriptionState.OFFLINE)
        assert offline.since is not None
        assert "connection refused" in (offline.error or "")
        assert offline.describe().startswith("offline since")
        flaky.down.clear()
        seen.wait(lambda: len(seen.positions) == 4)
        seen.wait(lambda: seen.statuses[-1].state is SubscriptionState.LIVE)
        assert seen.positions == [1, 2, 3, 4]
    finally:
        runner.stop()


def test_a_failing_consumer_gets_the_same_page_again(store: EventStore) -> None:
    bank = BankService(store)
    bank.open_account("cust-1", "100")
    attempts: list[list[int]] = []
    done = threading.Event()

    def consume(batch: Sequence[RecordedEvent]) -> None:
        attempts.append([e.global_position for e in batch])
        if len(attempts) == 1:
            raise RuntimeError("projection bug")
        done.set()

    runner = SubscriptionRunner(store, consume, idle_wait=0.05, max_backoff=0.05)
    runner.start()
    try:
        assert done.wait(10)
    finally:
        runner.stop()
    assert attempts[:2] == [[1], [1]]


def test_idle_runner_waits_on_the_store_instead_of_spinning(store: EventStore) -> None:
    counting = CountingStore(store)
    seen = Recorder()
    runner = SubscriptionRunner(counting, seen.events, on_status=seen.status, idle_wait=0.2)
    runner.start()
    try:
        seen.wait(lambda: SubscriptionState.LIVE in seen.states())
        reads_when_live = counting.reads
        # with nothing new, each read is followed by a wait of up to idle_wait
        threading.Event().wait(0.5)
        assert counting.reads - reads_when_live <= 4
    finally:
        runner.stop()
