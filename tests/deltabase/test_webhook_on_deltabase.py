"""The whole loop on DeltaBase: a deployed webhook delivers the store's events to ``serve``,
which confirms each against the store before its read model moves (and always from the store)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal

import httpx

import deltabase_config
from bank_desktop.application import BankService
from bank_desktop.eventstore.deltabase import DeltaBaseEventStore, deploy
from bank_desktop.http import ServeSettings, create_app
from tests.deltabase.conftest import Running
from tests.deltabase.test_deploy import TOKEN, seed_env
from tests.http.conftest import ThreadedServer

PATH = "/api/projections/balances/events"


def test_deliveries_of_the_store_are_confirmed_and_forged_ones_refused(
    open_delta: Callable[..., DeltaBaseEventStore], deltabase: Running
) -> None:
    store = open_delta(create=False)
    settings = ServeSettings(clerk_id="api", projection_token=TOKEN, idle_wait=0.05, open=True)
    app = create_app(store, settings)
    server = ThreadedServer(app)  # listening: its URL goes into the subscription
    base = f"http://127.0.0.1:{server.port}"
    attempts = _Attempts()
    deltabase.fake.webhooks.attempts = attempts
    deploy(deltabase_config.load_config(seed_env(store.settings.event_store, base)), store)
    server.start()
    try:
        bank = BankService(store, clerk_id="clerk-3")
        account = bank.open_account("cust-9", "100")
        bank.deposit(account, "25.50")
        # The subscription delivers both events (in one or two posts); each post answered 200
        # means the store confirmed every event in it.
        outcomes = attempts.wait_until(lambda seen: sum(1 for _, o in seen if o == 200) >= 1)
        assert all(outcome == 200 for _, outcome in outcomes), outcomes
        with httpx.Client(base_url=base, timeout=30) as client:
            row = client.get(f"/accounts/{account}").json()
            assert Decimal(str(row["balance"])) == Decimal("125.50")
            real = store.read_stream(account)[-1]
            forged = {
                "streamId": account,
                "streamPosition": real.stream_position - 1,  # DeltaBase counts from 0
                "globalPosition": real.global_position,
                "eventId": real.event_id,
                "type": real.type,
                "data": {**real.data, "amount": 1_000_000},
                "createdAt": "2026-11-26T08:00:00.000Z",
            }
            refused = client.post(
                PATH, json={"events": [forged]}, headers={"Authorization": f"Bearer {TOKEN}"}
            )
            assert refused.status_code == 400, refused.text
            row = client.get(f"/accounts/{account}").json()
            assert Decimal(str(row["balance"])) == Decimal("125.50")
    finally:
        server.stop()


class _Attempts(list[tuple[str, object]]):
    """The fake DeltaBase's record of delivery attempts, with a way to wait for them."""

    def __init__(self) -> None:
        super().__init__()
        self._changed = threading.Condition()

    def append(self, item: tuple[str, object]) -> None:
        with self._changed:
            super().append(item)
            self._changed.notify_all()

    def wait_until(
        self, done: Callable[[list[tuple[str, object]]], bool], timeout: float = 30.0
    ) -> list[tuple[str, object]]:
        with self._changed:
            assert self._changed.wait_for(lambda: done(list(self)), timeout), list(self)
            return list(self)
