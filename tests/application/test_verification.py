"""Verification over the port: a clean history passes on every store; each kind of wrong is
named with its stream and position (chains, positions, drift, money, transfers, seals).

Tampering is done as an intruder would: straight in the SQLite file with ``sqlite3``, after
dropping the append-only guards.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bank_desktop.application import BankService
from bank_desktop.application.appending import ChainedAppender
from bank_desktop.application.chain import GENESIS, HASH_KEY, PREV_KEY, head_after
from bank_desktop.application.demo_data import fill_demo_data
from bank_desktop.application.projections import ReadModel, catch_up
from bank_desktop.application.verification import (
    Seal,
    SealError,
    VerificationReport,
    verify_store,
)
from bank_desktop.auditing import VERIFICATION_FOLD_FIELDS, linked_reader
from bank_desktop.eventstore import NewEvent, open_store
from bank_desktop.eventstore.port import EventStore
from bank_desktop.eventstore.snapshots import FileSnapshotStore, MemorySnapshotStore
from bank_desktop.eventstore.sqlite import SqliteEventStore
from tests.application.conftest import StepClock

LATER = lambda: datetime(2027, 1, 1, tzinfo=UTC)  # noqa: E731 - a clock far after the events


def problems(report: VerificationReport) -> list[tuple[str, str | None, int | None]]:
    return [(f.kind, f.stream_id, f.position) for f in report.findings if f.problem]


def branch_day(store: EventStore) -> dict[str, str]:
    """A small day at a branch: accounts, cash, transfers, a closing."""
    bank = BankService(store, clerk_id="clerk-7", clock=StepClock())
    a = bank.open_account("cust-1", "100")
    b = bank.open_account("cust-2", "20")
    c = bank.open_account("cust-3", "0")
    bank.deposit(a, "50", description="Paycheck", command_id="req-1")
    bank.withdraw(a, "30")
    bank.transfer(a, b, "40", command_id="req-2")
    bank.transfer(b, c, "60")
    bank.withdraw(c, "60")
    bank.close_account(c)
    return {"a": a, "b": b, "c": c}


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "bank.db"


@pytest.fixture
def filled(path: Path) -> Iterator[dict[str, str]]:
    store = open_store(f"sqlite://{path}")
    try:
        yield branch_day(store)
    finally:
        store.close()


def verify(path: Path, **kwargs: object) -> VerificationReport:
    """Verify the file every way: the events read as usual and hashed by the chain check; the
    stored rows hashed as they are decoded, folded from their events; and folded as a rebuild
    folds them (what ``bank-desktop verify`` runs). All must find exactly the same, seal the
    same heads, and count the same."""
    store = SqliteEventStore(path, verification=True)
    try:
        plain = verify_store(store, now=LATER, **kwargs)  # type: ignore[arg-type]
        reports = [
            verify_store(store, now=LATER, read=reader, **kwargs)  # type: ignore[arg-type]
            for reader in (
                linked_reader(store),
                linked_reader(store, fields=VERIFICATION_FOLD_FIELDS),
            )
        ]
    finally:
        store.close()
    for linked in reports:
        assert [f.to_json() for f in linked.findings] == [f.to_json() for f in plain.findings]
        assert (linked.chains, linked.money, linked.events) == (
            plain.chains,
            plain.money,
            plain.events,
        )
        assert (linked.seal and linked.seal.streams) == (plain.seal and plain.seal.streams)
    return reports[-1]


def tamper(path: Path, *statements: str) -> None:
    raw = sqlite3.connect(path)
    try:
        raw.execute("DROP TRIGGER IF EXISTS events_refuse_update")
        raw.execute("DROP TRIGGER IF EXISTS events_refuse_delete")
        for statement in statements:
            changed = raw.total_changes
            raw.execute(statement)
            assert raw.total_changes > changed, f"no event matched: {statement}"
        raw.commit()
    finally:
        raw.close()


def edited(path: Path, column: str, edit: str, stream_id: str, position: int = 2) -> None:
    """Tamper with one event's column (and make sure the edit changed it)."""
    where = f"WHERE stream_id = '{stream_id}' AND stream_position = {position}"
    raw = sqlite3.connect(path)
    try:
        (before,) = raw.execute(f"SELECT {column} FROM events {where}").fetchone()
    finally:
        raw.close()
    tamper(path, f"UPDATE events SET {column} = {edit} {where}")
    raw = sqlite3.connect(path)
    try:
        (after,) = raw.execute(f"SELECT {column} FROM events {where}").fetchone()
    finally:
        raw.close()
    assert after != before, edit


