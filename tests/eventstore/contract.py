"""The event store contract: one suite every adapter must pass.

An adapter's test module subclasses :class:`EventStoreContract` and supplies a factory::

    class TestMemoryEventStore(EventStoreContract):
        def make_store(self, tmp_path: Path) -> EventStore:
            return MemoryEventStore()

``make_store`` must return an empty, open store; the ``store`` fixture closes it afterwards.
An adapter whose factory needs other fixtures (a PostgreSQL server, an HTTP test service)
overrides the ``store`` fixture instead and implements ``make_store`` by raising.

A known adapter bug is recorded in the subclass by overriding the one test with a strict
``xfail`` marker that calls ``super()``, so the contract itself always states what is right.

Everything here goes through the public port only: no adapter internals.
"""

from __future__ import annotations

import abc
import random
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bank_desktop.application.history import EventFilter, read_history
from bank_desktop.eventstore import (
    ANY,
    NO_STREAM,
    STREAM_EXISTS,
    AppendRequest,
    AppendResult,
    BackwardReader,
    BatchAppender,
    ConcurrencyError,
    EventStore,
    EventStoreError,
    ExpectedPosition,
    MultiStreamAppender,
    NewEvent,
    RecordedEvent,
)

# How long a test thread may take before the test gives up on it. Only a hang reaches this;
# nothing asserts on how long anything took.
JOIN_TIMEOUT = 120.0


def new(type_: str = "thing.happened", metadata: dict[str, Any] | None = None, **data: Any):
    """A NewEvent with keyword data (``new("money.deposited", amount=Decimal("1.00"))``)."""
    return NewEvent(type_, data, metadata or {})


def events(count: int, type_: str = "thing.happened", **data: Any) -> list[NewEvent]:
    return [NewEvent(type_, {"n": i, **data}) for i in range(count)]


def global_positions(recorded: Sequence[RecordedEvent]) -> list[int]:
    return [e.global_position for e in recorded]


def stream_positions(recorded: Sequence[RecordedEvent]) -> list[int]:
    return [e.stream_position for e in recorded]


def read_everything(store: EventStore, *, page: int = 500) -> list[RecordedEvent]:
    """Every event in global order, page by page."""
    out: list[RecordedEvent] = []
    while batch := store.read_all(after=out[-1].global_position if out else 0, limit=page):
        out.extend(batch)
    return out


