"""The hash chain: its canonical encoding (fixed forever, so pinned here) and how links are made."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest

from bank_desktop.application.chain import (
    GENESIS,
    HASH_KEY,
    PREV_KEY,
    UncoveredMetadataError,
    canonical_text,
    chained,
    event_digest,
    head_after,
    number_text,
    stored_link,
)
from bank_desktop.eventstore import open_store
from bank_desktop.eventstore.port import NewEvent

DATA = {
    "depositedAt": "2026-11-02T09:00:00.001Z",
    "amount": Decimal("50.00"),
    "accountId": "account-abc",
    "description": 'Rent "May"\n',
}
METADATA = {
    "clerkId": "clerk-7",
    "commandId": "cmd-1",
    "correlationId": "cmd-1",
    "causationId": "cmd-1",
    "appVersion": "0.1.0",
    "requestHash": "ab" * 16,
    "prevHash": "ignored",
}


def test_the_canonical_encoding_is_pinned() -> None:
    text = canonical_text(GENESIS, "account-abc", 2, "ev-1", "money.deposited", DATA, METADATA)
    assert text == (
        '["bank-desktop/chain/1","' + "0" * 64 + '","account-abc",2,"ev-1","money.deposited",'
        '{"accountId":"account-abc","amount":50,"depositedAt":"2026-11-02T09:00:00.001Z",'
        '"description":"Rent \\"May\\"\\n"},'
        '{"appVersion":"0.1.0","causationId":"cmd-1","clerkId":"clerk-7","commandId":"cmd-1",'
        '"correlationId":"cmd-1","requestHash":"' + "ab" * 16 + '"}]'
    )
    assert event_digest(GENESIS, "account-abc", 2, "ev-1", "money.deposited", DATA, METADATA) == (
        hashlib.sha256(text.encode()).hexdigest()
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("50.00"), "50"),
        (Decimal("120.35"), "120.35"),
        (Decimal("0.10"), "0.1"),
        (Decimal("-0.00"), "0"),
        (Decimal("1E+3"), "1000"),
        (Decimal("1.5E-7"), "0.00000015"),
        (Decimal("-12.50"), "-12.5"),
    ],
)
def test_numbers_are_exact_plain_and_without_trailing_zeros(value: Decimal, text: str) -> None:
    assert number_text(value) == text


def test_an_amount_read_back_as_an_integer_hashes_the_same() -> None:
    """A store that hands 50.00 back as 50 (a JavaScript service) keeps the chain intact."""
    as_int = {**DATA, "amount": 50}
    assert event_digest(GENESIS, "s", 1, "e", "t", DATA, {}) == event_digest(
        GENESIS, "s", 1, "e", "t", as_int, {}
    )


def test_what_is_hashed_and_what_is_not() -> None:
    base = event_digest(GENESIS, "s", 1, "e", "t", DATA, METADATA)
    changed = [
        event_digest("1" * 64, "s", 1, "e", "t", DATA, METADATA),
        event_digest(GENESIS, "s2", 1, "e", "t", DATA, METADATA),
        event_digest(GENESIS, "s", 2, "e", "t", DATA, METADATA),
        event_digest(GENESIS, "s", 1, "e2", "t", DATA, METADATA),
        event_digest(GENESIS, "s", 1, "e", "t2", DATA, METADATA),
        event_digest(GENESIS, "s", 1, "e", "t", {**DATA, "amount": Decimal("50.01")}, METADATA),
        event_digest(GENESIS, "s", 1, "e", "t", DATA, {**METADATA, "clerkId": "clerk-8"}),
    ]
    assert base not in changed
    assert len(set(changed)) == len(changed)
    # The chain's own fields and metadata a store adds afterwards are not part of the hash.
    assert base == event_digest(
        GENESIS, "s", 1, "e", "t", DATA, {**METADATA, "hash": "x", "dbRole": "alice"}
    )


def test_links_follow_each_other() -> None:
    events = [NewEvent("t", {"n": n}, {"clerkId": "c"}) for n in range(3)]
    linked, head = chained("s", 4, "f" * 64, events)
    assert [e.metadata[PREV_KEY] for e in linked] == [
        "f" * 64,
        linked[0].metadata[HASH_KEY],
        linked[1].metadata[HASH_KEY],
    ]
    assert head == linked[-1].metadata[HASH_KEY]
    assert linked[1].metadata[HASH_KEY] == event_digest(
        linked[0].metadata[HASH_KEY], "s", 5, linked[1].event_id, "t", {"n": 1}, {"clerkId": "c"}
    )
    assert [e.event_id for e in linked] == [e.event_id for e in events]


def test_metadata_the_chain_does_not_cover_is_refused() -> None:
    with pytest.raises(UncoveredMetadataError, match="COVERED_METADATA"):
        chained("s", 1, GENESIS, [NewEvent("t", {}, {"note": "x"})])


def test_an_unchained_prefix_has_implied_hashes() -> None:
    store = open_store("memory://")
    store.append("s", [NewEvent("t", {"n": 1}), NewEvent("t", {"n": 2})], 0)
    old = store.read_stream("s")
    assert [stored_link(e) for e in old] == [None, None]
    first = event_digest(GENESIS, "s", 1, old[0].event_id, "t", {"n": 1}, {})
    second = event_digest(first, "s", 2, old[1].event_id, "t", {"n": 2}, {})
    assert head_after(GENESIS, old) == second