# ── clean ─────────────────────────────────────────────────────────────────────────────────


def test_a_clean_history_passes_on_every_store(store: EventStore) -> None:
    branch_day(store)
    fill_demo_data(store, events=800)
    report = verify_store(store, now=LATER)
    assert problems(report) == []
    assert report.ok
    assert report.events == store.head_position()
    assert report.chains is not None
    assert report.chains.unchained_prefix_events == 0
    money = report.money
    assert money is not None
    assert money.balances == money.openings + money.deposits - money.withdrawals - money.in_flight
    assert money.unsettled == 0
    assert report.summary()[-1] == "No problems found."


def test_a_clean_snapshot_matches(store: EventStore) -> None:
    branch_day(store)
    snapshots = MemorySnapshotStore()
    model = ReadModel()
    catch_up(model, store)
    model.save(snapshots)
    BankService(store, clock=StepClock()).open_account("cust-9", "5")  # after the snapshot
    assert verify_store(store, snapshots=snapshots, now=LATER).ok


def test_the_report_is_json_for_machines(store: EventStore) -> None:
    branch_day(store)
    document = verify_store(store, now=LATER).to_json()
    assert document["ok"] is True
    assert document["money"]["balances"] == "80.00"
    assert document["findings"] == []


# ── chains and positions ──────────────────────────────────────────────────────────────────


def test_an_edited_amount_is_named(path: Path, filled: dict[str, str]) -> None:
    a = filled["a"]
    tamper(
        path,
        "UPDATE events SET data = replace(data, '\"amount\":50.00', '\"amount\":5000.00') "
        f"WHERE stream_id = '{a}' AND stream_position = 2",
    )
    report = verify(path)
    assert ("chain", a, 2) in problems(report)
    (finding,) = [f for f in report.findings if f.kind == "chain"]
    assert "changed after it was written" in finding.message
    assert finding.global_position is not None


@pytest.mark.parametrize(
    ("edit", "kind"),
    [
        ("replace(data, '\"amount\":50.00', '\"amount\":50.01')", "data"),  # a cent more
        ("replace(data, 'Paycheck', 'Paycheque')", "data"),
        ("replace(data, '\"amount\":50.00,', '')", "data"),  # a field removed
        ("replace(data, '}', ',\"note\":\"x\"}')", "data"),  # a field added
        ("replace(metadata, 'clerk-7', 'clerk-8')", "metadata"),  # who did it
        ('replace(metadata, \'"commandId":"req-1"\', \'"commandId":1\')', "metadata"),
    ],
)
def test_every_edit_of_what_is_hashed_is_named(
    path: Path, filled: dict[str, str], edit: str, kind: str
) -> None:
    a = filled["a"]
    column = "data" if kind == "data" else "metadata"
    edited(path, column, edit, a)
    assert ("chain", a, 2) in problems(verify(path))


@pytest.mark.parametrize(
    ("column", "edit"),
    [
        # the same values spelled otherwise: keys reordered, a number and a string respelled,
        # spaces; and metadata the chain does not cover
        (
            "data",
            '\'{"description":"Paycheck","amount":50.0,"accountId":\' || '
            "json_quote(json_extract(data, '$.accountId')) || ', \"depositedAt\": ' || "
            "json_quote(json_extract(data, '$.depositedAt')) || '}'",
        ),
        ("data", "replace(data, 'Paycheck', 'P\\u0061ycheck')"),
        ("data", "replace(data, '50.00', '5.000e1')"),
        ("metadata", "json_set(metadata, '$.storeNote', 'added by a replica')"),
    ],
)
def test_the_same_values_spelled_otherwise_are_no_tampering(
    path: Path, filled: dict[str, str], column: str, edit: str
) -> None:
    """A store may hand back what it was given in another spelling (DeltaBase does): the
    hash is over the values, so nothing is wrong."""
    a = filled["a"]
    edited(path, column, edit, a)
    report = verify(path)
    assert [f.kind for f in report.findings if f.problem] == ["store"]  # the guards dropped


