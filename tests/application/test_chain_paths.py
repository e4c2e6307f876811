"""The chain check's two paths find the same, whatever was done to the stored rows: events read
as usual and hashed by the check (``check_all``), and stored rows hashed as they were decoded
(``check_rows`` with ``eventstore.canonical.StoredReading``'s links), split into pages anyhow.

Tampering is done to the rows as a store would hand them back: rows dropped, repeated or
swapped, amounts and clerks edited, links stripped or edited, positions changed, the same
values respelled (keys reordered, numbers with trailing zeros).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bank_desktop.application import BankService
from bank_desktop.application.chain import CHAIN_TAG, COVERED_METADATA, HASH_KEY, PREV_KEY
from bank_desktop.application.verification.chain_pass import ChainVerifier, LinkedPage
from bank_desktop.auditing import DIGEST
from bank_desktop.eventstore.canonical import StoredReading
from bank_desktop.eventstore.memory import MemoryEventStore
from bank_desktop.eventstore.port import StoredRow
from tests.application.conftest import StepClock


def history() -> list[StoredRow]:
    store = MemoryEventStore()
    bank = BankService(store, clerk_id="clerk-7", clock=StepClock())
    a = bank.open_account("cust-1", "100.50")
    b = bank.open_account("cust-2", "0")
    for amount in ("10", "20.30", "0.05"):
        bank.deposit(a, amount)
        bank.withdraw(a, "1.00")
    bank.transfer(a, b, "40")
    bank.deposit(b, "7")
    return store.read_stored(after=0, limit=1000)


ROWS = history()


def _edit_data(row: StoredRow, how: int) -> StoredRow:
    data = json.loads(row[5])
    if how == 0 and "amount" in data:
        text = row[5].replace('"amount":', '"amount":1')  # a bigger amount
    elif how == 1:  # the same values, keys reordered and numbers spelled with zeros
        items = list(data.items())[::-1]
        text = "{" + ",".join(f"{json.dumps(k)}:{_spelled(v)}" for k, v in items) + "}"
    else:
        text = row[5][:-1] + ',"note":"x"}'
    return (*row[:5], text, *row[6:])  # type: ignore[return-value]


def _spelled(value: Any) -> str:
    return f"{value}0" if type(value) is float else json.dumps(value)


def _edit_metadata(row: StoredRow, how: int) -> StoredRow:
    meta = json.loads(row[6])
    if how == 0:
        meta.pop(PREV_KEY, None)
        meta.pop(HASH_KEY, None)
    elif how == 1:
        meta["clerkId"] = "clerk-8"
    elif how == 2:
        meta[PREV_KEY] = "0" * 64
    else:
        meta[HASH_KEY] = "f" * 64
    return (*row[:6], json.dumps(meta), row[7])  # type: ignore[return-value]


edits = st.lists(
    st.tuples(
        st.sampled_from(["drop", "repeat", "swap", "data", "metadata", "position", "global"]),
        st.integers(min_value=0, max_value=len(ROWS) - 1),
        st.integers(min_value=0, max_value=3),
    ),
    max_size=4,
)


def tampered(changes: list[tuple[str, int, int]]) -> list[StoredRow]:
    rows = list(ROWS)
    for kind, where, how in changes:
        at = where % len(rows)
        row = rows[at]
        if kind == "drop" and len(rows) > 1:
            del rows[at]
        elif kind == "repeat":
            rows.insert(at, row)
        elif kind == "swap":
            other = (at + 1) % len(rows)
            rows[at], rows[other] = rows[other], rows[at]
        elif kind == "data":
            rows[at] = _edit_data(row, how)
        elif kind == "metadata":
            rows[at] = _edit_metadata(row, how)
        elif kind == "position":
            rows[at] = (row[0], row[1], row[2] + how - 1, *row[3:])  # type: ignore[assignment]
        elif kind == "global":
            rows[at] = (row[0] + how + 1, *row[1:])  # type: ignore[assignment]
    return rows


def findings(verifier: ChainVerifier, head: int) -> tuple[Any, ...]:
    result = verifier.result(head, keep_heads=True)
    return (
        [f.to_json() for f in result.findings.kept],
        dict(result.findings.problems),
        result.summary,
        result.heads,
        result.events,
    )


@settings(max_examples=300, deadline=None)
@given(changes=edits, page=st.integers(min_value=1, max_value=8))
@pytest.mark.parametrize("parts", [1, 2])
def test_both_paths_find_the_same(
    changes: list[tuple[str, int, int]], page: int, parts: int
) -> None:
    rows = tampered(changes)
    reading = StoredReading(CHAIN_TAG, COVERED_METADATA, (PREV_KEY, HASH_KEY))
    for part in range(parts):
        plain = ChainVerifier(DIGEST, part=part, parts=parts)
        linked = ChainVerifier(DIGEST, part=part, parts=parts)
        for start in range(0, len(rows), page):
            chunk = rows[start : start + page]
            plain.feed([StoredReading.event(row) for row in chunk])
            careful = [StoredReading.event(row) for row in chunk]
            linked.feed_linked(LinkedPage(chunk, reading.links(chunk), careful.__getitem__))
        head = rows[-1][0]
        assert findings(linked, head) == findings(plain, head)


def test_an_untouched_history_is_all_links() -> None:
    """The fast path is taken: every row of a clean history has its link."""
    reading = StoredReading(CHAIN_TAG, COVERED_METADATA, (PREV_KEY, HASH_KEY))
    assert None not in reading.links(ROWS)
