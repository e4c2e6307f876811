"""The fast canonical digests write exactly the bytes of the reference, for any JSON value; the
reader of stored rows vouches for a digest only when it is the reference's."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bank_desktop.application.chain import (
    CHAIN_TAG,
    COVERED_METADATA,
    HASH_KEY,
    PREV_KEY,
    event_digest,
)
from bank_desktop.eventstore.canonical import StoredReading, fast_digest
from bank_desktop.eventstore.exact_json import decode_json, encode_json

fast = fast_digest(CHAIN_TAG, COVERED_METADATA, (PREV_KEY, HASH_KEY), event_digest)

text = st.text()  # every code point, lone surrogates included
numbers = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.decimals(allow_nan=False, allow_infinity=False, places=None),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, text)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(text, inner, max_size=4)),
    max_leaves=12,
)
metadata = st.dictionaries(
    st.one_of(st.sampled_from(COVERED_METADATA), text), st.one_of(text, values), max_size=8
)


@settings(max_examples=400, deadline=None)
@given(
    prev=text,
    stream_id=text,
    position=st.integers(min_value=0, max_value=2**53),
    event_id=text,
    type_=text,
    data=values,
    meta=metadata,
)
def test_fast_and_reference_digests_agree(  # noqa: PLR0917 - hypothesis fills them
    prev: str,
    stream_id: str,
    position: int,
    event_id: str,
    type_: str,
    data: Any,
    meta: dict[str, Any],
) -> None:
    assert fast(prev, stream_id, position, event_id, type_, data, meta) == event_digest(
        prev, stream_id, position, event_id, type_, data, meta
    )


def test_the_everyday_event_agrees() -> None:
    data = {"accountId": "a-1", "amount": Decimal("10.50"), "depositedAt": "2026-01-01T00:00:00Z"}
    meta = {"clerkId": "c", "commandId": "x", "prevHash": "p", "hash": "h"}
    assert fast("p", "a-1", 3, "e", "money.deposited", data, meta) == event_digest(
        "p", "a-1", 3, "e", "money.deposited", data, meta
    )


# ── stored rows hashed as they are decoded (verification's fast path) ─────────────────────

LINK_PREV, LINK_OWN = "p" * 64, "h" * 64
WHEN = "2026-01-01T00:00:00.000000Z"


def reading(rows: list[Any]) -> tuple[list[Any], list[Any]]:
    """Stored rows read for verification: each one's event (whole, and without metadata, which
    must agree) and its link."""
    stored = StoredReading(CHAIN_TAG, COVERED_METADATA, (PREV_KEY, HASH_KEY))
    events = [StoredReading.event(row) for row in rows]
    lean = StoredReading.events(rows)
    assert [(e.event_id, e.type, e.data, e.global_position) for e in lean] == [
        (e.event_id, e.type, e.data, e.global_position) for e in events
    ]
    assert not any(e.has_metadata for e in lean)
    return events, stored.links(rows)


def spelled(value: Any, draw: Any) -> str:
    """``value`` as JSON text in one of the many spellings a store may hand back: keys in any
    order, spaces, escapes where none are needed, numbers with exponents or trailing zeros."""
    gap = draw(st.sampled_from(["", " ", "\n "]))
    if value is None or type(value) is bool:
        return json.dumps(value)
    if type(value) is int:
        return draw(st.sampled_from([str(value), f"{value}.0", f"{value}e0", f"{value}.000"]))
    if type(value) is Decimal:
        plain = format(value, "f")
        return draw(st.sampled_from([plain, str(value), f"{plain}0" if "." in plain else plain]))
    if type(value) is str:
        return draw(st.sampled_from([json.dumps(value), json.dumps(value, ensure_ascii=False)]))
    if type(value) is list:
        return "[" + f",{gap}".join(spelled(item, draw) for item in value) + "]"
    items = draw(st.permutations(list(value.items())))
    return "{" + f",{gap}".join(f"{json.dumps(k)}:{gap}{spelled(v, draw)}" for k, v in items) + "}"


json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**30), max_value=10**30),
        st.decimals(allow_nan=False, allow_infinity=False, places=None),
        st.text(alphabet=st.characters(exclude_categories=["Cs"])),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=500, deadline=None)
@given(
    data=st.dictionaries(st.text(), json_values, max_size=6),
    meta=st.dictionaries(
        st.one_of(st.sampled_from(COVERED_METADATA), st.text()),
        st.one_of(st.text(), json_values),
        max_size=7,
    ),
    draw=st.data(),
)
def test_a_stored_row_is_vouched_for_only_with_its_canonical_digest(
    data: dict[str, Any], meta: dict[str, Any], draw: st.DataObject
) -> None:
    """Whatever the spelling of a stored row, the event is what ``read_all`` delivers, and a
    link, when the reader gives one, carries exactly the reference digest of the values."""
    meta = {**meta, PREV_KEY: LINK_PREV, HASH_KEY: LINK_OWN}
    row = (7, "s-1", 3, "e-1", "t", spelled(data, draw.draw), spelled(meta, draw.draw), WHEN)
    (event,), (link,) = reading([row])
    values, stored_meta = decode_json(row[5]), decode_json(row[6])
    assert event.data == values
    assert dict(event.metadata) == stored_meta
    expected = event_digest(LINK_PREV, "s-1", 3, "e-1", "t", values, stored_meta)
    assert link is None or link == (LINK_PREV, LINK_OWN, expected)


@settings(max_examples=200, deadline=None)
@given(
    data=st.dictionaries(st.text(), json_values, max_size=6),
    meta=st.dictionaries(st.sampled_from(COVERED_METADATA), st.text(), max_size=7),
)
def test_what_the_store_writes_is_vouched_for(data: dict[str, Any], meta: dict[str, Any]) -> None:
    """The store's own text (exact JSON) always gets its link, whatever numbers it holds."""
    stored = {**meta, PREV_KEY: LINK_PREV, HASH_KEY: LINK_OWN}
    row = (7, "s-1", 3, "e-1", "t", encode_json(data), encode_json(stored), WHEN)
    (_,), (link,) = reading([row])
    assert link == (
        LINK_PREV,
        LINK_OWN,
        event_digest(LINK_PREV, "s-1", 3, "e-1", "t", decode_json(row[5]), stored),
    )