def test_a_deleted_event_is_named(path: Path, filled: dict[str, str]) -> None:
    a = filled["a"]
    tamper(path, f"DELETE FROM events WHERE stream_id = '{a}' AND stream_position = 3")
    found = problems(verify(path))
    assert ("position", a, 4) in found  # the stream's gap, where it shows
    assert any(kind == "position" and stream is None for kind, stream, _ in found)  # global gap


def test_a_deleted_last_event_of_a_stream_shows_as_a_global_gap(
    path: Path, filled: dict[str, str]
) -> None:
    a = filled["a"]
    tamper(
        path,
        f"DELETE FROM events WHERE stream_id = '{a}' AND stream_position = "
        f"(SELECT max(stream_position) FROM events WHERE stream_id = '{a}')",
    )
    report = verify(path)
    # the guards dropped; the global gap; the transfer whose debit it was
    assert [f.kind for f in report.findings if f.problem] == ["store", "position", "transfer"]
    assert "deleted" in report.findings[1].message


def test_a_stripped_and_edited_event_is_named(path: Path, filled: dict[str, str]) -> None:
    b = filled["b"]
    tamper(
        path,
        f"UPDATE events SET metadata = json_remove(metadata, '$.{PREV_KEY}', '$.{HASH_KEY}'), "
        "data = replace(data, '20.00', '2000.00') "
        f"WHERE stream_id = '{b}' AND stream_position = 1",
    )
    found = problems(verify(path))
    assert ("chain", b, 2) in found  # its successor's link no longer matches
    tamper(
        path,
        f"UPDATE events SET metadata = json_remove(metadata, '$.{PREV_KEY}', '$.{HASH_KEY}') "
        f"WHERE stream_id = '{b}' AND stream_position = "
        f"(SELECT max(stream_position) FROM events WHERE stream_id = '{b}')",
    )
    messages = [f.message for f in verify(path).findings if f.stream_id == b]
    assert any("carries no hash" in text for text in messages)


def test_events_swapped_between_positions_are_named(path: Path, filled: dict[str, str]) -> None:
    a = filled["a"]
    tamper(
        path,
        f"UPDATE events SET stream_position = -stream_position WHERE stream_id = '{a}' "
        "AND stream_position IN (2, 3)",
        f"UPDATE events SET stream_position = 5 + stream_position WHERE stream_id = '{a}' "
        "AND stream_position IN (-2, -3)",
    )  # 2 → 3 and 3 → 2
    found = problems(verify(path))
    assert ("chain", a, 2) in found
    assert ("chain", a, 3) in found


def test_an_unchained_prefix_is_a_notice_not_a_problem(path: Path) -> None:
    store = open_store(f"sqlite://{path}")
    try:
        opened = {
            "accountId": "acct-old",
            "customerId": "c",
            "initialBalance": Decimal("10.00"),
            "openedAt": "2025-01-01T00:00:00.000Z",
        }
        store.append("acct-old", [NewEvent("account.opened", opened, {"clerkId": "old"})], 0)
        BankService(store, clock=StepClock()).deposit("acct-old", "5")
    finally:
        store.close()
    report = verify(path)
    assert report.ok
    (notice,) = [f for f in report.findings if f.kind == "unchained"]
    assert notice.stream_id == "acct-old"
    assert "sealed by the chain from position 2" in notice.message


# ── drift ─────────────────────────────────────────────────────────────────────────────────


def test_a_snapshot_that_disagrees_with_the_events_is_drift(
    path: Path, filled: dict[str, str], tmp_path: Path
) -> None:
    store = open_store(f"sqlite://{path}")
    snapshots = FileSnapshotStore(tmp_path / "snapshots")
    try:
        model = ReadModel()
        catch_up(model, store)
        row = model.balances.get(filled["a"])
        assert row is not None
        row.balance += Decimal("1000")  # a bug, or an edit that kept the digest right
        model.save(snapshots)
    finally:
        store.close()
    report = verify(path, snapshots=snapshots)
    (finding,) = [f for f in report.findings if f.kind == "drift"]
    assert finding.stream_id == filled["a"]
    assert "balance $1,080.00 where the events give $80.00" in finding.message


