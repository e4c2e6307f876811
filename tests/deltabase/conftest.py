"""Fixtures: one test DeltaBase per session on 127.0.0.1, a fresh event store per test."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bank_desktop.eventstore.deltabase import DeltaBaseEventStore, DeltaBaseSettings, Secret
from tests.deltabase.server import FakeDeltaBase
from tests.deltabase.threaded import ServedApp

API_KEY = "db_test_key"

#: Settings that keep the fault tests fast: short backoffs and timeouts, no proxies.
FAST: dict[str, Any] = {
    "backoff_initial": 0.01,
    "backoff_max": 0.05,
    "read_timeout": 5.0,
    "connect_timeout": 2.0,
    "poll_interval": 0.05,
    "reconnect_initial": 0.02,
    "reconnect_max": 0.2,
    "trust_env": False,
}


class Running:
    """A served FakeDeltaBase."""

    def __init__(self, fake: FakeDeltaBase) -> None:
        self.fake = fake
        self.served = ServedApp(fake.app)
        self.url = self.served.url

    def settings(self, name: str, **changes: Any) -> DeltaBaseSettings:
        options = {**FAST, **changes}
        key = options.pop("api_key", API_KEY)
        return DeltaBaseSettings(
            base_url=self.url,
            event_store=name,
            api_key=Secret(key) if key else None,
            **options,
        )

    def store_url(self, name: str) -> str:
        return f"deltabase+http://127.0.0.1:{self.served.port}/{name}"

    def close(self) -> None:
        self.fake.faults.release()
        self.fake.webhooks.close()
        self.served.close()


def new_name() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def deltabase() -> Iterator[Running]:
    running = Running(FakeDeltaBase(api_key=API_KEY))
    yield running
    running.close()


@pytest.fixture(autouse=True)
def _reset_switches(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "deltabase" in request.fixturenames:
        fake: FakeDeltaBase = request.getfixturevalue("deltabase").fake
        fake.faults.clear()
        fake.forbidden = False
        fake.ws_style = "wrapped"


@pytest.fixture
def open_delta(deltabase: Running) -> Iterator[Callable[..., DeltaBaseEventStore]]:
    """Opens adapters on fresh event stores of the session's server; all closed afterwards."""
    opened: list[DeltaBaseEventStore] = []

    def make(
        name: str | None = None, *, create: bool = True, **changes: Any
    ) -> DeltaBaseEventStore:
        name = name or new_name()
        if create and name not in deltabase.fake.stores:
            deltabase.fake.create_store(name)
        store = DeltaBaseEventStore(deltabase.settings(name, **changes))
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()
