"""The DeltaBase webhook: auth, malformed bodies, idempotent and order-restoring delivery."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import msgspec
import pytest

from bank_desktop.application.projections import ReadModel
from bank_desktop.eventstore import NO_STREAM, NewEvent, open_store
from bank_desktop.http.context import InsecureTokenError, checked_projection_token
from bank_desktop.http.read_side import LiveReadModel
from tests.http.conftest import AUTH, TOKEN, Server
from tests.http.events import History, envelope
from tests.http.test_stream_order import in_order, sample_history, state
from tests.http.test_walkthrough import exact

PATH = "/api/projections/balances/events"


def deliver(server: Server, events: list[dict[str, Any]], **headers: str) -> Any:
    return server.post(PATH, {"events": events}, headers={**AUTH, **headers})


def accounts(server: Server) -> list[dict[str, Any]]:
    return sorted(exact(server.get("/accounts")), key=lambda row: row["accountId"])


def test_the_token_is_required_and_compared_exactly(server: Server) -> None:
    h = sample_history()
    body = {"events": [envelope(h.events[0])]}
    assert server.post(PATH, body).status_code == 401
    for wrong in (f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", TOKEN, f"bearer {TOKEN}", "Bearer"):
        response = server.post(PATH, body, headers={"Authorization": wrong})
        assert response.status_code == 401, wrong
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert TOKEN not in response.text
    assert server.post(PATH, b"{", headers={"Authorization": "Bearer nope"}).status_code == 401
    ok = server.post(PATH, body, headers=AUTH)
    assert ok.status_code == 200, ok.text
    assert ok.json() == {
        "success": True,
        "processedEventCount": 1,
        "applied": 1,
        "duplicates": 0,
        "ignored": 0,
        "released": 0,
        "waiting": [],
    }


def test_the_seed_default_or_a_short_token_is_refused_unless_dev() -> None:
    for token in ("dev-token", "s3cret-s3cret-s3cret", "x" * 31):
        with pytest.raises(InsecureTokenError):
            checked_projection_token(token, dev=False)
    for token in (None, "", "  "):  # no token: the webhook is off
        assert checked_projection_token(token, dev=False) is None
    assert checked_projection_token(None, dev=True) == "dev-token"
    assert checked_projection_token("short", dev=True) == "short"
    assert checked_projection_token("x" * 32, dev=False) == "x" * 32


def test_malformed_bodies_are_400_naming_what_is_wrong(server: Server) -> None:
    h = sample_history()
    good = envelope(h.events[0])
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
    ]
    for body, fragment in cases:
        response = server.post(PATH, body, headers=AUTH)
        assert response.status_code == 400, (body, response.text)
        assert fragment in response.json()["error"], (fragment, response.json())
    assert server.post(PATH, b"{nope", headers=AUTH).status_code == 400
    assert server.post(PATH, b"", headers=AUTH).status_code == 400
    assert accounts(server) == []  # nothing of a refused body was applied


def test_amounts_in_event_data_are_exact(server: Server) -> None:
    h = History()
    opened = envelope(h.open("account-exact", 0))
    deposit = envelope(h.deposit("account-exact", "0.1"))
    raw = (
        b'{"events": ['
        + _json(opened)
        + b","
        + _json(deposit).replace(b'"amount":0.1', b'"amount":12345678901.07')
        + b"]}"
    )
    assert server.post(PATH, raw, headers=AUTH).status_code == 200
    response = server.get("/accounts/account-exact")
    assert b'"balance":12345678901.07' in response.content


def _json(value: Any) -> bytes:
    return msgspec.json.Encoder(decimal_format="number").encode(value)


def test_replaying_the_same_batch_twice_changes_nothing(server: Server) -> None:
    h = sample_history()
    batch = [envelope(e) for e in h.events]
    first = deliver(server, batch)
    assert first.status_code == 200
    assert first.json()["applied"] == len(batch)
    before = accounts(server)
    second = deliver(server, batch)
    assert second.status_code == 200
    assert second.json()["duplicates"] == len(batch)
    assert second.json()["applied"] == 0
    assert accounts(server) == before
    balances = {row["accountId"]: row["balance"] for row in before}
    assert balances == {"a": Decimal("119.76"), "b": Decimal("0.00")}
    closed = next(row for row in before if row["accountId"] == "b")
    assert closed["isOpen"] is False
    assert closed["closedAt"]


def test_the_older_single_event_form(server: Server) -> None:
    h = sample_history()
    for event in h.events:
        body = {"event": envelope(event), "eventStoreId": "banking", "subscriptionId": "sub_1"}
        assert server.post(PATH, body, headers=AUTH).status_code == 200
    assert {r["accountId"]: r["balance"] for r in accounts(server)} == {
        "a": Decimal("119.76"),
        "b": Decimal("0.00"),
    }


def test_out_of_order_delivery_gives_the_right_balances(server: Server) -> None:
    h = sample_history()
    late = [envelope(e) for e in h.events if e.stream_position >= 3]
    early = [envelope(e) for e in h.events if e.stream_position < 3]
    held = deliver(server, late)
    assert held.status_code == 409  # not acknowledged: the sender redelivers it later
    body = held.json()
    assert body["success"] is False
    assert body["applied"] == 0
    assert {(w["streamId"], w["streamPosition"]) for w in body["waiting"]} == {
        (e["streamId"], e["streamPosition"]) for e in late
    }
    assert {"streamId": "a", "streamPosition": 2, "missingFrom": 0, "missingTo": 1} in body[
        "waiting"
    ]
    assert "Redeliver" in body["error"]
    done = deliver(server, early)
    assert done.status_code == 200
    assert done.json()["released"] == len(late)
    expected = {r.account_id: r.balance for r in in_order(h).balances}
    assert {r["accountId"]: r["balance"] for r in accounts(server)} == expected
    redelivered = deliver(server, late)  # the sender's retry of the 409: duplicates now
    assert redelivered.status_code == 200
    assert redelivered.json()["duplicates"] == len(late)
    assert {r["accountId"]: r["balance"] for r in accounts(server)} == expected


def test_shuffled_batches_with_redeliveries_over_http(server: Server) -> None:
    rng = random.Random(7)
    h = History()
    for name in ("x", "y", "z"):
        h.open(name, "10.00")
    for _ in range(60):
        h.deposit(rng.choice("xyz"), f"{rng.randint(1, 9999) / 100:.2f}")
    pool = [envelope(e) for e in h.events] * 2
    rng.shuffle(pool)
    statuses = set()
    for start in range(0, len(pool), 13):
        statuses.add(deliver(server, pool[start : start + 13]).status_code)
    assert statuses <= {200, 409}
    expected = sorted(
        (r.account_id, r.balance, r.last_activity_at.isoformat()) for r in in_order(h).balances
    )
    rows = accounts(server)
    assert [(r["accountId"], r["balance"]) for r in rows] == [(a, b) for a, b, _ in expected]
    assert server.get("/health").json()["readModel"]["heldWebhookEvents"] == 0


def test_deliveries_of_the_stores_own_events_change_nothing(server: Server) -> None:
    """DeltaBase as the store: the subscription and the webhook deliver the same events."""
    account = server.post("/accounts", {"customerId": "c", "initialBalance": 10}).json()
    for amount in (1, 2, 3):
        last = server.post(f"/accounts/{account['accountId']}/deposit", {"amount": amount})
    before = exact(server.get("/accounts", params={"after": last.headers["X-Event-Position"]}))
    stored = server.store.read_all(after=0, limit=100)
    batch = [envelope(e) | {"createdAt": e.created_at.isoformat()} for e in stored]
    random.Random(3).shuffle(batch)
    response = deliver(server, batch)
    assert response.status_code == 200, response.text
    assert response.json()["duplicates"] == len(batch)
    assert exact(server.get("/accounts")) == before


def test_a_gap_the_store_can_fill_is_filled_from_it() -> None:
    """A refusal changes no row; after a restart only the store can say it was applied."""
    store = open_store("memory://")
    h = History()
    h.open("acct", 10)
    h.refuse("acct", "50")
    for event in h.events:
        store.append(
            event.stream_id,
            [NewEvent(event.type, event.data, {})],
            event.stream_position - 1 or NO_STREAM,
        )
    live = LiveReadModel(store)
    live.load()
    later = h.deposit("acct", "5")  # delivered by the webhook, not (yet) in this store
    report = live.deliver([later])
    assert not report.waiting
    assert report.applied == 1
    assert report.released == 1
    row = live.account("acct")
    assert row is not None
    assert row.balance == Decimal("15")
    store.close()


def test_read_model_state_matches_a_fresh_fold(server: Server) -> None:
    h = sample_history()
    deliver(server, [envelope(e) for e in reversed(h.events)])
    deliver(server, [envelope(e) for e in h.events])
    model = ReadModel()
    model.apply(h.events)
    assert state(model) == state(in_order(h))
    assert {r["accountId"]: r["balance"] for r in accounts(server)} == {
        r.account_id: r.balance for r in model.balances
    }