def test_a_damaged_snapshot_is_drift(path: Path, filled: dict[str, str], tmp_path: Path) -> None:
    store = open_store(f"sqlite://{path}")
    snapshots = FileSnapshotStore(tmp_path / "snapshots")
    try:
        model = ReadModel()
        catch_up(model, store)
        model.save(snapshots)
    finally:
        store.close()
    (file,) = (tmp_path / "snapshots").iterdir()
    raw = file.read_bytes()
    assert b'"cents":[8000,' in raw  # the balance of $80.00, kept in cents
    file.write_bytes(raw.replace(b'"cents":[8000,', b'"cents":[8100,'))
    assert [f.kind for f in verify(path, snapshots=snapshots).findings if f.problem] == ["drift"]


# ── money ─────────────────────────────────────────────────────────────────────────────────


def forged(store: EventStore, stream_id: str, position: int, *events: tuple[str, dict]) -> None:  # type: ignore[type-arg]
    """Events the deciders would never write, chained as if the application had: only the
    money checks can find them."""
    ChainedAppender(store).append(
        stream_id, [NewEvent(kind, data, {"clerkId": "x"}) for kind, data in events], position
    )


def test_an_overdraft_and_a_closing_with_money_are_named(store: EventStore) -> None:
    ids = branch_day(store)
    a = ids["a"]
    at = "2026-11-02T10:00:00.000Z"
    position = store.stream_position(a)
    forged(
        store,
        a,
        position,
        ("money.withdrawn", {"accountId": a, "amount": Decimal("500.00"), "withdrawnAt": at}),
        ("money.deposited", {"accountId": a, "amount": Decimal("400.00"), "depositedAt": at}),
        ("account.closed", {"accountId": a, "closedAt": at}),
    )
    report = verify_store(store, now=LATER)
    money = [(f.stream_id, f.position, f.message) for f in report.findings if f.kind == "money"]
    assert [(s, p) for s, p, _ in money] == [(a, position + 1), (a, position + 3)]
    assert "overdrawn" in money[0][2]
    assert "closed with a balance of -$20.00" in money[1][2]


def test_a_stuck_transfer_is_a_problem_and_a_fresh_one_a_notice(store: EventStore) -> None:
    ids = branch_day(store)

    def crash(transfer_id: str, step: str) -> None:
        if step == "debited":
            raise RuntimeError("the desk lost power")

    bank = BankService(store, clock=StepClock(), on_transfer_step=crash)
    with pytest.raises(RuntimeError):
        bank.transfer(ids["a"], ids["b"], "5")
    stuck = verify_store(store, now=LATER)
    (finding,) = [f for f in stuck.findings if f.kind == "transfer"]
    assert finding.problem
    assert "bank-desktop recover" in finding.message
    soon = verify_store(store, now=lambda: datetime(2026, 11, 2, 9, 1, tzinfo=UTC))
    assert soon.ok
    assert [f.kind for f in soon.findings] == ["transfer"]
    assert soon.money is not None
    assert soon.money.in_flight == Decimal("5.00")


def test_a_transfer_leg_changed_in_the_store_is_named(path: Path, filled: dict[str, str]) -> None:
    b = filled["b"]
    tamper(
        path,
        "UPDATE events SET data = replace(data, '\"amount\":40.00', '\"amount\":4.00') "
        f"WHERE stream_id = '{b}' AND type = 'money.deposited'",
    )
    found = problems(verify(path))
    kinds = {kind for kind, _, _ in found}
    assert kinds == {"store", "chain", "transfer", "money"}  # money: b is overdrawn now
    assert ("transfer", None, None) not in found


