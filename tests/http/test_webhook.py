"""The DeltaBase webhook: a hint to read the store, never a source of truth.

A delivery is checked against the configured store, event by event (id, type, data at that
stream position); only then is the read model brought up to date, from the store. A forged or
wrong delivery is refused and changes nothing, whatever its order, its repetitions or its
claims; nonsense (negative amounts, unknown accounts, malformed bodies) is a 400.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from bank_desktop.eventstore import NO_STREAM, EventStore, NewEvent, RecordedEvent, open_store
from bank_desktop.http.context import InsecureTokenError, checked_projection_token
from tests.http.conftest import AUTH, TOKEN, Server
from tests.http.events import History, envelope
from tests.http.test_walkthrough import exact

PATH = "/api/projections/balances/events"


def deliver(server: Server, events: list[dict[str, Any]], **headers: str) -> Any:
    return server.post(PATH, {"events": events}, headers={**AUTH, **headers})


def balances(server: Server) -> dict[str, Decimal]:
    return {row["accountId"]: row["balance"] for row in exact(server.get("/accounts"))}


def sample_history() -> History:
    h = History()
    h.open("a", 100)
    h.open("b", "5.50")
    h.deposit("a", "50")
    h.refuse("b", "10")
    h.withdraw("a", "30.25")
    h.deposit("b", "4.50")
    h.withdraw("b", "10")
    h.close("b")
    h.deposit("a", "0.01")
    return h


def stored(store: EventStore, history: History) -> list[RecordedEvent]:
    """Append ``history`` to ``store``; the events as the store recorded them."""
    for event in history.events:
        position = event.stream_position - 1
        store.append(
            event.stream_id,
            [NewEvent(event.type, event.data, {"clerkId": "webhook-test"}, event.event_id)],
            position or NO_STREAM,
        )
    return store.read_all(limit=10_000)


@pytest.fixture
def history_server(make_server: Callable[..., Server]) -> tuple[Server, list[RecordedEvent]]:
    store = open_store("memory://")
    events = stored(store, sample_history())
    return make_server(store), events


def test_the_token_is_required_and_compared_exactly(
    history_server: tuple[Server, list[RecordedEvent]],
) -> None:
    server, events = history_server
    body = {"events": [envelope(events[0])]}
    assert server.post(PATH, body).status_code == 401
    for wrong in (f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", TOKEN, f"bearer {TOKEN}", "Bearer"):
        response = server.post(PATH, body, headers={"Authorization": wrong})
        assert response.status_code == 401, wrong
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert TOKEN not in response.text
    assert server.post(PATH, b"{", headers={"Authorization": "Bearer nope"}).status_code == 401
    ok = server.post(PATH, body, headers=AUTH)
    assert ok.status_code == 200, ok.text
    answer = ok.json()
    assert answer["success"] is True
    assert answer["processedEventCount"] == 1
    assert answer["confirmed"] == 1
    assert answer["readPosition"] >= 1


def test_the_seed_default_or_a_short_token_is_refused_unless_dev() -> None:
    for token in ("dev-token", "s3cret-s3cret-s3cret", "x" * 31):
        with pytest.raises(InsecureTokenError):
            checked_projection_token(token, dev=False)
    for token in (None, "", "  "):  # no token: the webhook is off
        assert checked_projection_token(token, dev=False) is None
    assert checked_projection_token(None, dev=True) == "dev-token"
    assert checked_projection_token("short", dev=True) == "short"
    assert checked_projection_token("x" * 32, dev=False) == "x" * 32


def test_malformed_and_nonsense_bodies_are_400_naming_what_is_wrong(
    history_server: tuple[Server, list[RecordedEvent]],
) -> None:
    server, events = history_server
    before = balances(server)
    good = envelope(events[0])  # account.opened of "a", initial 100
    deposit = envelope(events[2])  # money.deposited into "a", 50
    cases: list[tuple[Any, str]] = [
        ({}, "'events'"),
        ([], "JSON object"),
        ({"events": "x"}, "events must be an array"),
        ({"events": [1]}, "events[0] must be a JSON object"),
        ({"events": [{**good, "streamId": ""}]}, "events[0].streamId"),
        ({"events": [{**good, "streamPosition": -1}]}, "events[0].streamPosition"),
        ({"events": [{**good, "streamPosition": 1.5}]}, "events[0].streamPosition"),
        ({"events": [{**good, "streamPosition": True}]}, "events[0].streamPosition"),
        ({"events": [good, {**good, "globalPosition": "3"}]}, "events[1].globalPosition"),
        ({"events": [{**good, "data": []}]}, "events[0].data"),
        ({"events": [{**good, "metadata": "x"}]}, "events[0].metadata"),
        ({"events": [{**good, "createdAt": "yesterday"}]}, "events[0].createdAt"),
        ({"event": {**good, "eventId": None}}, "event.eventId"),
        (
            {"events": [{**good, "data": {**good["data"], "initialBalance": Decimal("1.005")}}]},
            "events[0].data.initialBalance",
        ),
        ({"events": [{**good, "data": {**good["data"], "customerId": 7}}]}, "customerId"),
        # nonsense the old receiver accepted:
        ({"events": [{**deposit, "data": {**deposit["data"], "amount": -1000}}]}, "positive"),
        ({"events": [{**deposit, "data": {**deposit["data"], "amount": 0}}]}, "positive"),
        (
            {"events": [{**good, "data": {**good["data"], "initialBalance": -5}}]},
            "negative",
        ),
        ({"events": [{**deposit, "data": {**deposit["data"], "accountId": "b"}}]}, "accountId"),
        (
            {
                "events": [
                    {
                        **deposit,
                        "streamId": "account-nobody",
                        "data": {**deposit["data"], "accountId": "account-nobody"},
                    }
                ]
            },
            "account-nobody",
        ),
        ({"events": [deposit, {**deposit, "eventId": "other"}]}, "two different events"),
    ]
    for body, fragment in cases:
        response = server.post(PATH, body, headers=AUTH)
        assert response.status_code == 400, (body, response.text)
        assert fragment in response.json()["error"], (fragment, response.json())
    assert server.post(PATH, b"{nope", headers=AUTH).status_code == 400
    assert server.post(PATH, b"", headers=AUTH).status_code == 400
    assert balances(server) == before  # nothing of a refused body was applied


def test_a_forged_delivery_never_changes_what_is_shown(
    history_server: tuple[Server, list[RecordedEvent]],
) -> None:
    """The issue's case: the store says $50.00, a delivery claims a deposit of $1,000,050."""
    server, events = history_server
    expected = balances(server)
    assert expected == {"a": Decimal("119.76"), "b": Decimal("0.00")}
    real = envelope(events[2])  # the deposit of 50 into "a", position 1 (0-based)
    forged = [
        # the real event's id, another amount
        {**real, "data": {**real["data"], "amount": Decimal("1000050.00")}},
        # another id at the real event's position
        {**real, "eventId": "evt-forged", "data": {**real["data"], "amount": Decimal("1000050")}},
        # another type at that position
        {
            **real,
            "type": "money.withdrawn",
            "data": {**real["data"], "withdrawnAt": "2026-01-01T00:00:00Z"},
        },
    ]
    for envelope_ in forged:
        response = deliver(server, [envelope_])
        assert response.status_code == 400, response.text
        assert "do not match the store" in response.json()["error"]
        assert balances(server) == expected
    # A deposit the store does not have (yet), at the next position of "a".
    ahead = {
        **real,
        "eventId": "evt-ahead",
        "streamPosition": 4,
        "globalPosition": 99,
        "data": {**real["data"], "amount": Decimal("1000000")},
    }
    response = deliver(server, [ahead])
    assert response.status_code == 409, response.text
    assert "not in the store" in response.json()["error"]
    assert balances(server) == expected
    # The real event at that position, when it comes, is what counts (it is read from the
    # store, so the delivery of it only hurries the read model along).
    server.store.append(
        "a",
        [
            NewEvent(
                "money.deposited",
                {
                    "accountId": "a",
                    "amount": Decimal("1.00"),
                    "depositedAt": "2026-11-02T12:00:00.000Z",
                },
            )
        ],
        4,
    )
    fresh = server.store.read_stream("a")[-1]
    assert deliver(server, [envelope(fresh)]).status_code == 200
    assert balances(server) == {"a": Decimal("120.76"), "b": Decimal("0.00")}
    assert deliver(server, [ahead]).status_code == 400  # now it contradicts the store