@pytest.mark.parametrize(
    ("data", "meta"),
    [
        ("{not json", f'{{"prevHash":"{LINK_PREV}","hash":"{LINK_OWN}"}}'),  # damaged data
        ("{}", "[1]"),  # metadata not an object
        ("{}", "{not json"),
        ("{}", f'{{"hash":"{LINK_OWN}"}}'),  # no link to its predecessor: unchained
        ("{}", f'{{"prevHash":"{LINK_PREV}","hash":7}}'),
        ("{}", f'{{"clerkId":1,"prevHash":"{LINK_PREV}","hash":"{LINK_OWN}"}}'),
        ("{}", f'{{"clerkId":null,"prevHash":"{LINK_PREV}","hash":"{LINK_OWN}"}}'),
    ],
)
def test_a_row_the_reader_cannot_vouch_for_has_no_link(data: str, meta: str) -> None:
    """Left to the chain check's careful path, which says what is wrong with it."""
    (event,), (link,) = reading([(1, "s", 1, "e", "t", data, meta, WHEN)])
    assert link is None
    assert event.data == (None if data.startswith("{not") else {})


@pytest.mark.parametrize(
    "row",
    [
        (1, b"s", 1, "e", "t", "{}"),  # a stream id the schema's type does not hold
        (1, "s", 1.0, "e", "t", "{}"),
        (1, "s", "1", "e", "t", "{}"),
        (1, "s", 1, None, "t", "{}"),
        (1, "s", 1, "e", 5, "{}"),
    ],
)
def test_an_envelope_of_other_types_has_no_link(row: tuple[Any, ...]) -> None:
    """A tampered SQLite file can hold any type in any column: only the careful path hashes
    those (the encoding writes nothing else canonically)."""
    (_,), (link,) = reading([(*row, f'{{"prevHash":"{LINK_PREV}","hash":"{LINK_OWN}"}}', WHEN)])
    assert link is None