def test_reversals_must_undo_one_earlier_event_of_their_account(store: EventStore) -> None:
    ids = branch_day(store)
    a = ids["a"]
    deposit = next(e for e in store.read_stream(a) if e.type == "money.deposited")
    at = "2026-11-02T10:00:00.000Z"
    undo = {"accountId": a, "amount": Decimal("50.00"), "withdrawnAt": at}
    forged(
        store,
        a,
        store.stream_position(a),
        ("money.withdrawn", {**undo, "reversesEventId": deposit.event_id}),
        ("money.withdrawn", {**undo, "amount": Decimal("1.00"), "reversesEventId": "no-such"}),
    )
    report = verify_store(store, now=LATER)
    messages = [f.message for f in report.findings if f.kind == "money"]
    assert messages == ["reversal: it reverses no-such, which is no earlier event of this account"]


# ── seals ─────────────────────────────────────────────────────────────────────────────────


def test_a_rewritten_tail_passes_the_chain_but_not_the_seal(
    path: Path, filled: dict[str, str]
) -> None:
    sealed = verify(path, seal=True).seal
    assert sealed is not None
    seal = Seal.from_json(sealed.to_json())
    assert verify(path, against=seal).ok
    a = filled["a"]
    # An intruder who knows the algorithm rewrites a deposit and recomputes the links after it.
    store = SqliteEventStore(path, verification=True)
    try:
        events = store.read_stream(a)
    finally:
        store.close()
    target = events[1]
    changed = {**target.data, "amount": Decimal("5000.00")}
    rewritten = []
    head = head_after(GENESIS, events[:1])
    from bank_desktop.application.chain import chained

    for event in events[1:]:
        data = changed if event.event_id == target.event_id else event.data
        meta = {k: v for k, v in event.metadata.items() if k not in (PREV_KEY, HASH_KEY)}
        (linked,), head = chained(
            a, event.stream_position, head, [NewEvent(event.type, data, meta, event.event_id)]
        )
        rewritten.append((event.global_position, linked))
    from bank_desktop.eventstore.exact_json import encode_json

    tamper(
        path,
        *(
            f"UPDATE events SET data = '{encode_json(e.data)}', "
            f"metadata = '{encode_json(e.metadata)}' WHERE global_position = {g}"
            for g, e in rewritten
        ),
    )
    without_seal = verify(path)
    assert not any(f.kind == "chain" for f in without_seal.findings)
    against = verify(path, against=seal)
    assert ("seal", a, len(events)) in problems(against)


def test_events_deleted_after_a_seal_are_named(path: Path, filled: dict[str, str]) -> None:
    seal = verify(path, seal=True).seal
    assert seal is not None
    tamper(
        path, "DELETE FROM events WHERE global_position = (SELECT max(global_position) FROM events)"
    )
    found = verify(path, against=seal)
    assert found.problem_counts.get("seal", 0) >= 2  # the stream, and the sealed position


def test_a_seal_edited_by_hand_is_refused(path: Path, filled: dict[str, str]) -> None:
    seal = verify(path, seal=True).seal
    assert seal is not None
    document = seal.to_json()
    document["globalPosition"] = 1
    with pytest.raises(SealError, match="edited or damaged"):
        Seal.from_json(document)
    with pytest.raises(SealError, match="not a Bank Desktop seal"):
        Seal.from_json({"hello": 1})


def test_verification_is_read_only(path: Path, filled: dict[str, str]) -> None:
    before = {p.name: p.read_bytes() for p in path.parent.iterdir() if p.is_file()}
    verify(path, seal=True)
    after = {p.name: p.read_bytes() for p in path.parent.iterdir() if p.is_file()}
    assert before.keys() == after.keys()
    assert before[path.name] == after[path.name]


def test_a_check_far_in_the_past_is_unaffected_by_time(store: EventStore) -> None:
    """Settled transfers never depend on the clock."""
    branch_day(store)
    assert verify_store(store, now=lambda: datetime(2026, 11, 2, tzinfo=UTC) - timedelta(days=1)).ok


# ── every path, whatever was done to the money events ─────────────────────────────────────