def test_genuine_deliveries_in_any_order_and_repeated_are_confirmed(
    history_server: tuple[Server, list[RecordedEvent]],
) -> None:
    server, events = history_server
    expected = {"a": Decimal("119.76"), "b": Decimal("0.00")}
    pool = [envelope(e) for e in events] * 2
    random.Random(7).shuffle(pool)
    for start in range(0, len(pool), 5):
        response = deliver(server, pool[start : start + 5])
        assert response.status_code == 200, response.text
    assert balances(server) == expected
    for event in events:  # the older single-event form
        body = {"event": envelope(event), "eventStoreId": "banking", "subscriptionId": "s"}
        assert server.post(PATH, body, headers=AUTH).status_code == 200
    assert balances(server) == expected
    closed = next(row for row in exact(server.get("/accounts")) if row["accountId"] == "b")
    assert closed["isOpen"] is False


def test_amounts_compare_exactly(make_server: Callable[..., Server]) -> None:
    store = open_store("memory://")
    h = History()
    h.open("account-exact", 0)
    h.deposit("account-exact", "12345678901.07")
    events = stored(store, h)
    server = make_server(store)
    raw = _json({"events": [envelope(e) for e in events]})
    assert server.post(PATH, raw, headers=AUTH).status_code == 200
    off_by_a_cent = raw.replace(b"12345678901.07", b"12345678901.08")
    assert server.post(PATH, off_by_a_cent, headers=AUTH).status_code == 400
    response = server.get("/accounts/account-exact")
    assert b'"balance":12345678901.07' in response.content


def _json(value: Any) -> bytes:
    import msgspec

    return msgspec.json.Encoder(decimal_format="number").encode(value)


def test_a_delivery_brings_the_read_model_up_to_the_store_at_once(
    make_server: Callable[..., Server],
) -> None:
    """Read-your-writes through the webhook: when it answers 200 the events it confirmed (and
    everything before them in the store) are in what GET /accounts shows."""
    store = open_store("memory://")
    server = make_server(store, idle_wait=3600)  # the subscription alone would be slow
    events = stored(store, sample_history())
    response = deliver(server, [envelope(events[-1])])
    assert response.status_code == 200, response.text
    assert response.json()["readPosition"] >= events[-1].global_position
    assert balances(server) == {"a": Decimal("119.76"), "b": Decimal("0.00")}
