"""The hash chain on DeltaBase: computed by the application, so it holds on a store we do not
run, survives how such a service hands JSON back (keys reordered, 50.00 as 50), and still
names an edit made on the server."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from bank_desktop.application import BankService
from bank_desktop.application.chain import stored_link
from bank_desktop.application.verification import verify_store
from bank_desktop.eventstore.deltabase import DeltaBaseEventStore
from bank_desktop.eventstore.exact_json import decode_json, encode_json
from tests.deltabase.conftest import Running, new_name


def _as_javascript_would(value: Any) -> Any:
    """JSON.parse then JSON.stringify, roughly: 50.00 → 50, 0.10 → 0.1, keys in another order."""
    if isinstance(value, dict):
        return {key: _as_javascript_would(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [_as_javascript_would(item) for item in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else value.normalize()
    return value


def _rewrite_held(deltabase: Running, name: str, change: Callable[[Any], Any]) -> None:
    held = deltabase.fake.store(name)
    rows = held._rows  # the fake's own storage: what the service keeps, edited in place
    for index, row in enumerate(rows):
        rows[index] = dataclasses.replace(row, data=encode_json(change(decode_json(row.data))))
    held._streams = {}
    for row in rows:
        held._streams.setdefault(row.stream_id, []).append(row)


def test_the_chain_holds_on_deltabase_and_catches_a_server_side_edit(
    deltabase: Running, open_delta: Callable[..., DeltaBaseEventStore]
) -> None:
    name = new_name()
    store = open_delta(name)
    bank = BankService(store, clerk_id="clerk-7")
    a = bank.open_account("cust-1", "100.00")
    b = bank.open_account("cust-2", "0")
    bank.deposit(a, "50.00", command_id="req-1")
    bank.transfer(a, b, "20.10")
    report = verify_store(store)
    assert report.ok, [str(f) for f in report.findings]
    assert report.chains is not None
    assert report.chains.chained_events == report.events == store.head_position()
    assert all(stored_link(e) is not None for e in store.read_stream(a))

    _rewrite_held(deltabase, name, _as_javascript_would)
    assert verify_store(store).ok  # the same values, spelled another way

    def edit(data: Any) -> Any:
        if data.get("amount") == 50:
            return {**data, "amount": 5000}
        return data

    _rewrite_held(deltabase, name, edit)
    found = [(f.kind, f.stream_id, f.position) for f in verify_store(store).findings if f.problem]
    assert ("chain", a, 2) in found