_DATA_EDITS = [
    "json_set(data, '$.amount', -5)",
    "json_set(data, '$.amount', 7)",  # a whole number
    "json_set(data, '$.amount', '12.50')",  # text
    "json_set(data, '$.amount', 1e300)",
    "json_set(data, '$.amount', json('0.000'))",
    "json_remove(data, '$.amount')",
    "json_set(data, '$.transferId', 'transfer-nowhere')",
    "json_remove(data, '$.transferId')",
    "json_set(data, '$.reversesEventId', json('null'))",
    "json_set(data, '$.reversal', json('true'))",
    "replace(data, '\"amount\"', '\"\\u0061mount\"')",  # a key spelled with an escape
    "replace(data, '\"transferId\"', '\"\\u0074ransferId\"')",
    "'[1]'",
    "'{not json'",
]
_OTHER_EDITS = [
    "type = 'money.withdrawn'",
    "type = 'money.deposited'",
    "type = 'account.closed'",
    "stream_id = 'account-elsewhere'",
]


@settings(max_examples=60, deadline=None)
@given(
    edits=st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=26),
            st.sampled_from([f"data = {edit}" for edit in _DATA_EDITS] + _OTHER_EDITS + ["DELETE"]),
        ),
        min_size=1,
        max_size=3,
    )
)
def test_every_path_finds_the_same_in_tampered_money(
    day_file: Path, tmp_path_factory: pytest.TempPathFactory, edits: list[tuple[int, str]]
) -> None:
    """The money fold over events, and over payloads decoded for a fold with the stored data
    beside them, find the same whatever was done to a cash movement, a transfer leg, an
    opening or a closing (``verify`` runs every path and compares)."""
    path = tmp_path_factory.mktemp("tampered") / "bank.db"
    shutil.copy(day_file, path)
    _edited(path, edits)
    verify(path)


@pytest.mark.parametrize("edit", [f"data = {edit}" for edit in _DATA_EDITS] + _OTHER_EDITS)
def test_every_path_finds_the_same_for_each_edit_of_each_money_event(
    day_file: Path, tmp_path: Path, edit: str
) -> None:
    """Each edit above, alone, on each money event of the day (cash, transfer legs, the
    reversal, openings, the closing)."""
    raw = sqlite3.connect(day_file)
    try:
        positions = [
            at
            for (at,) in raw.execute(
                "SELECT global_position FROM events WHERE type IN ('money.deposited', "
                "'money.withdrawn', 'account.opened', 'account.closed') ORDER BY 1"
            )
        ]
    finally:
        raw.close()
    for at in positions:
        path = tmp_path / f"bank-{at}.db"
        shutil.copy(day_file, path)
        _edited(path, [(at, edit)])
        verify(path)


def _edited(path: Path, edits: list[tuple[int, str]]) -> None:
    raw = sqlite3.connect(path)
    try:
        raw.execute("DROP TRIGGER events_refuse_update")
        raw.execute("DROP TRIGGER events_refuse_delete")
        for at, edit in edits:
            with contextlib.suppress(sqlite3.IntegrityError, sqlite3.OperationalError):
                # a position another event of the stream has; json_set on what is not JSON
                if edit == "DELETE":
                    raw.execute("DELETE FROM events WHERE global_position = ?", (at,))
                else:
                    raw.execute(f"UPDATE events SET {edit} WHERE global_position = ?", (at,))
        raw.commit()
    finally:
        raw.close()


@pytest.fixture(scope="module")
def day_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A branch day with transfers, a reversal and a closing (26 events)."""
    path = tmp_path_factory.mktemp("day") / "bank.db"
    store = open_store(f"sqlite://{path}")
    try:
        ids = branch_day(store)
        a = ids["a"]
        deposit = next(e for e in store.read_stream(a) if e.type == "money.deposited")
        undo = {"accountId": a, "amount": Decimal("50.00"), "withdrawnAt": "2026-11-02T10:00:00Z"}
        forged(
            store,
            a,
            store.stream_position(a),
            ("money.withdrawn", {**undo, "reversesEventId": deposit.event_id}),
        )
        bank = BankService(store, clerk_id="clerk-7", clock=StepClock())
        bank.deposit(ids["b"], "10.10")
        bank.transfer(ids["b"], a, "5")
    finally:
        store.close()
    return path
