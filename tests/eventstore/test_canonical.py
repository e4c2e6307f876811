"""The fast canonical digest writes exactly the bytes of the reference, for any JSON value."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bank_desktop.application.chain import (
    CHAIN_TAG,
    COVERED_METADATA,
    HASH_KEY,
    PREV_KEY,
    event_digest,
)
from bank_desktop.eventstore.canonical import fast_digest, hashing_events
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


stored_values = st.recursive(
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


@settings(max_examples=300, deadline=None)
@given(
    data=st.dictionaries(st.text(), stored_values, max_size=6),
    meta=st.dictionaries(st.sampled_from(COVERED_METADATA), st.text(), max_size=7),
)
def test_events_decoded_for_hashing_hash_as_the_stored_values(
    data: dict[str, Any], meta: dict[str, Any]
) -> None:
    """What a store wrote (exact JSON text) hashes the same whether read the everyday way
    (Decimals) or decoded for hashing (numbers kept as canonical text)."""
    row = (7, "s-1", 3, "e-1", "t", encode_json(data), encode_json(meta))
    (event,) = hashing_events([row])
    assert fast("p", "s-1", 3, "e-1", "t", event.data, event.metadata) == event_digest(
        "p", "s-1", 3, "e-1", "t", decode_json(row[5]), decode_json(row[6])
    )


def test_a_damaged_stored_row_hashes_as_nothing() -> None:
    (event,) = hashing_events([(1, "s", 1, "e", "t", "{not json", "[1]")])
    assert (event.data, dict(event.metadata)) == (None, {})
