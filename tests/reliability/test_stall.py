"""A silently stalled PostgreSQL link: a command fails within the bound, nothing is half-written.

The link is a TCP relay (``proxy.py``) that stops forwarding without a word: the connections
stay open, no error ever comes, and only a timeout of our own can end the wait. Before the
bound covered more than connecting, a command hung for as long as the stall lasted.

* A deposit on a stalled link fails with StoreUnavailableError within the bound (small here),
  naming the store with its password masked; the API answers 503; once the link flows again
  the same store works. What the stalled commands had sent may reach the server late (the
  relay delivers what it held, as a network that recovers does), so their outcome is unknown
  to the client, as it is for any COMMIT whose answer was lost: repeated with the same request
  id, each is recorded exactly once.
* A link that stalls in the middle of an append (after the store-wide append lock was taken,
  before the rows were sent) does not block the other desks: the server ends the silent
  transaction after the bound, a writer on another connection goes on, and the stalled append
  is absent, not half there.
* A slow but live link (every chunk delayed, well under the bound, a command taking several
  times the bound in all) still works: the bound is on silence, not on the whole command.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from bank_desktop.application import BankService
from bank_desktop.eventstore import (
    NO_STREAM,
    EventStore,
    NewEvent,
    StoreUnavailableError,
    open_store,
    prepare_store,
)
from bank_desktop.eventstore.postgres import PostgresEventStore
from bank_desktop.http import ServeSettings, create_app
from tests.http.conftest import TOKEN, ThreadedServer
from tests.reliability.conftest import Figures
from tests.reliability.proxy import Relay

pytestmark = pytest.mark.slow

BOUND = 2.0  #: the store's timeout in these tests (the default is 10 s)
#: A generous upper limit that proves a call does not hang; it is not a performance figure.
NO_HANG = BOUND * 3 + 10
SECRET = "stall-secret-pw"  #: a password in the URL (trust auth ignores it)


@dataclass
class Link:
    relay: Relay
    url: str  #: through the relay, with a password
    direct: str  #: straight to the server


@pytest.fixture
def link(postgres_url: str) -> Iterator[Link]:
    store, _ = prepare_store(postgres_url)
    store.close()
    server = urlsplit(postgres_url)
    relay = Relay((server.hostname or "", server.port or 5432))
    netloc = f"{server.username}:{SECRET}@127.0.0.1:{relay.port}"
    yield Link(relay, urlunsplit(server._replace(netloc=netloc)), postgres_url)
    relay.close()


def _within(limit: float, action: Callable[[], Any]) -> tuple[Any, BaseException | None, float]:
    """Run ``action`` on a thread; its result or exception and the seconds it took. Fails the
    test (instead of hanging it) when ``action`` is still running after ``limit`` seconds."""
    outcome: dict[str, Any] = {}

    def call() -> None:
        started = time.monotonic()
        try:
            outcome["result"] = action()
        except BaseException as exc:
            outcome["error"] = exc
        outcome["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(limit)
    assert not thread.is_alive(), f"still waiting after {limit:.0f} s: it hangs"
    return outcome.get("result"), outcome.get("error"), outcome["seconds"]


def _commands_in(store: EventStore, stream: str) -> list[str]:
    return [str(event.metadata.get("commandId")) for event in store.read_stream(stream)]


def test_a_stalled_link_fails_a_command_within_the_bound_and_a_retry_applies_it_once(
    link: Link, figures: Figures
) -> None:
    direct = open_store(link.direct)
    account = BankService(direct, clerk_id="setup").open_account("cust-1", "100")
    store = PostgresEventStore(link.url, timeout=BOUND)
    bank = BankService(store, clerk_id="teller")
    api_store = PostgresEventStore(link.url, timeout=BOUND)
    server = ThreadedServer(
        create_app(
            api_store,
            ServeSettings(clerk_id="api", projection_token=TOKEN, idle_wait=0.05, open=True),
        )
    )
    server.start()
    api = httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=NO_HANG)
    try:
        assert bank.deposit(account, "1.00", command_id="before-1") == 101

        link.relay.stall()
        _, error, seconds = _within(
            NO_HANG, lambda: bank.deposit(account, "5.00", command_id="stalled-1")
        )
        assert isinstance(error, StoreUnavailableError), repr(error)
        message = str(error)
        assert "did not answer within 2 s" in message, message
        assert "***@127.0.0.1" in message
        assert SECRET not in message
        response, _, api_seconds = _within(
            NO_HANG,
            lambda: api.post(
                f"/accounts/{account}/deposit",
                json={"amount": 7},
                headers={"Idempotency-Key": "stalled-api-1"},
            ),
        )
        assert response.status_code == 503, response.text
        assert SECRET not in response.text

        link.relay.resume()
        assert bank.deposit(account, "2.00", command_id="after-1") > 0
        # the clerk repeats both with their request ids, as the CLI and the window advise
        bank.deposit(account, "5.00", command_id="stalled-1")
        retried = api.post(
            f"/accounts/{account}/deposit",
            json={"amount": 7},
            headers={"Idempotency-Key": "stalled-api-1"},
        )
        assert retried.status_code == 200, retried.text
        commands = _commands_in(direct, account)
        for command in ("before-1", "stalled-1", "stalled-api-1", "after-1"):
            assert commands.count(command) == 1, (command, commands)
        assert BankService(direct, clerk_id="check").get_account(account).balance == 115
        figures.add(
            bound_s=BOUND,
            command_failed_after_s=seconds,
            api_answered_503_after_s=api_seconds,
        )
    finally:
        link.relay.resume()
        api.close()
        server.stop()
        api_store.close()
        store.close()
        direct.close()


def test_a_link_stalled_inside_an_append_neither_half_writes_nor_blocks_other_desks(
    link: Link, figures: Figures
) -> None:
    store = PostgresEventStore(link.url, timeout=BOUND)
    other = open_store(link.direct)
    try:
        store.append("warm-up", [NewEvent("t", {})], NO_STREAM)
        # Another desk writes, so the next append's guess of the head is wrong and it takes
        # the careful way: the lock and the reads in one round trip, then the INSERT, NOTIFY
        # and COMMIT, which are held: by then its transaction holds the append lock.
        other.append("meanwhile", [NewEvent("t", {})], NO_STREAM)
        link.relay.stall_on(b"EXECUTE bank_insert_rows(")
        _, error, seconds = _within(
            NO_HANG, lambda: store.append("stalled", [NewEvent("t", {"n": 1})] * 3, NO_STREAM)
        )
        assert isinstance(error, StoreUnavailableError), repr(error)
        assert link.relay.stalled
        # Another desk, on its own connection, writes while the link is still stalled: the
        # server ended the silent transaction and its lock with it.
        result, other_error, other_seconds = _within(
            NO_HANG, lambda: other.append("other-desk", [NewEvent("t", {})], NO_STREAM)
        )
        assert other_error is None, repr(other_error)
        assert result.stream_position == 1
        link.relay.resume()
        assert other.read_stream("stalled") == []
        assert store.append("after", [NewEvent("t", {})], NO_STREAM).stream_position == 1
        figures.add(
            bound_s=BOUND,
            append_failed_after_s=seconds,
            other_desk_waited_s=other_seconds,
        )
    finally:
        link.relay.resume()
        store.close()
        other.close()


def test_a_slow_but_live_link_still_works(link: Link, figures: Figures) -> None:
    direct = open_store(link.direct)
    account = BankService(direct, clerk_id="setup").open_account("cust-1", "100")
    store = PostgresEventStore(link.url, timeout=BOUND)
    bank = BankService(store, clerk_id="teller")
    try:
        # Each chunk waits 0.3 s each way: a round trip is silent for 0.6 s, under the bound,
        # and the deposit (a dozen round trips) takes several times the bound in all.
        link.relay.delay = 0.3
        started = time.monotonic()
        assert bank.deposit(account, "10.00", command_id="slow-1") == 110
        seconds = time.monotonic() - started
        link.relay.delay = 0
        assert _commands_in(direct, account)[-1] == "slow-1"
        figures.add(bound_s=BOUND, chunk_delay_s=0.3, deposit_took_s=seconds)
    finally:
        link.relay.delay = 0
        store.close()
        direct.close()
