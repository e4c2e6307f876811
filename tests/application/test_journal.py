"""The end-of-day journal: a day's lines with totals by kind and counts, balance sums at the
start and end of the day that reconcile with them, a clerk's journal, the day's time zone,
and the CSV export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from bank_desktop.application import BankService
from bank_desktop.application.journal import journal_csv, journal_from_store
from bank_desktop.domain import DomainError
from bank_desktop.eventstore.port import EventStore, NewEvent

DAY = date(2026, 11, 3)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def day_of_work(store: EventStore) -> dict[str, str]:
    clock = Clock()
    ann = BankService(store, clerk_id="ann", clock=clock)
    bob = BankService(store, clerk_id="bob", clock=clock)
    a = ann.open_account("cust-1", "100")  # the day before
    b = ann.open_account("cust-2", "50")
    clock.now = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
    c = ann.open_account("cust-3", "10")
    ann.deposit(a, "500", description="Keyed 500 instead of 50")
    ann.reverse(a, store.read_stream(a)[-1].event_id, reason="Keyed 500 instead of 50")
    ann.deposit(a, "50", description="=SUM(A1:A9)")
    bob.withdraw(b, "20")
    bob.transfer(a, b, "30")
    with pytest.raises(DomainError):
        bob.transfer(c, b, "999")  # refused before anything is written
    hold = ann.place_hold(a, "40", reason="Cheque clearing")
    ann.release_hold(a, hold)
    bob.withdraw(c, "10")
    bob.close_account(c)
    clock.now = datetime(2026, 11, 4, 0, 0, 1, tzinfo=UTC)
    ann.deposit(b, "1000")  # the day after
    return {"a": a, "b": b, "c": c}


def test_the_day_adds_up(store: EventStore, day_of_work: dict[str, str]) -> None:
    journal = journal_from_store(store, DAY, UTC)

    assert journal.zone == "UTC"
    assert journal.opening_total == Decimal("150.00")
    assert journal.closing_total == Decimal("180.00")
    assert journal.net == Decimal("30.00")
    assert journal.reconciles
    counts = {kind: (t.count, t.amount) for kind, t in journal.totals.items() if t.count}
    assert counts == {
        "opened": (1, Decimal("10.00")),
        "deposit": (2, Decimal("550.00")),
        "withdrawal": (2, Decimal("-30.00")),
        "transfer_out": (1, Decimal("-30.00")),
        "transfer_in": (1, Decimal("30.00")),
        "reversal": (1, Decimal("-500.00")),
        "hold_placed": (1, Decimal("40.00")),
        "hold_released": (1, Decimal("40.00")),
        "closed": (1, Decimal("0.00")),
    }
    assert journal.transfers == 1
    times = [line.occurred_at for line in journal.lines]
    assert times == sorted(times)
    assert all(journal.start <= t < journal.end for t in times)


def test_a_clerks_journal_still_reconciles(store: EventStore, day_of_work: dict[str, str]) -> None:
    journal = journal_from_store(store, DAY, UTC, clerk_id="bob")

    assert {line.clerk_id for line in journal.lines} == {"bob"}
    assert [line.kind for line in journal.lines] == [
        "withdrawal",
        "transfer_out",
        "transfer_in",
        "withdrawal",
        "closed",
    ]
    assert journal.net == Decimal("-30.00")
    assert journal.others_net == Decimal("60.00")
    assert journal.reconciles


def test_the_day_is_cut_in_the_zone_asked_for(
    store: EventStore, day_of_work: dict[str, str]
) -> None:
    # Two hours behind UTC, the deposit at 00:00:01 UTC on the 4th is still on the 3rd.
    behind = timezone(timedelta(hours=-2), "UTC-02")
    journal = journal_from_store(store, DAY, behind)

    assert journal.zone == "UTC-02"
    assert journal.totals["deposit"].count == 3
    assert journal.reconciles


def test_unreadable_events_are_counted_and_left_out(
    store: EventStore, day_of_work: dict[str, str]
) -> None:
    bad = NewEvent("money.deposited", {"accountId": day_of_work["a"], "amount": "lots"})
    store.append(day_of_work["a"], [bad], len(store.read_stream(day_of_work["a"])))

    journal = journal_from_store(store, DAY, UTC)

    assert journal.skipped == 1
    assert journal.reconciles


def test_the_csv_export(store: EventStore, day_of_work: dict[str, str]) -> None:
    journal = journal_from_store(store, DAY, UTC, clerk_id="ann")

    rows = list(csv.reader(io.StringIO(journal_csv(journal))))

    assert rows[0][:5] == ["time", "account", "kind", "amount", "held"]
    lines = rows[1 : 1 + len(journal.lines)]
    assert [row[2] for row in lines] == [line.kind for line in journal.lines]
    assert "'=SUM(A1:A9)" in [row[5] for row in lines]  # never a formula in a spreadsheet
    assert lines[0][0].endswith("+00:00")
    summary = {row[0]: row[1:] for row in rows if row}
    assert summary["reversal"] == ["1", "-500.00"]
    assert summary["balances at start"] == ["150.00"]
    assert summary["balances at end"] == ["180.00"]
    assert summary["net of other clerks"] == ["-30.00"]
    assert summary["reconciles"] == ["yes"]
