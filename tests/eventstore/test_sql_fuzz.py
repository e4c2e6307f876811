"""Hostile text through the SQL adapters: what goes in comes back exactly, or nothing is written.

Hypothesis generates stream ids, event types, event ids and payload text from all of Unicode
within the documented limits (``eventstore/validation.py``: non-empty, no NUL, at most 200
characters for stream ids and 100 for types and ids), biased towards what breaks SQL built by
string formatting: quotes, semicolons, comment markers, ``%s`` and ``?`` placeholders,
backslashes, SQL keywords, emoji, bidi controls. Every value must be appended and read back
exactly, by stream, globally and filtered by type, on SQLite and on PostgreSQL: the adapters
only ever pass values as parameters. Values outside the limits (empty, NUL, too long) raise
ValueError and write nothing, as do lone surrogates (which no UTF-8 database can store).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bank_desktop.eventstore import ANY, EventStore, NewEvent, prepare_store
from bank_desktop.eventstore.validation import (
    MAX_EVENT_ID_LENGTH,
    MAX_EVENT_TYPE_LENGTH,
    MAX_STREAM_ID_LENGTH,
)

SPICY = [
    "'",
    "''",
    '"',
    ";",
    "--",
    "/*",
    "*/",
    "%s",
    "%(x)s",
    "%%",
    "?",
    "?1",
    ":name",
    "$1",
    "\\",
    "\\'",
    "`",
    "' OR '1'='1",
    "'); DROP TABLE bank_events; --",
    "DROP TABLE events;",
    "SELECT * FROM events",
    "NULL",
    "\n",
    "\r\n",
    "\t",
    "💰",
    "👩‍💻",
    "\u202e",
    "\ufeff",
    "é",
    "ß",
    "中文",
    "\U0010ffff",
]
#: Any Unicode scalar value but NUL (which the limits exclude) and lone surrogates (not text).
CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")


def text_within(limit: int) -> st.SearchStrategy[str]:
    """Non-empty text of at most ``limit`` characters, often hostile, sometimes exactly at the
    limit."""
    pieces = st.lists(st.one_of(st.sampled_from(SPICY), st.text(CHARS, max_size=6)), max_size=12)
    return st.one_of(
        pieces.map("".join).map(lambda s: s[:limit]).filter(bool),
        st.text(CHARS, min_size=1, max_size=limit),
        st.text(CHARS, min_size=limit, max_size=limit),
    )


STREAM_IDS = text_within(MAX_STREAM_ID_LENGTH)
TYPES = text_within(MAX_EVENT_TYPE_LENGTH)
EVENT_IDS = text_within(MAX_EVENT_ID_LENGTH)
FUZZ = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EventStore]:
    """One store for all examples of a test (examples read back only what they appended)."""
    if request.param == "sqlite":
        url = f"sqlite://{tmp_path / 'fuzz.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    opened, _ = prepare_store(url)
    yield opened
    opened.close()


def _written_since(store: EventStore, head: int) -> list[tuple[str, str, str, object]]:
    return [
        (e.stream_id, e.type, e.event_id, e.data) for e in store.read_all(after=head, limit=100)
    ]


@FUZZ
@given(
    batch=st.lists(
        st.tuples(TYPES, st.one_of(st.none(), EVENT_IDS), st.text(CHARS, max_size=40)),
        min_size=1,
        max_size=3,
    ),
    stream_id=STREAM_IDS,
    key=st.text(CHARS, min_size=1, max_size=20),
)
def test_any_text_within_the_limits_reads_back_exactly(
    store: EventStore,
    stream_id: str,
    batch: list[tuple[str, str | None, str]],
    key: str,
) -> None:
    events = [
        NewEvent(type_, {"text": text, key: [text, "\x00"]}, {"note": text})
        if event_id is None
        else NewEvent(type_, {"text": text}, {"note": text}, event_id)
        for type_, event_id, text in batch
    ]
    head = store.head_position()
    before = store.stream_position(stream_id)

    result = store.append(stream_id, events, ANY)

    assert result.stream_position == before + len(events)
    assert store.stream_position(stream_id) == before + len(events)
    assert store.head_position() == head + len(events)
    expected = [(stream_id, e.type, e.event_id, e.data) for e in events]
    again = store.read_stream(stream_id, after=before)
    assert [(e.stream_id, e.type, e.event_id, e.data) for e in again] == expected
    assert [dict(e.metadata) for e in again] == [dict(e.metadata) for e in events]
    assert [e.stream_position for e in again] == list(range(before + 1, before + len(events) + 1))
    assert _written_since(store, head) == expected
    for type_ in {e.type for e in events}:
        filtered = store.read_all(after=head, limit=100, types=[type_])
        assert [(e.stream_id, e.type, e.event_id, e.data) for e in filtered] == [
            x for x in expected if x[1] == type_
        ]


def _outside(limit: int) -> st.SearchStrategy[str]:
    """Text the limits refuse: empty, with a NUL, or one character too long (or more)."""
    return st.one_of(
        st.just(""),
        st.tuples(st.text(CHARS, max_size=limit // 2), st.text(CHARS, max_size=limit // 2)).map(
            lambda parts: f"{parts[0]}\x00{parts[1]}"
        ),
        st.text(CHARS, min_size=limit + 1, max_size=limit + 40),
    )


@FUZZ
@given(
    bad=st.one_of(
        st.tuples(st.just("stream"), _outside(MAX_STREAM_ID_LENGTH)),
        st.tuples(st.just("type"), _outside(MAX_EVENT_TYPE_LENGTH)),
        st.tuples(st.just("event id"), _outside(MAX_EVENT_ID_LENGTH)),
    ),
    good_type=TYPES,
)
def test_text_outside_the_limits_raises_value_error_and_writes_nothing(
    store: EventStore, bad: tuple[str, str], good_type: str
) -> None:
    field, value = bad
    stream_id = value if field == "stream" else "fuzz-target"
    valid = NewEvent(good_type, {"ok": True})
    if field == "type":
        invalid = NewEvent(value, {"ok": False})
    elif field == "event id":
        invalid = NewEvent(good_type, {"ok": False}, {}, value)
    else:
        invalid = NewEvent(good_type, {"ok": False})
    head = store.head_position()

    with pytest.raises(ValueError):  # noqa: PT011 - the message varies with the field
        store.append(stream_id, [valid, invalid], ANY)

    assert store.head_position() == head
    assert store.read_all(after=head) == []
    if field != "stream":
        assert store.stream_position("fuzz-target") == 0


@FUZZ
@given(
    where=st.sampled_from(["stream", "type", "data"]),
    prefix=st.text(CHARS, max_size=10),
    surrogate=st.characters(whitelist_categories=("Cs",)),
)
def test_lone_surrogates_raise_value_error_and_write_nothing(
    store: EventStore, where: str, prefix: str, surrogate: str
) -> None:
    # Not valid Unicode text, so no UTF-8 database can hold it; the validation module does not
    # list it, and the driver's UnicodeEncodeError (a ValueError) is what callers get.
    odd = prefix + surrogate
    stream_id = odd if where == "stream" else "fuzz-surrogates"
    event = NewEvent(odd if where == "type" else "t", {"text": odd if where == "data" else ""})
    head = store.head_position()
    with pytest.raises(ValueError):  # noqa: PT011
        store.append(stream_id, [NewEvent("t", {}), event], ANY)
    assert store.head_position() == head
    assert store.stream_position("fuzz-surrogates") == 0