def run_threads(targets: Sequence[Callable[[], None]]) -> list[BaseException]:
    """Run each target in its own thread, released together; return what they raised."""
    errors: list[BaseException] = []
    start = threading.Barrier(len(targets))

    def wrap(target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                start.wait(timeout=JOIN_TIMEOUT)
                target()
            except BaseException as exc:  # reported by the test, not lost in the thread
                errors.append(exc)

        return run

    threads = [threading.Thread(target=wrap(t), daemon=True) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return errors


def assert_nothing_written(store: EventStore, head_before: int, stream_id: str, before: int):
    assert store.head_position() == head_before
    assert store.stream_position(stream_id) == before
    assert len(store.read_stream(stream_id)) == before


def append_with_retry(store: EventStore, stream_id: str, event: NewEvent) -> tuple[int, int]:
    """Append one event at the position last seen, retrying on conflicts.

    Returns (stream position written, number of conflicts met).
    """
    conflicts = 0
    while True:
        seen = store.stream_position(stream_id)
        try:
            result = store.append(stream_id, [event], seen)
        except ConcurrencyError as exc:
            conflict = exc
        else:
            assert result.stream_position == seen + 1
            return result.stream_position, conflicts
        assert (conflict.stream_id, conflict.expected) == (stream_id, seen)
        assert conflict.actual > seen
        conflicts += 1


class EventStoreContract(abc.ABC):
    """Behaviour every EventStore adapter must show. Subclass and implement ``make_store``."""

    @abc.abstractmethod
    def make_store(self, tmp_path: Path) -> EventStore:
        """A new, empty, open store (``tmp_path`` is a fresh directory for file-based ones)."""

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[EventStore]:
        store = self.make_store(tmp_path)
        try:
            yield store
        finally:
            store.close()

    # ── the port itself ───────────────────────────────────────────────────────────────────

    def test_store_satisfies_the_protocol_and_starts_empty(self, store: EventStore) -> None:
        assert isinstance(store, EventStore)
        assert store.head_position() == 0
        assert store.read_all() == []
        assert store.read_stream("nothing-here") == []
        assert store.stream_position("nothing-here") == 0
        assert isinstance(store.url, str)
        assert store.url

    # ── expectations ──────────────────────────────────────────────────────────────────────

    @pytest.mark.parametrize("expected", [NO_STREAM, 0, ANY], ids=["NO_STREAM", "0", "ANY"])
    def test_append_to_new_stream(self, store: EventStore, expected: ExpectedPosition) -> None:
        result = store.append("acct-1", [new(amount=1)], expected)
        assert result.stream_id == "acct-1"
        assert result.stream_position == 1
        assert result.global_positions == (1,)
        assert store.stream_position("acct-1") == 1
        assert store.head_position() == 1

    @pytest.mark.parametrize("expected", [STREAM_EXISTS, 1, 2, 5], ids=str)
    def test_append_to_new_stream_with_wrong_expectation(
        self, store: EventStore, expected: ExpectedPosition
    ) -> None:
        store.append("other", [new()], NO_STREAM)
        with pytest.raises(ConcurrencyError) as info:
            store.append("acct-1", [new(), new()], expected)
        assert info.value.stream_id == "acct-1"
        assert info.value.expected == expected
        assert info.value.actual == 0
        assert_nothing_written(store, 1, "acct-1", 0)

    @pytest.mark.parametrize("expected", [2, ANY, STREAM_EXISTS], ids=["exact", "ANY", "EXISTS"])
    def test_append_to_existing_stream(self, store: EventStore, expected: ExpectedPosition):
        store.append("acct-1", [new(), new()], NO_STREAM)
        result = store.append("acct-1", [new()], expected)
        assert result.stream_position == 3
        assert stream_positions(store.read_stream("acct-1")) == [1, 2, 3]

    @pytest.mark.parametrize(
        "expected",
        [NO_STREAM, 0, 1, 3, 7],
        ids=["NO_STREAM", "zero", "too-low", "too-high-by-one", "far-too-high"],
    )
    def test_append_to_existing_stream_with_wrong_expectation(
        self, store: EventStore, expected: ExpectedPosition
    ) -> None:
        store.append("acct-1", [new(), new()], NO_STREAM)
        store.append("acct-2", [new()], NO_STREAM)
        with pytest.raises(ConcurrencyError) as info:
            store.append("acct-1", [new(step=1), new(step=2)], expected)
        error = info.value
        assert isinstance(error, EventStoreError)
        assert (error.stream_id, error.expected, error.actual) == ("acct-1", expected, 2)
        assert "acct-1" in str(error)
        assert_nothing_written(store, 3, "acct-1", 2)
        # The stream still accepts the right expectation afterwards.
        assert store.append("acct-1", [new()], 2).stream_position == 3

    def test_empty_append_checks_the_expectation_and_writes_nothing(self, store: EventStore):
        result = store.append("acct-1", [], NO_STREAM)
        assert isinstance(result, AppendResult)
        assert result.stream_position == 0
        assert result.events == ()
        assert result.global_positions == ()
        assert result.last_global_position == 0
        assert store.head_position() == 0
        with pytest.raises(ConcurrencyError):
            store.append("acct-1", [], 3)
        store.append("acct-1", [new()], NO_STREAM)
        assert store.append("acct-1", (), 1).stream_position == 1
        assert store.head_position() == 1

    # ── multi-event appends ───────────────────────────────────────────────────────────────

    def test_multi_event_append_is_contiguous(self, store: EventStore) -> None:
        store.append("a", events(2), NO_STREAM)
        store.append("b", events(3), NO_STREAM)
        batch = events(4, type_="batch.item")
        result = store.append("a", batch, 2)

        assert result.stream_id == "a"
        assert result.stream_position == 6
        assert [e.stream_position for e in result.events] == [3, 4, 5, 6]
        assert result.global_positions == (6, 7, 8, 9)
        assert result.last_global_position == 9
        assert [e.event_id for e in result.events] == [e.event_id for e in batch]
        assert all(e.stream_id == "a" for e in result.events)
        assert store.head_position() == 9

        stored = store.read_stream("a")
        assert stream_positions(stored) == [1, 2, 3, 4, 5, 6]
        assert global_positions(stored) == [1, 2, 6, 7, 8, 9]
        assert [e.data for e in stored[2:]] == [{"n": i} for i in range(4)]

    def test_append_result_matches_what_is_read_back(self, store: EventStore) -> None:
        batch = [
            new("opened", {"clerk": "c-1"}, owner="Åsa", amount=Decimal("10.50")),
            new("deposited", {"clerk": "c-1"}, amount=Decimal("0.10"), tags=["x", 1]),
        ]
        result = store.append("acct-1", batch, NO_STREAM)
        read = store.read_stream("acct-1")
        assert list(result.events) == read
        assert read == store.read_all()

    def test_failed_multi_event_append_writes_none_of_it(self, store: EventStore) -> None:
        store.append("a", events(1), NO_STREAM)
        with pytest.raises(ConcurrencyError):
            store.append("a", events(5), NO_STREAM)
        assert_nothing_written(store, 1, "a", 1)

    # ── reading one stream ────────────────────────────────────────────────────────────────

    def test_read_stream_order_after_and_limit(self, store: EventStore) -> None:
        for i in range(5):
            store.append("a", [new(i=i)], ANY)
            store.append("b", [new(i=i)], ANY)
        everything = store.read_stream("a")
        assert stream_positions(everything) == [1, 2, 3, 4, 5]
        assert [e.data["i"] for e in everything] == [0, 1, 2, 3, 4]
        assert global_positions(everything) == [1, 3, 5, 7, 9]
        assert all(e.stream_id == "a" for e in everything)

        assert stream_positions(store.read_stream("a", after=2)) == [3, 4, 5]
        assert stream_positions(store.read_stream("a", limit=2)) == [1, 2]
        assert stream_positions(store.read_stream("a", after=1, limit=2)) == [2, 3]
        assert stream_positions(store.read_stream("a", after=4, limit=10)) == [5]
        assert store.read_stream("a", after=5) == []
        assert store.read_stream("a", after=500) == []
        assert store.read_stream("a", after=0, limit=1)[0] == everything[0]

    def test_missing_stream(self, store: EventStore) -> None:
        store.append("a", [new()], NO_STREAM)
        assert store.read_stream("missing") == []
        assert store.read_stream("missing", after=3, limit=2) == []
        assert store.stream_position("missing") == 0
        # Stream ids are exact: no prefix matching, case matters.
        assert store.read_stream("A") == []
        assert store.stream_position("a-") == 0

    def test_stream_ids_are_opaque_strings(self, store: EventStore) -> None:
        ids = [
            "konto-ÅÄÖ-🙂",
            "with space",
            "quote'\"",
            "semi;colon -- drop",
            "%_like",
            "x" * 200,
            "a/b\\c",
        ]
        for i, stream_id in enumerate(ids):
            store.append(stream_id, [new(i=i)], NO_STREAM)
        for i, stream_id in enumerate(ids):
            [event] = store.read_stream(stream_id)
            assert event.stream_id == stream_id
            assert event.data == {"i": i}
            assert store.stream_position(stream_id) == 1
        assert [e.stream_id for e in store.read_all()] == ids
        # "%_like" is not a pattern.
        assert store.read_stream("%") == []

    # ── reading everything ────────────────────────────────────────────────────────────────

    def test_read_all_global_order_after_and_limit(self, store: EventStore) -> None:
        store.append("a", events(2), NO_STREAM)
        store.append("b", events(1), NO_STREAM)
        store.append("a", events(1), 2)
        store.append("c", events(3), NO_STREAM)
        everything = store.read_all()
        assert global_positions(everything) == [1, 2, 3, 4, 5, 6, 7]
        assert [(e.stream_id, e.stream_position) for e in everything] == [
            ("a", 1),
            ("a", 2),
            ("b", 1),
            ("a", 3),
            ("c", 1),
            ("c", 2),
            ("c", 3),
        ]
        assert store.head_position() == 7
        assert global_positions(store.read_all(after=3)) == [4, 5, 6, 7]
        assert global_positions(store.read_all(limit=2)) == [1, 2]
        assert global_positions(store.read_all(after=2, limit=3)) == [3, 4, 5]
        assert store.read_all(after=7) == []
        assert store.read_all(after=70) == []
        assert store.read_all(after=3, limit=1) == [everything[3]]

    def test_read_all_default_limit_pages(self, store: EventStore) -> None:
        for _ in range(3):
            store.append("bulk", events(500), ANY)
        first = store.read_all()
        assert global_positions(first) == list(range(1, 1001))
        rest = store.read_all(after=1000)
        assert global_positions(rest) == list(range(1001, 1501))
        assert global_positions(read_everything(store, page=333)) == list(range(1, 1501))

    def test_read_all_types_filter(self, store: EventStore) -> None:
        store.append("a", [new("opened"), new("deposited"), new("withdrawn")], NO_STREAM)
        store.append("b", [new("opened"), new("deposited")], NO_STREAM)
        store.append("a", [new("deposited"), new("closed")], 3)

        def positions(**kwargs: Any) -> list[int]:
            return global_positions(store.read_all(**kwargs))

        assert positions(types=["deposited"]) == [2, 5, 6]
        assert positions(types={"opened", "closed"}) == [1, 4, 7]
        assert positions(types=("closed", "opened", "deposited")) == [1, 2, 4, 5, 6, 7]
        assert positions(types=frozenset({"deposited"}), after=2) == [5, 6]
        assert positions(types=["deposited", "opened"], limit=3) == [1, 2, 4]
        assert positions(types=["deposited", "opened"], after=2, limit=2) == [4, 5]
        # Types nobody wrote: nothing, and they do not disturb the ones that exist.
        assert positions(types=["never.happened"]) == []
        assert positions(types=["never.happened", "withdrawn"]) == [3]
        # Type names are exact: no prefixes, no case folding.
        assert positions(types=["deposit"]) == []
        assert positions(types=["Deposited"]) == []
        # An empty filter wants nothing (it is not "no filter").
        assert positions(types=[]) == []
        assert positions(types=None) == [1, 2, 3, 4, 5, 6, 7]
        assert all(e.type == "deposited" for e in store.read_all(types=["deposited"]))

    def test_types_filter_finds_events_far_apart(self, store: EventStore) -> None:
        store.append("rare", [new("rare.thing", n=1)], NO_STREAM)
        for _ in range(6):
            store.append("noise", events(250, type_="noise"), ANY)
        store.append("rare", [new("rare.thing", n=2)], 1)
        store.append("noise", events(10, type_="noise"), ANY)
        head = store.head_position()
        assert head == 1 + 1500 + 1 + 10

        rare = store.read_all(types=["rare.thing"])
        assert global_positions(rare) == [1, 1502]
        assert [e.data["n"] for e in rare] == [1, 2]
        assert global_positions(store.read_all(types=["rare.thing"], after=1)) == [1502]
        assert global_positions(store.read_all(types=["rare.thing"], limit=1)) == [1]
        assert store.read_all(types=["rare.thing"], after=1502) == []
        mixed = store.read_all(types=["rare.thing", "noise"], after=1495, limit=10)
        assert global_positions(mixed) == list(range(1496, 1506))

    def test_head_position(self, store: EventStore) -> None:
        assert store.head_position() == 0
        store.append("a", events(3), NO_STREAM)
        assert store.head_position() == 3
        with pytest.raises(ConcurrencyError):
            store.append("a", events(3), NO_STREAM)
        assert store.head_position() == 3
        store.append("b", events(1), NO_STREAM)
        assert store.head_position() == 4
        assert store.read_all()[-1].global_position == store.head_position()

    def test_read_all_without_metadata(self, store: EventStore) -> None:
        store.append("a", [new("t", {"clerk": "c-7"}, amount=Decimal("1.50"))], NO_STREAM)
        [lean] = store.read_all(with_metadata=False)
        [full] = store.read_all()
        assert lean.data == full.data == {"amount": Decimal("1.50")}
        assert (lean.event_id, lean.type, lean.global_position) == (
            full.event_id,
            full.type,
            full.global_position,
        )
        assert full.has_metadata
        assert full.metadata == {"clerk": "c-7"}
        # An adapter may skip metadata; if it does, touching it says so instead of lying.
        if lean.has_metadata:
            assert lean.metadata == {"clerk": "c-7"}
        else:
            with pytest.raises(LookupError):
                _ = lean.metadata

    # ── the envelope ──────────────────────────────────────────────────────────────────────

    def test_envelope_fields(self, store: EventStore) -> None:
        store.append("warmup", [new()], NO_STREAM)
        event = NewEvent(
            "money.deposited",
            {"accountId": "acct-1", "amount": Decimal("120.35")},
            {"clerkId": "clerk-9", "commandId": "cmd-1", "correlationId": "corr-1"},
            event_id="3f1b5a9e-6d2c-4c38-9a0f-1d2e3f4a5b6c",
        )
        result = store.append("acct-1", [event], NO_STREAM)
        [read] = store.read_stream("acct-1")
        assert read.event_id == "3f1b5a9e-6d2c-4c38-9a0f-1d2e3f4a5b6c"
        assert read.type == "money.deposited"
        assert read.data == {"accountId": "acct-1", "amount": Decimal("120.35")}
        assert read.metadata == {
            "clerkId": "clerk-9",
            "commandId": "cmd-1",
            "correlationId": "corr-1",
        }
        assert read.stream_id == "acct-1"
        assert read.stream_position == 1
        assert read.global_position == 2
        assert isinstance(read.created_at, datetime)
        assert read.created_at.tzinfo is not None
        assert read.created_at.utcoffset() is not None
        assert result.events[0].created_at == read.created_at
        # The login the store recorded, where it records one (PostgreSQL); the same in the
        # append's answer and in every read, lean ones included.
        assert read.db_role is None or isinstance(read.db_role, str)
        assert result.events[0].db_role == read.db_role
        assert store.read_all(with_metadata=False)[-1].db_role == read.db_role
        assert "acct-1" in repr(read)

    def test_default_event_ids_are_unique_and_metadata_defaults_to_empty(self, store):
        store.append("a", [NewEvent("t", {}) for _ in range(20)], NO_STREAM)
        stored = store.read_all()
        assert len({e.event_id for e in stored}) == 20
        assert all(isinstance(e.event_id, str) and e.event_id for e in stored)
        assert all(e.metadata == {} for e in stored)

    def test_created_at_is_aware_and_never_decreases(self, store: EventStore) -> None:
        for i in range(30):
            store.append(f"s-{i % 4}", events(1 + i % 3), ANY)
        stamps = [e.created_at for e in read_everything(store)]
        assert all(s.utcoffset() is not None for s in stamps)
        assert stamps == sorted(stamps)

    def test_payloads_are_not_shared_with_the_caller(self, store: EventStore) -> None:
        data: dict[str, Any] = {"items": [1, 2], "nested": {"k": "v"}}
        metadata: dict[str, Any] = {"tags": ["a"]}
        store.append("a", [NewEvent("t", data, metadata)], NO_STREAM)
        data["items"].append(3)
        data["nested"]["k"] = "changed"
        metadata["tags"].append("b")
        [first] = store.read_stream("a")
        assert first.data == {"items": [1, 2], "nested": {"k": "v"}}
        assert first.metadata == {"tags": ["a"]}
        first.data["items"].append(99)
        first.metadata["tags"].append("z")
        [again] = store.read_all()
        assert again.data == {"items": [1, 2], "nested": {"k": "v"}}
        assert again.metadata == {"tags": ["a"]}

    # ── exact values ──────────────────────────────────────────────────────────────────────

    @pytest.mark.parametrize(
        "text", ["0.10", "120.35", "12345678901234.56", "-0.01", "100.00", "0.000001", "1E+2"]
    )
    def test_decimals_round_trip_exactly(self, store: EventStore, text: str) -> None:
        amount = Decimal(text)
        store.append("a", [NewEvent("t", {"amount": amount}, {"fee": amount})], NO_STREAM)
        for read in (store.read_stream("a")[0], store.read_all()[0]):
            for value in (read.data["amount"], read.metadata["fee"]):
                assert type(value) is Decimal
                assert value == amount
                assert value.as_tuple() == amount.as_tuple()  # same digits, same scale
                assert str(value) == str(amount)

    def test_integral_decimals_come_back_as_int(self, store: EventStore) -> None:
        # JSON has no separate integer-valued decimal: Decimal("5") is written as 5 and read
        # as the int 5. Equal, but not a Decimal: callers that need Decimal convert.
        store.append("a", [new(amount=Decimal("5"), zero=Decimal("-0"))], NO_STREAM)
        [read] = store.read_all()
        assert read.data == {"amount": 5, "zero": 0}
        assert type(read.data["amount"]) is int

    def test_json_values_are_preserved(self, store: EventStore) -> None:
        data = {
            "int": 7,
            "negative": -42,
            "big": 2**70,
            "zero": 0,
            "text": 'Grüße, 世界 🙂 "quoted" \\ back\nslash\t\u0001',
            "empty": "",
            "yes": True,
            "no": False,
            "nothing": None,
            "list": [1, "two", [3, {"four": Decimal("4.40")}], None, True],
            "nested": {"a": {"b": {"c": []}}, "d": {}},
            "ünïcode-key": 1,
        }
        store.append("a", [NewEvent("t", data, {"m": [None, {"x": False}]})], NO_STREAM)
        [read] = store.read_all()
        assert read.data == data
        assert read.metadata == {"m": [None, {"x": False}]}
        assert type(read.data["int"]) is int
        assert type(read.data["big"]) is int
        assert read.data["yes"] is True
        assert read.data["no"] is False
        assert read.data["nothing"] is None
        assert type(read.data["list"][2][1]["four"]) is Decimal

    @pytest.mark.parametrize(
        "value", [0.1, float("nan"), {1, 2}, b"raw", datetime(2026, 1, 1, tzinfo=UTC), [0.5]]
    )
    def test_values_json_cannot_carry_exactly_are_refused(
        self, store: EventStore, value: object
    ) -> None:
        # Floats (amounts must be Decimal), NaN, sets, bytes and dates would not read back as
        # they went in; the append refuses them and writes nothing.
        with pytest.raises(TypeError):
            store.append("a", [new(f=value)], NO_STREAM)
        with pytest.raises(TypeError):
            store.append("a", [NewEvent("t", {}, metadata={"m": value})], NO_STREAM)
        assert store.head_position() == 0

    @pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity"])
    def test_non_finite_decimals_are_rejected(self, store: EventStore, text: str) -> None:
        store.append("a", [new()], NO_STREAM)
        with pytest.raises((TypeError, ValueError)):
            store.append("a", [new(amount=Decimal(text))], 1)
        assert_nothing_written(store, 1, "a", 1)

    # ── bad input ─────────────────────────────────────────────────────────────────────────

    BAD_STREAM_IDS = pytest.mark.parametrize(
        "stream_id",
        ["", 123, None, b"bytes", "nul\x00inside", "x" * 201],
        ids=["empty", "int", "None", "bytes", "NUL", "201-chars"],
    )

    @BAD_STREAM_IDS
    def test_bad_stream_id_is_rejected(self, store: EventStore, stream_id: Any) -> None:
        store.append("ok", [new()], NO_STREAM)
        with pytest.raises((ValueError, TypeError)):
            store.append(stream_id, [new()], ANY)
        with pytest.raises((ValueError, TypeError)):
            store.read_stream(stream_id)
        with pytest.raises((ValueError, TypeError)):
            store.stream_position(stream_id)
        assert store.head_position() == 1
        assert len(store.read_all()) == 1

    def test_longest_stream_id_is_accepted(self, store: EventStore) -> None:
        stream_id = "é" * 200
        store.append(stream_id, [new()], NO_STREAM)
        assert store.stream_position(stream_id) == 1

    @pytest.mark.parametrize(
        "bad",
        [
            pytest.param(lambda: NewEvent("", {}), id="empty-type"),
            pytest.param(lambda: NewEvent(None, {}), id="None-type"),
            pytest.param(lambda: NewEvent("x" * 101, {}), id="101-char-type"),
            pytest.param(lambda: {"type": "t", "data": {}}, id="dict-not-NewEvent"),
            pytest.param(lambda: ("t", {}), id="tuple-not-NewEvent"),
            pytest.param(lambda: None, id="None"),
            pytest.param(lambda: NewEvent("t", [1, 2]), id="list-data"),
            pytest.param(lambda: NewEvent("t", {}, None), id="None-metadata"),
            pytest.param(lambda: NewEvent("t", {"x": object()}), id="unencodable-data"),
            pytest.param(lambda: NewEvent("t", {"x": {(1, 2): "a"}}), id="tuple-key"),
            pytest.param(lambda: NewEvent("t", {}, {"x": object()}), id="unencodable-meta"),
        ],
    )
    def test_bad_event_is_rejected_and_nothing_written(
        self, store: EventStore, bad: Callable[[], Any]
    ) -> None:
        store.append("a", [new()], NO_STREAM)
        with pytest.raises((ValueError, TypeError)):
            store.append("a", [new(ok=1), bad(), new(ok=2)], 1)
        with pytest.raises((ValueError, TypeError)):
            store.append("fresh", [bad()], NO_STREAM)
        assert_nothing_written(store, 1, "a", 1)
        assert store.stream_position("fresh") == 0

    @pytest.mark.parametrize(
        "batch",
        [
            pytest.param(lambda: (e for e in [new()]), id="generator"),
            pytest.param(new, id="single-NewEvent"),
            pytest.param(lambda: None, id="None"),
        ],
    )
    def test_events_must_be_a_list_or_tuple(self, store: EventStore, batch: Callable[[], Any]):
        with pytest.raises((ValueError, TypeError)):
            store.append("a", batch(), ANY)
        assert store.head_position() == 0

    @pytest.mark.parametrize("event_id", [None, 123, ""], ids=["None", "int", "empty"])
    def test_bad_event_id_is_rejected(self, store: EventStore, event_id: Any) -> None:
        with pytest.raises((ValueError, TypeError)):
            store.append("a", [NewEvent("t", {}, event_id=event_id)], NO_STREAM)
        assert store.head_position() == 0

    @pytest.mark.parametrize(
        ("after", "limit"),
        [(-1, None), (True, None), ("1", None), (1.0, None), (0, 0), (0, -5), (0, True)],
        ids=["negative", "bool", "str", "float", "limit-0", "limit-negative", "limit-bool"],
    )
    def test_bad_read_arguments(self, store: EventStore, after: Any, limit: Any) -> None:
        store.append("a", events(3), NO_STREAM)
        with pytest.raises(ValueError, match=r"after|limit"):
            store.read_stream("a", after=after, limit=limit)
        with pytest.raises(ValueError, match=r"after|limit"):
            store.read_all(after=after, limit=1000 if limit is None else limit)

    def test_read_all_rejects_limit_none(self, store: EventStore) -> None:
        store.append("a", events(3), NO_STREAM)
        with pytest.raises((ValueError, TypeError)):
            store.read_all(limit=None)  # type: ignore[arg-type]

    # ── waiting ───────────────────────────────────────────────────────────────────────────

    def test_wait_returns_true_at_once_when_news_exists(self, store: EventStore) -> None:
        store.append("a", events(3), NO_STREAM)
        # A zero timeout leaves no room to wait: the answer must come from what is there.
        assert store.wait_for_events(0, 0) is True
        assert store.wait_for_events(2, 0) is True
        assert store.wait_for_events(2, 30.0) is True

    def test_wait_times_out_without_news(self, store: EventStore) -> None:
        assert store.wait_for_events(0, 0.05) is False
        store.append("a", events(2), NO_STREAM)
        assert store.wait_for_events(2, 0.05) is False
        assert store.wait_for_events(5, 0.05) is False

    def test_wait_wakes_when_another_thread_appends(self, store: EventStore) -> None:
        store.append("a", [new()], NO_STREAM)
        waiting = threading.Event()
        outcome: list[Any] = []

        def waiter() -> None:
            waiting.set()
            try:
                outcome.append(store.wait_for_events(1, 60.0))
            except BaseException as exc:
                outcome.append(exc)

        thread = threading.Thread(target=waiter, daemon=True)
        thread.start()
        assert waiting.wait(JOIN_TIMEOUT)
        store.append("a", [new()], 1)
        thread.join(JOIN_TIMEOUT)
        assert not thread.is_alive()
        assert outcome == [True]

    # ── threads ───────────────────────────────────────────────────────────────────────────

    def test_concurrent_threads_keep_positions_contiguous(self, store: EventStore) -> None:
        writers, per_writer, racers, per_racer = 8, 50, 8, 25
        written: dict[str, list[str]] = {}
        lock = threading.Lock()

        def own_stream_writer(worker: int) -> Callable[[], None]:
            def run() -> None:
                stream_id = f"own-{worker}"
                for i in range(per_writer):
                    event = new("own", worker=worker, i=i)
                    result = store.append(stream_id, [event], i if i else NO_STREAM)
                    assert result.stream_position == i + 1
                    with lock:
                        written.setdefault(stream_id, []).append(event.event_id)

            return run

        def racer(worker: int) -> Callable[[], None]:
            def run() -> None:
                for i in range(per_racer):
                    event = new("hot", worker=worker, i=i)
                    append_with_retry(store, "hot", event)
                    with lock:
                        written.setdefault("hot", []).append(event.event_id)

            return run

        targets = [own_stream_writer(w) for w in range(writers)]
        targets += [racer(w) for w in range(racers)]
        assert run_threads(targets) == []

        total = writers * per_writer + racers * per_racer
        assert store.head_position() == total
        everything = read_everything(store)
        assert global_positions(everything) == list(range(1, total + 1))
        assert len({e.event_id for e in everything}) == total
        for stream_id, ids in written.items():
            stream = store.read_stream(stream_id)
            assert stream_positions(stream) == list(range(1, len(ids) + 1))
            assert sorted(e.event_id for e in stream) == sorted(ids)
        assert store.stream_position("hot") == racers * per_racer
        # Each racer's own events are in the order it wrote them.
        hot = store.read_stream("hot")
        for worker in range(racers):
            mine = [e.data["i"] for e in hot if e.data["worker"] == worker]
            assert mine == list(range(per_racer))

    def test_reader_never_sees_a_gap_while_threads_write(self, store: EventStore) -> None:
        writers, appends_each = 4, 60
        writers_done = threading.Event()
        seen: list[int] = []
        problems: list[str] = []

        def writer(worker: int) -> Callable[[], None]:
            def run() -> None:
                rng = random.Random(worker)
                for i in range(appends_each):
                    stream_id = "shared" if i % 3 == 0 else f"w-{worker}"
                    store.append(stream_id, events(rng.randint(1, 3), worker=worker), ANY)

            return run

        def reader() -> None:
            rng = random.Random(99)
            last = 0
            while True:
                batch = store.read_all(after=last, limit=rng.randint(1, 40))
                positions = global_positions(batch)
                if positions != list(range(last + 1, last + 1 + len(batch))):
                    problems.append(f"after {last} read {positions}")
                    return
                seen.extend(positions)
                if batch:
                    last = positions[-1]
                elif writers_done.is_set() and last == store.head_position():
                    return
                else:
                    store.wait_for_events(last, 0.05)

        def all_writers() -> None:
            try:
                assert run_threads([writer(w) for w in range(writers)]) == []
            finally:
                writers_done.set()

        assert run_threads([all_writers, reader]) == []
        assert problems == []
        head = store.head_position()
        assert head >= writers * appends_each
        assert seen == list(range(1, head + 1))

    # ── the history newest first (an audit view) ─────────────────────────────────────────

    def fill_history(self, store: EventStore) -> list[RecordedEvent]:
        """60 events over three streams, three types and two clerks, in a known order."""
        for n in range(60):
            stream = ("account-a", "account-b", "transfer-c")[n % 3]
            type_ = ("money.deposited", "money.withdrawn", "account.opened")[n % 4 % 3]
            clerk = "clerk-9" if n % 5 == 0 else "clerk-7"
            store.append(stream, [new(type_, {"clerkId": clerk, "other": "clerk-9x"}, n=n)], ANY)
        return read_everything(store)

    @pytest.mark.parametrize(
        "query",
        [
            {},
            {"event_type": "money.withdrawn"},
            {"stream_id": "account-b"},
            {"clerk_id": "clerk-9"},
            {"event_type": "money.deposited", "stream_id": "account-a", "clerk_id": "clerk-9"},
            {"stream_id": "no-such-stream"},
            {"clerk_id": "clerk-9x"},  # only ever in another field: the exact check drops it
        ],
    )
    def test_history_pages_newest_first_with_filters(
        self, store: EventStore, query: dict[str, str]
    ) -> None:
        everything = self.fill_history(store)
        wanted = EventFilter(**query)
        expected = [e.global_position for e in reversed(everything) if wanted.matches(e)]
        seen: list[int] = []
        before: int | None = None
        for _ in range(100):  # pages of 7, and a fallback may return short pages
            page = read_history(store, wanted, before=before, limit=7, scan=20)
            assert len(page.events) <= 7
            seen.extend(e.global_position for e in page.events)
            if page.exhausted:
                break
            before = page.next_before
        assert seen == expected

    def test_history_of_an_empty_store(self, store: EventStore) -> None:
        page = read_history(store, EventFilter(), limit=10)
        assert list(page.events) == []
        assert page.exhausted

    def test_read_backwards_matches_a_forward_read(self, store: EventStore) -> None:
        if not isinstance(store, BackwardReader):
            pytest.skip("adapter reads backwards through the application's fallback")
        everything = self.fill_history(store)
        newest = list(reversed(everything))
        assert store.read_backwards(limit=5) == newest[:5]
        assert store.read_backwards(before=10, limit=100) == newest[-9:]
        assert store.read_backwards(before=1, limit=5) == []
        by_stream = store.read_backwards(stream_id="account-b", event_type="account.opened")
        assert by_stream == [
            e for e in newest if e.stream_id == "account-b" and e.type == "account.opened"
        ]
        clerks = store.read_backwards(limit=3, metadata_equals=("clerkId", "clerk-9"))
        assert clerks == [e for e in newest if e.metadata["clerkId"] == "clerk-9"][:3]

    @pytest.mark.parametrize(
        "arguments",
        [{"before": 0}, {"before": -1}, {"limit": 0}, {"before": "9"}, {"stream_id": ""}],
    )
    def test_read_backwards_rejects_bad_arguments(
        self, store: EventStore, arguments: dict[str, Any]
    ) -> None:
        if not isinstance(store, BackwardReader):
            pytest.skip("adapter reads backwards through the application's fallback")
        with pytest.raises(ValueError, match="must be"):
            store.read_backwards(**arguments)

    # ── several streams at once ───────────────────────────────────────────────────────────

    def multi(self, store: EventStore) -> MultiStreamAppender:
        if not isinstance(store, MultiStreamAppender):
            pytest.skip("adapter has no multi-stream appends")
        return store

    def test_append_many_writes_all_streams(self, store: EventStore) -> None:
        appender = self.multi(store)
        store.append("b", [new()], NO_STREAM)
        results = appender.append_many(
            [
                AppendRequest("a", events(2), NO_STREAM),
                AppendRequest("b", events(1), 1),
                AppendRequest("c", events(3), ANY),
            ]
        )
        assert [r.stream_id for r in results] == ["a", "b", "c"]
        assert [r.stream_position for r in results] == [2, 2, 3]
        assert [r.global_positions for r in results] == [(2, 3), (4,), (5, 6, 7)]
        assert store.head_position() == 7
        assert global_positions(store.read_all()) == list(range(1, 8))
        assert stream_positions(store.read_stream("c")) == [1, 2, 3]

    @pytest.mark.parametrize("bad_index", [0, 1, 2])
    def test_append_many_is_all_or_nothing(self, store: EventStore, bad_index: int) -> None:
        appender = self.multi(store)
        store.append("b", [new()], NO_STREAM)
        requests = [
            AppendRequest("a", events(2), NO_STREAM),
            AppendRequest("b", events(1), 1),
            AppendRequest("c", events(3), NO_STREAM),
        ]
        wrong = [AppendRequest("a", events(2), 4), AppendRequest("b", events(1), NO_STREAM)]
        wrong.append(AppendRequest("c", events(3), STREAM_EXISTS))
        requests[bad_index] = wrong[bad_index]
        with pytest.raises(ConcurrencyError) as info:
            appender.append_many(requests)
        assert info.value.stream_id == "abc"[bad_index]
        assert store.head_position() == 1
        assert store.stream_position("a") == store.stream_position("c") == 0
        assert store.stream_position("b") == 1

    def test_append_many_rejects_bad_input_before_writing(self, store: EventStore) -> None:
        appender = self.multi(store)
        with pytest.raises((ValueError, TypeError)):
            appender.append_many(
                [
                    AppendRequest("a", events(2), NO_STREAM),
                    AppendRequest("", events(1), NO_STREAM),
                ]
            )
        with pytest.raises((ValueError, TypeError)):
            appender.append_many(
                [
                    AppendRequest("a", events(2), NO_STREAM),
                    AppendRequest("b", [new(x=object())], NO_STREAM),
                ]
            )
        assert store.head_position() == 0

    def test_append_many_same_stream_twice_gets_consecutive_positions(self, store):
        appender = self.multi(store)
        results = appender.append_many(
            [
                AppendRequest("a", events(1), NO_STREAM),
                AppendRequest("b", events(1), NO_STREAM),
                AppendRequest("a", events(2), 1),
                AppendRequest("a", events(1), STREAM_EXISTS),
            ]
        )
        assert [r.stream_position for r in results] == [1, 1, 3, 4]
        assert [e.stream_position for e in results[2].events] == [2, 3]
        assert stream_positions(store.read_stream("a")) == [1, 2, 3, 4]
        assert global_positions(store.read_stream("a")) == [1, 3, 4, 5]

    def test_append_many_checks_later_requests_against_earlier_ones(self, store):
        appender = self.multi(store)
        with pytest.raises(ConcurrencyError) as info:
            appender.append_many(
                [
                    AppendRequest("a", events(2), NO_STREAM),
                    AppendRequest("a", events(1), NO_STREAM),
                ]
            )
        assert info.value.actual == 2
        assert store.head_position() == 0

    def test_append_many_with_no_requests(self, store: EventStore) -> None:
        appender = self.multi(store)
        assert appender.append_many([]) == []
        assert store.head_position() == 0

    # ── batches: several writes in one commit (group commit) ──────────────────────────────

    def batcher(self, store: EventStore) -> BatchAppender:
        if not isinstance(store, BatchAppender):
            pytest.skip("adapter has no batched commits")
        return store

    def test_a_conflict_inside_a_batch_fails_that_write_alone(self, store: EventStore) -> None:
        appender = self.batcher(store)
        store.append("a", events(1), NO_STREAM)
        outcomes = appender.append_batch(
            [
                [AppendRequest("b", events(2), NO_STREAM)],
                [AppendRequest("a", events(1), 5)],  # stale: "a" is at 1
                [AppendRequest("a", events(1), 1)],
                [AppendRequest("c", events(1), NO_STREAM)],
            ]
        )
        first, conflict, third, fourth = outcomes
        assert isinstance(conflict, ConcurrencyError)
        assert (conflict.stream_id, conflict.expected, conflict.actual) == ("a", 5, 1)
        assert not isinstance(first, ConcurrencyError)
        assert not isinstance(third, ConcurrencyError)
        assert not isinstance(fourth, ConcurrencyError)
        assert [global_positions(r.events) for r in first] == [[2, 3]]
        assert [(r.stream_position, global_positions(r.events)) for r in third] == [(2, [4])]
        assert [global_positions(r.events) for r in fourth] == [[5]]
        assert global_positions(read_everything(store)) == [1, 2, 3, 4, 5]
        assert stream_positions(store.read_stream("a")) == [1, 2]

    def test_writes_in_a_batch_see_the_ones_before_them(self, store: EventStore) -> None:
        appender = self.batcher(store)
        outcomes = appender.append_batch(
            [
                [AppendRequest("a", events(1), NO_STREAM)],
                [AppendRequest("a", events(1), NO_STREAM)],  # "a" exists by now: refused
                [AppendRequest("a", events(2), 1), AppendRequest("b", events(1), ANY)],
            ]
        )
        assert isinstance(outcomes[1], ConcurrencyError)
        assert outcomes[1].actual == 1
        third = outcomes[2]
        assert not isinstance(third, ConcurrencyError)
        assert [r.stream_position for r in third] == [3, 1]
        assert stream_positions(store.read_stream("a")) == [1, 2, 3]

    def test_a_write_in_a_batch_is_all_or_nothing(self, store: EventStore) -> None:
        appender = self.batcher(store)
        outcomes = appender.append_batch(
            [
                [AppendRequest("a", events(1), NO_STREAM), AppendRequest("b", events(1), 3)],
                [AppendRequest("c", events(1), NO_STREAM)],
            ]
        )
        assert isinstance(outcomes[0], ConcurrencyError)
        assert outcomes[0].stream_id == "b"
        assert store.stream_position("a") == 0
        assert global_positions(read_everything(store)) == [1]
        assert store.read_stream("c")[0].global_position == 1

    def test_an_empty_batch_writes_nothing(self, store: EventStore) -> None:
        assert self.batcher(store).append_batch([]) == []
        assert store.head_position() == 0

    def test_a_batch_with_bad_input_is_refused_whole_before_writing(self, store: EventStore):
        appender = self.batcher(store)
        with pytest.raises((ValueError, TypeError)):
            appender.append_batch(
                [[AppendRequest("a", events(1), NO_STREAM)], [AppendRequest("", events(1), ANY)]]
            )
        assert store.head_position() == 0

    def test_concurrent_writers_each_get_their_own_outcome(self, store: EventStore) -> None:
        # Threads writing at once may share commits (group commit); each still gets its own
        # result, a conflict fails only its writer, and what was answered is what is stored.
        store.append("shared", events(1), NO_STREAM)
        answers: dict[str, Any] = {}
        lock = threading.Lock()

        def own(index: int) -> Callable[[], None]:
            def run() -> None:
                for n in range(5):
                    result = store.append(f"own-{index}", events(1), n or NO_STREAM)
                    with lock:
                        answers[f"own-{index}-{n}"] = result

            return run

        def racer(index: int) -> Callable[[], None]:
            def run() -> None:
                try:
                    result: Any = store.append("shared", [new(racer=index)], 1)
                except ConcurrencyError as exc:
                    result = exc
                with lock:
                    answers[f"racer-{index}"] = result

            return run

        assert run_threads([own(i) for i in range(6)] + [racer(i) for i in range(6)]) == []
        racers = [answers[f"racer-{i}"] for i in range(6)]
        winners = [r for r in racers if isinstance(r, AppendResult)]
        assert len(winners) == 1
        assert all(
            isinstance(r, ConcurrencyError) and r.actual == 2 for r in racers if r not in winners
        )
        stored = {e.event_id: e for e in read_everything(store)}
        assert sorted(e.global_position for e in stored.values()) == list(range(1, 33))
        for key, result in answers.items():
            if isinstance(result, AppendResult):
                for event in result.events:
                    kept = stored[event.event_id]
                    assert (kept.stream_id, kept.stream_position, kept.global_position) == (
                        event.stream_id,
                        event.stream_position,
                        event.global_position,
                    ), key
        assert [e.data["racer"] for e in store.read_stream("shared", after=1)] == [
            winners[0].events[0].data["racer"]
        ]

    # ── closing ───────────────────────────────────────────────────────────────────────────

    USES = pytest.mark.parametrize(
        "use",
        [
            pytest.param(lambda s: s.append("a", [new()], ANY), id="append"),
            pytest.param(lambda s: s.read_stream("a"), id="read_stream"),
            pytest.param(lambda s: s.stream_position("a"), id="stream_position"),
            pytest.param(lambda s: s.read_all(), id="read_all"),
            pytest.param(lambda s: s.head_position(), id="head_position"),
        ],
    )

    @USES
    def test_use_after_close_raises(self, store: EventStore, use: Callable[[Any], Any]):
        store.append("a", [new()], NO_STREAM)
        store.read_all()
        store.close()
        with pytest.raises(EventStoreError) as info:
            use(store)
        assert not isinstance(info.value, ConcurrencyError)

    @USES
    def test_use_after_close_from_another_thread_raises(self, store, use):
        store.append("a", [new()], NO_STREAM)
        store.close()
        outcome: list[BaseException] = []

        def other() -> None:
            try:
                use(store)
            except BaseException as exc:
                outcome.append(exc)

        assert run_threads([other]) == []
        assert len(outcome) == 1
        assert isinstance(outcome[0], EventStoreError)

    def test_append_many_after_close_raises(self, store: EventStore) -> None:
        appender = self.multi(store)
        store.close()
        with pytest.raises(EventStoreError):
            appender.append_many([AppendRequest("a", [new()], NO_STREAM)])

    def test_close_is_idempotent(self, store: EventStore) -> None:
        store.close()
        store.close()

    def test_wait_after_close_does_not_report_news(self, store: EventStore) -> None:
        # Adapters differ here (memory raises, SQLite returns False); both are allowed.
        store.close()
        try:
            result = store.wait_for_events(0, 5.0)
        except EventStoreError:
            return
        assert result is False

    def test_close_wakes_a_waiter(self, store: EventStore) -> None:
        waiting = threading.Event()
        outcome: list[Any] = []

        def waiter() -> None:
            waiting.set()
            try:
                outcome.append(store.wait_for_events(0, 600.0))
            except BaseException as exc:
                outcome.append(exc)

        thread = threading.Thread(target=waiter, daemon=True)
        thread.start()
        assert waiting.wait(JOIN_TIMEOUT)
        store.close()
        thread.join(JOIN_TIMEOUT)
        assert not thread.is_alive(), "close() left a waiter blocked"
        assert len(outcome) == 1
        assert outcome[0] is False or isinstance(outcome[0], EventStoreError)
