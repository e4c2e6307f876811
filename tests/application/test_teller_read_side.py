"""The read side of the teller's day: holds and the available balance on balance rows, the
customer's name beside the account, the customer search, ledgers that link reversals and show
holds, the "why" of a line, an account as of a date, and snapshots that keep all of it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from bank_desktop.application import BankService
from bank_desktop.application.projections import ReadModel, catch_up, load_ledger
from bank_desktop.application.projections.as_of import as_of, end_of_day, start_of_day
from bank_desktop.application.projections.customers import CustomersProjection
from bank_desktop.application.projections.read_model import SNAPSHOT_VERSION
from bank_desktop.application.projections.why import explain_line
from bank_desktop.application.search_text import fold
from bank_desktop.domain.errors import TransactionNotFoundError
from bank_desktop.eventstore import open_store
from bank_desktop.eventstore.port import EventStore
from bank_desktop.eventstore.snapshots import MemorySnapshotStore

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def bank(store: EventStore, clock: Clock) -> BankService:
    return BankService(store, clerk_id="clerk-7", clock=clock)


def _model(store: EventStore) -> ReadModel:
    model = ReadModel()
    catch_up(model, store)
    return model


def test_balance_rows_carry_holds_and_the_available_balance(
    bank: BankService, store: EventStore, clock: Clock
) -> None:
    account = bank.open_account("cust-1", "100")
    kept = bank.place_hold(account, "25", reason="Cheque clearing")
    gone = bank.place_hold(account, "10", reason="Card")
    bank.place_hold(account, "5", reason="Short", expires_at=clock.now + timedelta(minutes=1))
    bank.release_hold(account, gone)

    row = _model(store).balances.get(account)

    assert row is not None
    assert row.holds[0].hold_id == kept
    assert row.balance == Decimal("100.00")
    assert row.available(clock.now) == Decimal("70.00")
    assert row.available(clock.now + timedelta(hours=1)) == Decimal("75.00")
    assert row.unrecognized is None


def test_events_applied_twice_change_nothing(bank: BankService, store: EventStore) -> None:
    account = bank.open_account("cust-1", "100")
    bank.place_hold(account, "25", reason="Cheque")
    model = _model(store)
    events = store.read_all()
    model.checkpoint = 0  # as if a webhook delivered everything again

    model.apply(events)

    row = model.balances.get(account)
    assert row is not None
    assert len(row.holds) == 1
    assert len(model.customers) == 0


def test_accounts_show_their_registered_customer_name(bank: BankService, store: EventStore) -> None:
    ada = bank.register_customer("Ada Lovelace", "AB123456")
    first = bank.open_account(ada, "0")
    raw = bank.open_account("cust-123", "0")
    model = _model(store)

    assert model.balances.get(first).customer_name == "Ada Lovelace"  # type: ignore[union-attr]
    assert model.balances.get(raw).customer_name is None  # type: ignore[union-attr]
    assert model.balances.accounts_of(ada) == (first,)

    position = model.checkpoint
    bank.change_customer_details(ada, full_name="Ada King")
    changes = model.apply(store.read_all(after=position))

    assert changes.changed_customers == {ada}
    assert first in changes.changed_accounts
    assert model.balances.get(first).customer_name == "Ada King"  # type: ignore[union-attr]


def test_a_customer_registered_after_the_account_names_it_later() -> None:
    store = open_store("memory://")
    bank = BankService(store, clock=Clock())
    ada = bank.register_customer("Ada Lovelace", "AB123456")
    model = _model(store)
    position = model.checkpoint
    account = bank.open_account(ada, "0")

    model.apply(store.read_all(after=position))

    assert model.balances.get(account).customer_name == "Ada Lovelace"  # type: ignore[union-attr]


def test_search_is_case_and_accent_insensitive(bank: BankService, store: EventStore) -> None:
    zoe = bank.register_customer("Zoë Ångström-Müller", "ZA 998877")
    ada = bank.register_customer("Ada Lovelace", "AB123456")
    lovelace = bank.register_customer("Lovelace Adams", "QQ000001")
    customers = _model(store).customers

    assert customers.matching("zoe") == [zoe]
    assert customers.matching("ANGSTROM muller") == [zoe]
    assert customers.matching("za-998877") == [zoe]
    assert customers.matching("ab123") == [ada]
    assert customers.matching("love ada") == [ada, lovelace]
    assert customers.matching("nobody") == []
    assert customers.matching("  ") == [zoe, ada, lovelace]
    assert [row.customer_id for row in customers.search("lovelace")] == [lovelace, ada]
    assert [row.customer_id for row in customers.search("qq000001")] == [lovelace]
    assert fold("  Zoë\tÅngström ") == "zoe angstrom"


def test_search_ignores_zero_width_joiners(bank: BankService, store: EventStore) -> None:
    """A Persian name is written with a zero-width non-joiner inside ("Mohammad‌Reza"); a
    clerk types it with or without one, and finds the customer either way."""
    joined = "\u0645\u062d\u0645\u062f\u200c\u0631\u0636\u0627 \u0627\u062d\u0645\u062f\u06cc"
    mohammad = bank.register_customer(joined, "IR 0012345678")
    customers = _model(store).customers

    assert customers.get(mohammad).full_name == joined  # kept as written
    assert customers.matching("\u0645\u062d\u0645\u062f\u0631\u0636\u0627") == [mohammad]
    assert customers.matching("\u0645\u062d\u0645\u062f\u200c\u0631\u0636\u0627") == [mohammad]
    assert fold("a\u200cb\u200dc") == "abc"


def test_search_follows_changed_details(bank: BankService, store: EventStore) -> None:
    ada = bank.register_customer("Ada Lovelace", "AB123456")
    bank.change_customer_details(ada, full_name="Ada King", national_id="EF000111")
    customers = _model(store).customers

    assert customers.matching("king") == [ada]
    assert customers.matching("lovelace") == []
    assert customers.matching("ef000111") == [ada]
    assert customers.get(ada).national_id == "EF000111"  # type: ignore[union-attr]


def test_snapshots_keep_holds_customers_and_names(bank: BankService, store: EventStore) -> None:
    ada = bank.register_customer("Ada Lovelace", "AB123456", date_of_birth=date(1990, 12, 10))
    account = bank.open_account(ada, "100")
    bank.place_hold(account, "25", reason="Cheque")
    model = _model(store)
    snapshots = MemorySnapshotStore()
    model.save(snapshots)

    restored = ReadModel.restore(snapshots, store)

    assert restored is not None
    assert SNAPSHOT_VERSION == 5
    row = restored.balances.get(account)
    assert row is not None
    assert (row.customer_name, row.holds) == ("Ada Lovelace", model.balances.get(account).holds)  # type: ignore[union-attr]
    assert restored.customers.matching("ada") == [ada]
    assert restored.customers.get(ada) == model.customers.get(ada)


def test_the_ledger_links_reversals_and_shows_holds(bank: BankService, store: EventStore) -> None:
    account = bank.open_account("cust-1", "50")
    bank.deposit(account, "500", command_id="dep-1")
    deposit = store.read_stream(account)[-1].event_id
    bank.reverse(account, deposit, reason="Keyed 500 instead of 50", command_id="rev-1")
    reversal = store.read_stream(account)[-1].event_id
    hold = bank.place_hold(account, "20", reason="Cheque")
    bank.release_hold(account, hold)

    ledger = load_ledger(store, account)

    kinds = [(e.kind, e.amount, e.balance) for e in ledger.entries]
    assert kinds == [
        ("opened", Decimal("50.00"), Decimal("50.00")),
        ("deposit", Decimal("500.00"), Decimal("550.00")),
        ("reversal", Decimal("-500.00"), Decimal("50.00")),
        ("hold_placed", Decimal("0.00"), Decimal("50.00")),
        ("hold_released", Decimal("0.00"), Decimal("50.00")),
    ]
    assert ledger.reversed_by == {deposit: reversal}
    assert ledger.entries[3].hold_amount == Decimal("20.00")
    assert ledger.entries[3].hold_id == hold

    why = explain_line(ledger, reversal)
    assert why.reverses is not None
    assert why.reverses.event_id == deposit
    assert (why.clerk_id, why.request_id) == ("clerk-7", "rev-1")
    text = "\n".join(why.lines())
    assert "Reverses: deposit of $500.00" in text
    assert "Who: clerk-7" in text
    assert "Request: rev-1" in text
    undone = explain_line(ledger, deposit)
    assert undone.reversed_by is not None
    assert undone.reversed_by.event_id == reversal
    assert "Reversed by: reversal of $500.00" in "\n".join(undone.lines())
    with pytest.raises(TransactionNotFoundError):
        explain_line(ledger, "nope")


def test_an_account_as_of_the_end_of_a_day(store: EventStore) -> None:
    clock = Clock()
    bank = BankService(store, clock=clock)
    account = bank.open_account("cust-1", "100")  # 2 Nov
    bank.place_hold(account, "10", reason="Cheque")
    clock.now = datetime(2026, 11, 3, 22, 30, tzinfo=UTC)
    bank.deposit(account, "5")
    clock.now = datetime(2026, 11, 4, 8, 0, tzinfo=UTC)
    bank.withdraw(account, "50")
    entries = load_ledger(store, account).entries
    utc = UTC

    first = as_of(account, entries, end_of_day(date(2026, 11, 2), utc))
    assert (first.balance, first.status, first.available_balance) == (
        Decimal("100.00"),
        "open",
        Decimal("90.00"),
    )
    assert [e.kind for e in first.entries] == ["opened", "hold_placed"]
    assert as_of(account, entries, end_of_day(date(2026, 11, 3), utc)).balance == Decimal("105.00")
    # In a zone two hours ahead, the deposit at 22:30 UTC falls on the 4th.
    ahead = timezone(timedelta(hours=2))
    assert as_of(account, entries, end_of_day(date(2026, 11, 3), ahead)).balance == Decimal(
        "100.00"
    )
    assert as_of(account, entries, end_of_day(date(2026, 11, 1), utc)).status == "not_opened"
    assert start_of_day(date(2026, 11, 3), utc) == datetime(2026, 11, 3, tzinfo=UTC)


@pytest.mark.parametrize(
    ("column", "value"),
    [(0, ""), (1, 7), (3, "31/12/1990"), (6, "yesterday"), (8, 0), (9, None), (10, "")],
)
def test_a_tampered_customer_row_is_refused_by_name(
    bank: BankService, store: EventStore, column: int, value: object
) -> None:
    bank.register_customer("Ada Lovelace", "AB123456", date_of_birth=date(1990, 12, 10))
    rows = _model(store).customers.snapshot_state()
    rows[0][column] = value

    with pytest.raises(ValueError, match="customers row 1"):
        CustomersProjection.from_snapshot_state(rows)
