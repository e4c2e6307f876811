"""The adapter against canned answers (httpx.MockTransport): what goes out, what is read back."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest

from bank_desktop.eventstore import (
    ANY,
    NO_STREAM,
    STREAM_EXISTS,
    ConcurrencyError,
    EventStoreError,
    NewEvent,
    StoreUnavailableError,
)
from bank_desktop.eventstore.deltabase import (
    DeltaBaseEventStore,
    DeltaBaseSettings,
    Secret,
    build_client,
)
from bank_desktop.eventstore.deltabase._wire import expected_version

Handler = Callable[[httpx.Request], httpx.Response]
SETTINGS = DeltaBaseSettings(
    base_url="http://deltabase.test",
    api_key=Secret("db_k"),
    backoff_initial=0.0,
    backoff_max=0.0,
    live_websocket=False,
)


def envelope(position: int = 0, global_position: int = 1, **changes: Any) -> dict[str, Any]:
    event = {
        "streamId": "acct-1",
        "streamPosition": position,
        "globalPosition": global_position,
        "eventId": f"evt_{global_position}",
        "type": "money.deposited",
        "data": {"amount": 1},
        "metadata": {"clientEventId": f"ours-{global_position}"},
        "schemaVersion": "1.0.0",
        "transactionId": "tx_1",
        "createdAt": "2026-11-02T09:00:00.123456Z",
    }
    event.update(changes)
    return event


def store_with(handler: Handler, **changes: Any) -> tuple[DeltaBaseEventStore, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    settings = SETTINGS.with_changes(**changes)
    client = build_client(settings, transport=httpx.MockTransport(record))
    return DeltaBaseEventStore(settings, client, sleep=lambda _: None), seen


def answer(body: Any, status: int = 200) -> Handler:
    text = body if isinstance(body, str) else json.dumps(body)
    return lambda request: httpx.Response(status, text=text)


# ── requests ──────────────────────────────────────────────────────────────────────────────


def test_append_sends_the_documented_body_with_our_id_and_the_command_id() -> None:
    event = NewEvent(
        "money.deposited",
        {"accountId": "acct-1", "amount": Decimal("120.35")},
        {"commandId": "cmd-1"},
        event_id="ours-1",
    )
    store, seen = store_with(answer({"success": True, "events": [envelope()]}, 201))
    result = store.append("acct 1/x", [event], 3)
    [request] = seen
    assert request.method == "POST"
    assert request.url.raw_path == b"/api/event-stores/banking/streams/acct%201%2Fx"
    assert request.headers["X-API-Key"] == "db_k"
    assert request.headers["Content-Type"] == "application/json"
    assert b'"amount":120.35' in request.content  # exact, as a JSON number
    body = json.loads(request.content)
    assert body == {
        "events": [
            {
                "type": "money.deposited",
                "data": {"accountId": "acct-1", "amount": 120.35},
                "metadata": {"commandId": "cmd-1", "clientEventId": "ours-1"},
            }
        ],
        "options": {"expectedStreamVersion": 3},
    }
    assert result.events[0].event_id == "ours-1"
    assert result.events[0].metadata == {}  # our bookkeeping key is not shown


def test_the_append_path_variant() -> None:
    store, seen = store_with(
        answer({"events": [envelope()]}, 201), append_path="events", rest_prefix=""
    )
    store.append("s", [NewEvent("t", {}, event_id="ours-1")], ANY)
    assert seen[0].url.path == "/event-stores/banking/streams/s/events"


@pytest.mark.parametrize(
    ("expected", "count", "last_position"),
    [
        (NO_STREAM, "no_stream", "no_stream"),
        (STREAM_EXISTS, "stream_exists", "stream_exists"),
        (ANY, "any", "any"),
        (0, 0, "no_stream"),
        (1, 1, 0),
        (7, 7, 6),
    ],
)
def test_expected_versions(expected: Any, count: object, last_position: object) -> None:
    assert expected_version(expected, SETTINGS) == count
    assert expected_version(expected, SETTINGS.with_changes(expected_version="last_position")) == (
        last_position
    )


def test_reads_use_the_events_queries() -> None:
    store, seen = store_with(answer({"events": [], "pagination": {"hasMore": False}}))
    store.read_all(after=5, limit=10, types=["b", "a", "a"])
    store.read_stream("acct-1", after=2, limit=3)
    store.head_position()
    query, stream, head = (dict(r.url.params.multi_items()) for r in seen)
    assert seen[0].url.path == "/api/event-stores/banking/events"
    assert seen[0].url.params.get_list("type") == ["a", "b"]
    assert query == {
        "fromPosition": "5",
        "sortBy": "globalPosition",
        "sortDirection": "asc",
        "limit": "11",
        "type": "b",
    }
    assert seen[1].url.path == "/api/event-stores/banking/streams/acct-1/events"
    assert stream == {
        "sortBy": "streamPosition",
        "sortDirection": "asc",
        "offset": "2",
        "limit": "3",
    }
    assert head == {"sortBy": "globalPosition", "sortDirection": "desc", "limit": "1"}


# ── answers ───────────────────────────────────────────────────────────────────────────────


def test_unknown_fields_are_ignored_and_amounts_stay_exact() -> None:
    body = (
        '{"events":[{"streamId":"acct-1","streamPosition":0,"globalPosition":7,'
        '"eventId":"evt_7","type":"money.deposited","data":{"amount":120.35,"n":3},'
        '"metadata":{"clerkId":"c-1"},"createdAt":"2026-11-02T09:00:00Z","tags":["x"],'
        '"phase":"committed","schemaVersion":"2.0.0"}],"pagination":{"hasMore":false},'
        '"shiny":{"new":"field"}}'
    )
    store, _ = store_with(answer(body))
    [event] = store.read_all()
    assert event.data == {"amount": Decimal("120.35"), "n": 3}
    assert type(event.data["amount"]) is Decimal
    assert (event.stream_position, event.global_position) == (1, 7)  # ours count from 1
    assert event.event_id == "evt_7"  # no clientEventId: DeltaBase's own id
    assert event.metadata == {"clerkId": "c-1"}
    assert event.created_at.utcoffset() is not None


def test_timestamps_without_a_zone_are_utc_and_epoch_millis_are_read() -> None:
    events = [
        envelope(createdAt="2026-11-02T09:00:00"),
        envelope(position=1, global_position=2, createdAt=1793610000123),
    ]
    store, _ = store_with(answer({"events": events}))
    naive, millis = store.read_all()
    assert naive.created_at.isoformat() == "2026-11-02T09:00:00+00:00"
    assert millis.created_at.isoformat() == "2026-11-02T09:00:00.123000+00:00"


@pytest.mark.parametrize(
    "field", ["streamId", "type", "streamPosition", "globalPosition", "data", "createdAt"]
)
def test_a_missing_required_field_is_named(field: str) -> None:
    broken = envelope()
    del broken[field]
    store, _ = store_with(answer({"events": [broken]}))
    with pytest.raises(EventStoreError, match=f"required field '{field}'"):
        store.read_all()


def test_a_missing_event_id_is_named_when_there_is_no_id_of_ours() -> None:
    broken = envelope(metadata={})
    del broken["eventId"]
    store, _ = store_with(answer({"events": [broken]}))
    with pytest.raises(EventStoreError, match="required field 'eventId'"):
        store.read_all()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"globalPosition": "seven"}, "with 'globalPosition' = 'seven', not a whole number"),
        ({"streamPosition": True}, "with 'streamPosition' = True, not a whole number"),
        ({"type": ""}, "with 'type' = '', not a non-empty string"),
        ({"createdAt": "yesterday"}, "unreadable 'createdAt'"),
        ({"streamPosition": -1}, "positions below the first one"),
    ],
)
def test_mistyped_fields_are_named(changes: dict[str, Any], message: str) -> None:
    store, _ = store_with(answer({"events": [envelope(**changes)]}))
    with pytest.raises(EventStoreError, match=re.escape(message)):
        store.read_all()


def test_an_answer_without_events_is_named() -> None:
    store, _ = store_with(answer({"items": []}))
    with pytest.raises(EventStoreError, match="without the required list 'events' \\(missing\\)"):
        store.read_all()


def test_an_answer_that_is_not_json_is_retried_then_explained() -> None:
    store, seen = store_with(answer("<html>proxy error</html>"))
    with pytest.raises(StoreUnavailableError, match="not JSON") as failed:
        store.head_position()
    assert len(seen) == 4
    assert "is the base URL pointing at DeltaBase?" in str(failed.value)


@pytest.mark.parametrize(
    ("body", "actual"),
    [
        ({"error": "STREAM_VERSION_CONFLICT", "details": {"currentVersion": 4}}, 4),
        ({"error": "VersionConflict", "currentStreamVersion": 5}, 5),
        ({"error": {"current": 6, "expected": 2}}, 6),
    ],
)
def test_conflict_bodies_are_read_defensively(body: dict[str, Any], actual: int) -> None:
    store, _ = store_with(answer(body, 409))
    with pytest.raises(ConcurrencyError) as conflict:
        store.append("acct-1", [NewEvent("t", {})], 2)
    assert (conflict.value.expected, conflict.value.actual) == (2, actual)


def test_a_conflict_in_last_position_mode_maps_back() -> None:
    store, _ = store_with(
        answer({"details": {"currentVersion": 4}}, 409), expected_version="last_position"
    )
    with pytest.raises(ConcurrencyError) as conflict:
        store.append("acct-1", [NewEvent("t", {})], 2)
    assert conflict.value.actual == 5


def test_a_bare_conflict_asks_for_the_position() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(409, text='{"error":"conflict"}')
        return httpx.Response(200, json={"events": [envelope(position=8, global_position=20)]})

    store, seen = store_with(handler)
    with pytest.raises(ConcurrencyError) as conflict:
        store.append("acct-1", [NewEvent("t", {})], 2)
    assert conflict.value.actual == 9
    assert seen[1].url.params["sortDirection"] == "desc"


def test_an_append_answer_without_envelopes_is_completed_from_the_stream() -> None:
    ours = NewEvent("t", {}, event_id="ours-3")

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(201, json={"success": True, "nextExpectedStreamVersion": 3})
        assert request.url.params["offset"] == "2"  # straight to where ours must be
        return httpx.Response(200, json={"events": [envelope(position=2, global_position=3)]})

    store, _ = store_with(handler)
    result = store.append("acct-1", [ours], 2)
    assert (result.stream_position, result.global_positions) == (3, (3,))


def test_a_confirmed_append_is_never_sent_again() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(201, json={"success": True})
        return httpx.Response(200, json={"events": []})

    store, seen = store_with(handler)
    with pytest.raises(EventStoreError, match="confirmed saving the events for acct-1"):
        store.append("acct-1", [NewEvent("t", {})], NO_STREAM)
    assert [r.method for r in seen].count("POST") == 1


def test_ids_found_by_command_id_when_the_server_drops_ours() -> None:
    theirs = envelope(position=0, global_position=1, metadata={"commandId": "cmd-9"})

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            raise httpx.ReadTimeout("slow", request=request)
        return httpx.Response(200, json={"events": [theirs]})

    store, seen = store_with(handler)
    result = store.append("acct-1", [NewEvent("money.deposited", {}, {"commandId": "cmd-9"})], 0)
    assert result.events[0].event_id == "evt_1"
    assert [r.method for r in seen].count("POST") == 1


def test_http_errors_never_escape_as_httpx_errors() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("peer closed", request=request)

    store, _ = store_with(handler)
    with pytest.raises(StoreUnavailableError, match="the connection dropped mid-answer"):
        store.read_stream("acct-1")
    with pytest.raises(StoreUnavailableError, match="Could not confirm whether the events"):
        store.append("acct-1", [NewEvent("t", {})], NO_STREAM)


def test_a_redirect_points_at_the_base_url() -> None:
    store, _ = store_with(lambda r: httpx.Response(301, headers={"Location": "https://x"}))
    with pytest.raises(EventStoreError, match=r"redirected .* check the base URL"):
        store.read_all()


def test_a_closed_store_refuses_work() -> None:
    store, seen = store_with(answer({"events": []}))
    store.close()
    with pytest.raises(EventStoreError, match="closed"):
        store.read_all()
    assert store.wait_for_events(0, 1.0) is False
    assert seen == []
