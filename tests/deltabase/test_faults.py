"""Injected faults: each gives a clear message, and no event is ever lost or doubled.

Every test checks the test server's own store afterwards: what DeltaBase holds is the truth.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from bank_desktop.application import BankService
from bank_desktop.eventstore import (
    ANY,
    NO_STREAM,
    ConcurrencyError,
    EventStoreError,
    NewEvent,
    StoreConfigError,
    StoreUnavailableError,
)
from bank_desktop.eventstore.deltabase import DeltaBaseEventStore
from tests.deltabase.conftest import API_KEY, Running
from tests.deltabase.server import FakeDeltaBase
from tests.deltabase.threaded import ServedApp

Opener = Callable[..., DeltaBaseEventStore]


def held(deltabase: Running, store: DeltaBaseEventStore, stream_id: str) -> list[str]:
    """The event ids DeltaBase holds for a stream (our ids, from the metadata)."""
    events = deltabase.fake.store(store.settings.event_store).read_stream(stream_id)
    return [e.metadata["clientEventId"] for e in events]


def deposit(amount: str = "10.00", command: str = "cmd-1") -> NewEvent:
    return NewEvent(
        "money.deposited",
        {"accountId": "acct-1", "amount": Decimal(amount)},
        {"commandId": command, "clerkId": "clerk-1"},
    )


# ── appends whose outcome is unknown ──────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("kind", "options"),
    [
        pytest.param("hold_after_write", {}, id="timeout-after-write"),
        pytest.param("status_after_write", {"status": 500}, id="500-after-write"),
        pytest.param("status_after_write", {"status": 503}, id="503-after-write"),
        pytest.param("drop_after_write", {}, id="connection-dropped-mid-answer"),
        pytest.param("malformed", {}, id="unreadable-answer"),
        pytest.param("missing_field", {"field": "globalPosition"}, id="answer-missing-field"),
        pytest.param("drop_before", {}, id="connection-dropped-before-write"),
        pytest.param("status", {"status": 500}, id="500-before-write"),
        pytest.param("status", {"status": 429, "retry_after": "0"}, id="429-rate-limited"),
        pytest.param("delay", {"seconds": 0.05}, id="slow-answer"),
    ],
)
@pytest.mark.parametrize("expected", [NO_STREAM, ANY], ids=["no_stream", "any"])
def test_append_with_unknown_outcome_is_stored_exactly_once(
    open_delta: Opener, deltabase: Running, kind: str, options: dict, expected: object
) -> None:
    store = open_delta(read_timeout=0.5)
    deltabase.fake.faults.add("append", kind, **options)
    events = [deposit(), deposit("0.10")]
    result = store.append("acct-1", events, expected)  # type: ignore[arg-type]
    assert held(deltabase, store, "acct-1") == [e.event_id for e in events]
    assert [e.event_id for e in result.events] == [e.event_id for e in events]
    assert result.stream_position == 2
    assert result.global_positions == (1, 2)
    assert [e.data["amount"] for e in store.read_stream("acct-1")] == [
        Decimal("10.00"),
        Decimal("0.10"),
    ]


def test_a_timed_out_deposit_through_the_bank_is_posted_once(
    open_delta: Opener, deltabase: Running
) -> None:
    store = open_delta(read_timeout=0.5)
    bank = BankService(store, clerk_id="clerk-1")
    account = bank.open_account("cust-1", "100")
    deltabase.fake.faults.add("append", "hold_after_write")
    assert bank.deposit(account, "50", command_id="deposit-1") == Decimal("150.00")
    # The clerk presses Enter again: the same request is recognised, not posted twice.
    assert bank.deposit(account, "50", command_id="deposit-1") == Decimal("150.00")
    other = BankService(open_delta(store.settings.event_store))
    assert other.deposit(account, "50", command_id="deposit-1") == Decimal("150.00")
    events = deltabase.fake.store(store.settings.event_store).read_stream(account)
    assert [e.type for e in events] == ["account.opened", "money.deposited"]


def test_an_append_the_server_keeps_failing_is_reported_and_not_stored(
    open_delta: Opener, deltabase: Running
) -> None:
    store = open_delta()
    deltabase.fake.faults.add("append", "status", status=500, times=100)
    with pytest.raises(StoreUnavailableError) as failed:
        store.append("acct-1", [deposit()], NO_STREAM)
    message = str(failed.value)
    assert "did not confirm saving the events for acct-1" in message
    assert "will not save it twice" in message
    assert held(deltabase, store, "acct-1") == []


def test_an_append_that_never_leaves_says_nothing_was_saved() -> None:
    fake = FakeDeltaBase()
    served = ServedApp(fake.app)
    url = served.url
    served.close()  # nothing listens on that port any more
    from bank_desktop.eventstore.deltabase import DeltaBaseSettings
    from tests.deltabase.conftest import FAST

    store = DeltaBaseEventStore(DeltaBaseSettings(base_url=url, event_store="banking", **FAST))
    try:
        with pytest.raises(StoreUnavailableError, match="nothing was saved") as failed:
            store.append("acct-1", [deposit()], NO_STREAM)
        assert "Check the network connection" in str(failed.value)
        with pytest.raises(StoreUnavailableError, match="is not answering") as reading:
            store.read_all()
        assert "cannot connect" in str(reading.value)
    finally:
        store.close()


# ── conflicts ─────────────────────────────────────────────────────────────────────────────


def test_a_409_is_a_concurrency_error_with_the_real_position(
    open_delta: Opener, deltabase: Running
) -> None:
    store = open_delta()
    store.append("acct-1", [deposit(), deposit()], NO_STREAM)
    deltabase.fake.faults.add("append", "status", status=409)
    with pytest.raises(ConcurrencyError) as conflict:
        store.append("acct-1", [deposit()], 2)
    assert (conflict.value.stream_id, conflict.value.expected, conflict.value.actual) == (
        "acct-1",
        2,
        2,
    )
    assert "acct-1 changed meanwhile" in str(conflict.value)
    assert len(held(deltabase, store, "acct-1")) == 2


def test_a_409_without_details_reads_the_position(open_delta: Opener, deltabase: Running):
    store = open_delta()
    store.append("acct-1", [deposit()], NO_STREAM)
    deltabase.fake.faults.add(
        "append", "status", status=409, body={"error": "CONFLICT", "message": "Stream version"}
    )
    with pytest.raises(ConcurrencyError) as conflict:
        store.append("acct-1", [deposit()], 1)
    assert conflict.value.actual == 1


def test_the_bank_rides_over_a_conflict(open_delta: Opener, deltabase: Running) -> None:
    store = open_delta()
    bank = BankService(store)
    account = bank.open_account("cust-1", "100")
    deltabase.fake.faults.add("append", "status", status=409)
    assert bank.withdraw(account, "30") == Decimal("70.00")
    events = deltabase.fake.store(store.settings.event_store).read_stream(account)
    assert [e.type for e in events] == ["account.opened", "money.withdrawn"]


def test_a_first_attempt_landing_late_is_not_doubled(open_delta: Opener, deltabase: Running):
    # The first attempt times out and has not landed when the stream is checked; it lands
    # just before the second attempt, which meets our own write as a 409: success, once.
    store = open_delta(read_timeout=0.3)
    store.append("acct-1", [deposit()], NO_STREAM)
    faults = deltabase.fake.faults
    faults.add("append", "late_write", gate="late")
    faults.add("append", "release", gate="late")
    event = deposit("1.00", "cmd-2")
    result = store.append("acct-1", [event], 1)
    assert result.stream_position == 2
    assert held(deltabase, store, "acct-1")[1:] == [event.event_id]
    assert faults.requests["append"] == 3  # the first, the late one's answer lost, the second


def test_a_late_first_attempt_with_any_is_not_doubled(open_delta: Opener, deltabase: Running):
    # ANY cannot conflict, so the second attempt is sent with the exact position seen.
    store = open_delta(read_timeout=0.3)
    store.append("acct-1", [deposit()], NO_STREAM)
    faults = deltabase.fake.faults
    faults.add("append", "late_write", gate="late")
    faults.add("append", "release", gate="late")
    event = deposit("1.00", "cmd-2")
    store.append("acct-1", [event], ANY)
    assert held(deltabase, store, "acct-1")[1:] == [event.event_id]


# ── reads ─────────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("kind", "options"),
    [
        pytest.param("status", {"status": 500, "times": 2}, id="500"),
        pytest.param("status", {"status": 502}, id="502"),
        pytest.param("status", {"status": 429, "retry_after": "0.01"}, id="429"),
        pytest.param("drop_before", {}, id="dropped"),
        pytest.param("malformed", {}, id="not-json"),
        pytest.param("hold_after_write", {}, id="timeout"),
    ],
)
def test_reads_are_retried(open_delta: Opener, deltabase: Running, kind: str, options: dict):
    store = open_delta(read_timeout=0.5)
    store.append("acct-1", [deposit(), deposit()], NO_STREAM)
    for route in ("query", "stream_events"):
        deltabase.fake.faults.add(route, kind, **options)
    assert len(store.read_all()) == 2
    assert len(store.read_stream("acct-1")) == 2
    assert store.stream_position("acct-1") == 2


def test_reads_give_up_with_a_clerk_readable_message(open_delta: Opener, deltabase: Running):
    store = open_delta()
    deltabase.fake.faults.add("query", "status", status=503, times=100)
    with pytest.raises(StoreUnavailableError) as failed:
        store.read_all()
    message = str(failed.value)
    assert message.startswith(f"DeltaBase at {store.settings.host} is not answering")
    assert "could not read events after 4 attempts (HTTP 503 server error" in message
    assert "Check the network connection" in message


def test_a_missing_field_is_named(open_delta: Opener, deltabase: Running) -> None:
    store = open_delta()
    store.append("acct-1", [deposit()], NO_STREAM)
    deltabase.fake.faults.add("stream_events", "missing_field", field="streamPosition")
    with pytest.raises(EventStoreError, match="required field 'streamPosition'"):
        store.read_stream("acct-1")


# ── configuration problems ────────────────────────────────────────────────────────────────


def test_a_wrong_api_key_says_to_check_it(open_delta: Opener) -> None:
    store = open_delta(api_key="db_wrong_key_123")
    with pytest.raises(StoreConfigError) as refused:
        store.append("acct-1", [deposit()], NO_STREAM)
    assert "HTTP 401" in str(refused.value)
    assert "check your API key (DELTABASE_API_KEY)" in str(refused.value)
    assert "db_wrong_key_123" not in str(refused.value)
    with pytest.raises(StoreConfigError, match="check your API key"):
        store.read_all()


def test_a_key_without_permission_says_so(open_delta: Opener, deltabase: Running) -> None:
    store = open_delta()
    deltabase.fake.forbidden = True
    with pytest.raises(StoreConfigError, match=r"HTTP 403.*check your API key's permissions"):
        store.read_stream("acct-1")
    with pytest.raises(StoreConfigError, match="permissions"):
        store.append("acct-1", [deposit()], NO_STREAM)


def test_a_missing_event_store_says_to_deploy(open_delta: Opener) -> None:
    store = open_delta("never-deployed", create=False)
    with pytest.raises(StoreConfigError) as missing:
        store.head_position()
    message = str(missing.value)
    assert "has no event store 'never-deployed'" in message
    assert "run `bank-desktop deploy`" in message
    with pytest.raises(StoreConfigError, match="bank-desktop deploy"):
        store.append("acct-1", [deposit()], NO_STREAM)


def test_a_wrong_prefix_points_at_it(open_delta: Opener) -> None:
    store = open_delta(rest_prefix="/v2")
    with pytest.raises(StoreConfigError, match="the API prefix '/v2'"):
        store.read_all()


def test_the_api_key_never_shows(open_delta: Opener, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    by_query = open_delta(ws_auth="query")
    by_header = open_delta(by_query.settings.event_store)
    for store in (by_query, by_header):
        assert store.start_live(wait=10).value == "live"
    by_query.append("acct-1", [deposit()], NO_STREAM)
    assert by_query.wait_for_events(0, 1) is True
    texts = [repr(by_query), by_query.url, repr(by_query.settings), str(by_query.settings)]
    wrong = open_delta(api_key="db_other_secret")
    for call in (wrong.read_all, lambda: wrong.append("a", [deposit()], NO_STREAM)):
        with pytest.raises(EventStoreError) as failed:
            call()
        texts.append(str(failed.value))
    for store in (wrong, by_query, by_header):
        store.close()
    # websockets logs the upgrade request line and headers at DEBUG: masked
    assert "?apiKey=*** HTTP/1.1" in caplog.text
    assert "> X-API-Key: ***" in caplog.text
    for text in [*texts, caplog.text]:
        assert API_KEY not in text
        assert "db_other_secret" not in text
