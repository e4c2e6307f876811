"""The live feed: WebSocket news, resuming after drops without gaps, polling when refused."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import pytest

from bank_desktop.application import BankService, SubscriptionRunner, SubscriptionState
from bank_desktop.application.projections import ReadModel
from bank_desktop.eventstore import NO_STREAM, NewEvent, RecordedEvent
from bank_desktop.eventstore.deltabase import DeltaBaseEventStore
from bank_desktop.eventstore.deltabase._live import FeedMode
from tests.deltabase.conftest import Running, new_name
from tests.deltabase.server import FakeDeltaBase

Opener = Callable[..., DeltaBaseEventStore]
#: No polling and no periodic re-check: only the WebSocket can wake a waiter in time.
WS_ONLY: dict[str, Any] = {"poll_interval": 600.0, "live_recheck_seconds": 600.0}


class Projection:
    """A ReadModel fed by a SubscriptionRunner, recording every position it was handed."""

    def __init__(self) -> None:
        self.model = ReadModel()
        self.positions: list[int] = []
        self.states: list[SubscriptionState] = []
        self.errors: list[str] = []
        self._changed = threading.Condition()

    def events(self, batch: Sequence[RecordedEvent]) -> None:
        with self._changed:
            self.positions.extend(e.global_position for e in batch)
            self.model.apply(batch)
            self._changed.notify_all()

    def status(self, status: Any) -> None:
        with self._changed:
            self.states.append(status.state)
            if status.error:
                self.errors.append(status.error)
            self._changed.notify_all()

    def wait(self, predicate: Callable[[], bool], timeout: float = 20.0) -> None:
        with self._changed:
            assert self._changed.wait_for(predicate, timeout), "projection did not get there"


def test_another_clients_append_wakes_a_waiter_over_the_websocket(
    open_delta: Opener, deltabase: Running
) -> None:
    reader = open_delta(**WS_ONLY)
    writer = open_delta(reader.settings.event_store)
    assert reader.start_live(wait=10) is FeedMode.LIVE
    assert reader.wait_for_events(0, 0) is False  # the head check that makes the feed trusted
    outcome: list[bool] = []
    waiting = threading.Thread(target=lambda: outcome.append(reader.wait_for_events(0, 30)))
    waiting.start()
    deltabase.fake.wait_for(lambda: deltabase.fake.live_subscribers() >= 1)
    writer.append("acct-1", [NewEvent("t", {})], NO_STREAM)
    waiting.join(40)
    assert outcome == [True]


@pytest.mark.parametrize("style", ["bare", "batch", "notify"])
def test_frames_in_other_shapes_also_wake(
    open_delta: Opener, deltabase: Running, style: str
) -> None:
    deltabase.fake.ws_style = style
    try:
        reader = open_delta(**WS_ONLY)
        writer = open_delta(reader.settings.event_store)
        assert reader.start_live(wait=10) is FeedMode.LIVE
        assert reader.wait_for_events(0, 0) is False
        outcome: list[bool] = []
        waiting = threading.Thread(target=lambda: outcome.append(reader.wait_for_events(0, 30)))
        waiting.start()
        writer.append("acct-1", [NewEvent("t", {})], NO_STREAM)
        waiting.join(40)
        assert outcome == [True]
    finally:
        deltabase.fake.ws_style = "wrapped"


def test_a_dropped_websocket_resumes_without_gaps_or_duplicates(
    open_delta: Opener, deltabase: Running
) -> None:
    fake = deltabase.fake
    reader = open_delta(**WS_ONLY)
    bank = BankService(open_delta(reader.settings.event_store), clerk_id="clerk-1")
    projection = Projection()
    runner = SubscriptionRunner(
        reader, projection.events, on_status=projection.status, idle_wait=60.0, batch_size=4
    )
    connections = fake.ws_connections
    runner.start()
    try:
        fake.wait_for(lambda: fake.ws_connections > connections and fake.live_subscribers() > 0)
        account = bank.open_account("cust-1", "100")
        for _ in range(5):
            bank.deposit(account, "1.10")
        projection.wait(lambda: len(projection.positions) == 6)

        # Drop the connection; the next one is cut mid-stream after two frames.
        fake.faults.add("ws", "ws_drop_after", frames=2)
        subscriptions = fake.ws_subscriptions
        assert fake.drop_websockets() >= 1
        fake.wait_for(lambda: fake.ws_subscriptions > subscriptions)
        for _ in range(6):
            bank.deposit(account, "2.00")
        fake.wait_for(lambda: fake.ws_subscriptions > subscriptions + 1)  # reconnected again
        bank.withdraw(account, "0.50")
        projection.wait(lambda: len(projection.positions) == 13)
        states = list(projection.states)
    finally:
        reader.close()  # wakes the runner's long wait
        runner.stop()
    assert projection.positions == list(range(1, 14))
    balance = projection.model.balances.get(account)
    assert balance is not None
    assert balance.balance == Decimal("117.00")
    assert SubscriptionState.OFFLINE not in states  # a dropped WebSocket is not "offline"
    assert fake.ws_connections >= connections + 3


def test_refused_websocket_falls_back_to_polling(caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeDeltaBase(api_key=None, ws_paths=())
    running = Running(fake)
    try:
        name = new_name()
        fake.create_store(name)
        reader = DeltaBaseEventStore(running.settings(name))
        writer = DeltaBaseEventStore(running.settings(name))
        with caplog.at_level(logging.WARNING):
            assert reader.start_live(wait=10) is FeedMode.POLLING
        assert "refused the live feed (HTTP 404" in caplog.text
        assert reader.wait_for_events(0, 0.05) is False
        outcome: list[bool] = []
        waiting = threading.Thread(target=lambda: outcome.append(reader.wait_for_events(0, 30)))
        waiting.start()
        writer.append("acct-1", [NewEvent("t", {})], NO_STREAM)
        waiting.join(40)
        assert outcome == [True]
        reader.close()
        writer.close()
    finally:
        running.close()


def test_a_403_on_every_path_falls_back_to_polling(open_delta: Opener, deltabase: Running):
    deltabase.fake.faults.add("ws", "ws_refuse", status=403, times=2)
    store = open_delta()
    assert store.start_live(wait=10) is FeedMode.POLLING
    store.append("acct-1", [NewEvent("t", {})], NO_STREAM)
    assert store.wait_for_events(0, 5) is True


def test_the_second_websocket_path_is_tried() -> None:
    fake = FakeDeltaBase(api_key=None, ws_paths=("/api/event-stores/{name}/events/ws",))
    running = Running(fake)
    try:
        name = new_name()
        fake.create_store(name)
        store = DeltaBaseEventStore(running.settings(name))
        assert store.start_live(wait=10) is FeedMode.LIVE
        store.close()
    finally:
        running.close()


def test_the_runner_shows_offline_then_live_again_when_deltabase_comes_back() -> None:
    fake = FakeDeltaBase(api_key=None)
    running = Running(fake)
    name = new_name()
    fake.create_store(name)
    port = running.served.port
    reader = DeltaBaseEventStore(running.settings(name, max_attempts=2))
    projection = Projection()
    runner = SubscriptionRunner(
        reader, projection.events, on_status=projection.status, idle_wait=0.2, max_backoff=0.2
    )
    runner.start()
    try:
        projection.wait(lambda: SubscriptionState.LIVE in projection.states)
        running.served.close()
        projection.wait(lambda: SubscriptionState.OFFLINE in projection.states)
        assert any("is not answering" in e for e in projection.errors)
        projection.states.clear()
        from tests.deltabase.threaded import ServedApp

        running.served = ServedApp(fake.app, port=port)
        fake.store(name).append("acct-1", [NewEvent("t", {"n": 1})], NO_STREAM)
        projection.wait(lambda: projection.positions == [1])
        projection.wait(lambda: SubscriptionState.LIVE in projection.states)
    finally:
        reader.close()
        runner.stop()
        running.close()
