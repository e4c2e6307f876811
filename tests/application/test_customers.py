"""Customers through BankService: registered once, details changed by recorded events, one
customer per national id even when clerks race (threads and processes), idempotent requests,
refusals that write nothing, and interrupted requests that are mended."""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest

from bank_desktop.application import BankService
from bank_desktop.application.customer_streams import (
    encode_national_id_event,
    national_id_stream,
)
from bank_desktop.domain import CommandIdReusedError, ValidationError
from bank_desktop.domain.customers import CustomerRegistered
from bank_desktop.domain.errors import CustomerNotFoundError, DuplicateNationalIdError
from bank_desktop.domain.national_ids import NationalIdClaimed
from bank_desktop.eventstore import open_store, prepare_store
from bank_desktop.eventstore.port import NO_STREAM, EventStore, NewEvent
from tests.application import teller_workers
from tests.application.conftest import StepClock


@pytest.fixture
def bank(store: EventStore) -> BankService:
    return BankService(store, clerk_id="clerk-7", clock=StepClock())


def _count(store: EventStore) -> int:
    return len(store.read_all())


def test_register_and_look_up(bank: BankService, store: EventStore) -> None:
    customer = bank.register_customer(
        full_name="Ada Lovelace",
        national_id="AB123456",
        date_of_birth="1990-12-10",
        phone="+44 20 7946 0000",
    )

    found = bank.get_customer(customer)
    assert (found.customer_id, found.full_name, found.national_id) == (
        customer,
        "Ada Lovelace",
        "AB123456",
    )
    assert found.date_of_birth == date(1990, 12, 10)
    [registered] = store.read_stream(customer)
    assert registered.type == "customer.registered"
    assert registered.metadata["clerkId"] == "clerk-7"
    account = bank.open_account(customer_id=customer, initial_balance="0")
    assert bank.get_account(account).customer_id == customer


def test_an_unknown_customer_is_not_found(bank: BankService) -> None:
    with pytest.raises(CustomerNotFoundError, match="is not registered"):
        bank.get_customer("customer-nobody")


def test_unregistered_customer_ids_still_open_accounts(bank: BankService) -> None:
    account = bank.open_account("cust-123", "10")
    assert bank.get_account(account).customer_id == "cust-123"


def test_a_national_id_is_unique_however_it_is_written(
    bank: BankService, store: EventStore
) -> None:
    first = bank.register_customer("Ada Lovelace", "AB 123-456")
    before = _count(store)

    with pytest.raises(DuplicateNationalIdError) as caught:
        bank.register_customer("Someone Else", "ab123456")

    assert caught.value.message == (
        f"National id AB 123-456 is already registered to customer {first}."
    )
    assert _count(store) == before  # a refused command writes nothing


def test_invalid_details_write_nothing(bank: BankService, store: EventStore) -> None:
    with pytest.raises(ValidationError, match="Full name must contain letters"):
        bank.register_customer("123", "AB123456")
    with pytest.raises(ValidationError, match="like 1990-12-31"):
        bank.register_customer("Ada", "AB123456", date_of_birth="10/12/1990")
    assert _count(store) == 0
    assert bank.register_customer("Ada", "AB123456")  # the id was never taken


def test_a_repeated_request_registers_once(bank: BankService, store: EventStore) -> None:
    first = bank.register_customer("Ada Lovelace", "AB123456", command_id="req-1")
    events = _count(store)

    assert bank.register_customer("Ada Lovelace", "AB123456", command_id="req-1") == first
    assert _count(store) == events
    with pytest.raises(CommandIdReusedError):
        bank.register_customer("Grace Hopper", "CD654321", command_id="req-1")
    with pytest.raises(CommandIdReusedError):
        bank.deposit(bank.open_account("c", "1"), "1", command_id="req-1")


def test_details_changes_are_recorded_never_overwritten(
    bank: BankService, store: EventStore
) -> None:
    customer = bank.register_customer("Ada Lovelace", "AB123456", phone="+44 20 7946 0000")

    changed = bank.change_customer_details(customer, full_name="Ada King", clear=["phone"])

    assert (changed.full_name, changed.phone) == ("Ada King", None)
    assert bank.get_customer(customer).full_name == "Ada King"
    registered, change = store.read_stream(customer)
    assert registered.data["fullName"] == "Ada Lovelace"  # the history keeps the old name
    assert change.type == "customer.details_changed"
    assert change.data["fullName"] == "Ada King"
    assert change.data["cleared"] == ["phone"]


def test_a_repeated_change_is_recorded_once(bank: BankService, store: EventStore) -> None:
    customer = bank.register_customer("Ada Lovelace", "AB123456")
    bank.change_customer_details(customer, full_name="Ada King", command_id="chg-1")
    events = _count(store)

    again = bank.change_customer_details(customer, full_name="Ada King", command_id="chg-1")

    assert again.full_name == "Ada King"
    assert _count(store) == events
    with pytest.raises(CommandIdReusedError):
        bank.change_customer_details(customer, full_name="Ada Byron", command_id="chg-1")


def test_a_new_national_id_frees_the_old_one(bank: BankService) -> None:
    ada = bank.register_customer("Ada Lovelace", "AB123456")
    grace = bank.register_customer("Grace Hopper", "CD654321")

    with pytest.raises(DuplicateNationalIdError):
        bank.change_customer_details(ada, national_id="CD-654321")
    bank.change_customer_details(ada, national_id="EF000111")

    assert bank.get_customer(ada).national_id == "EF000111"
    assert bank.register_customer("Someone New", "AB123456")  # freed
    with pytest.raises(DuplicateNationalIdError, match=ada):
        bank.change_customer_details(grace, national_id="EF000111")


def test_rewriting_the_same_national_id_keeps_it(bank: BankService) -> None:
    ada = bank.register_customer("Ada Lovelace", "AB123456")
    bank.change_customer_details(ada, national_id="AB-123-456")

    assert bank.get_customer(ada).national_id == "AB-123-456"
    with pytest.raises(DuplicateNationalIdError):
        bank.register_customer("Someone Else", "AB123456")


def test_an_interrupted_registration_is_finished_by_the_next_claim(
    bank: BankService, store: EventStore
) -> None:
    # A process claimed the id for its registration and died before writing the customer.
    registration = CustomerRegistered(
        "customer-aaaaaaaaaaaa", "Ada Lovelace", "AB123456", None, None, None, StepClock()()
    )
    claim = NationalIdClaimed("AB123456", registration.customer_id, registration.registered_at)
    event_type, data = encode_national_id_event(
        NationalIdClaimed(claim.national_id, claim.customer_id, claim.claimed_at, registration)
    )
    store.append(national_id_stream("AB123456"), [NewEvent(event_type, data)], NO_STREAM)

    with pytest.raises(DuplicateNationalIdError, match="customer-aaaaaaaaaaaa"):
        bank.register_customer("Grace Hopper", "AB123456")

    assert bank.get_customer("customer-aaaaaaaaaaaa").full_name == "Ada Lovelace"


def test_a_change_interrupted_before_the_release_is_mended(
    bank: BankService, store: EventStore
) -> None:
    ada = bank.register_customer("Ada Lovelace", "AB123456")
    real_execute = bank._handler.execute
    calls: list[str] = []

    def die_on_release(stream_id: str, command: object, *args: object, **kwargs: object) -> object:
        if type(command).__name__ == "ReleaseNationalId" and not calls:
            calls.append(stream_id)
            raise RuntimeError("process killed")
        return real_execute(stream_id, command, *args, **kwargs)  # type: ignore[arg-type]

    bank._handler.execute = die_on_release  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        bank.change_customer_details(ada, national_id="EF000111")
    bank._handler.execute = real_execute  # type: ignore[method-assign]

    assert bank.get_customer(ada).national_id == "EF000111"
    assert bank.register_customer("Grace Hopper", "AB123456")  # the stale claim is released


@pytest.fixture(params=["sqlite", "postgres"])
def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store several connections share: a SQLite file, or a PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite://{tmp_path / 'bank.db'}"
    url: str = request.getfixturevalue("postgres_url")
    store, _ = prepare_store(url)  # the schema's tables, made once before the race
    store.close()
    return url


def test_threads_racing_for_one_national_id_register_one_customer(shared_url: str) -> None:
    url = shared_url
    stores = [open_store(url) for _ in range(8)]
    start = threading.Barrier(len(stores))

    def register(index: int) -> str:
        bank = BankService(stores[index], clerk_id=f"clerk-{index}")
        start.wait()
        try:
            return bank.register_customer(f"Person {index}", f"ab 12345{6 if index % 2 else ''}6")
        except DuplicateNationalIdError:
            return "refused"

    with ThreadPoolExecutor(len(stores)) as pool:
        outcomes = list(pool.map(register, range(len(stores))))
    for opened in stores:
        opened.close()

    assert sum(outcome != "refused" for outcome in outcomes) == 2  # AB123456 and AB1234566
    check = open_store(url)
    customers = {e.stream_id for e in check.read_all() if e.type == "customer.registered"}
    check.close()
    assert customers == {o for o in outcomes if o != "refused"}


@pytest.mark.slow
def test_processes_racing_for_one_national_id_register_one_customer(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path / 'bank.db'}"
    open_store(url).close()
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(4, mp_context=context) as pool:
        outcomes = list(
            pool.map(
                teller_workers.register,
                [url] * 4,
                [f"Person {i}" for i in range(4)],
                ["AB123456", "ab 123 456", "AB-123456", "ab123456"],
            )
        )

    winners = [o for o in outcomes if not o.startswith("refused")]
    assert len(winners) == 1, outcomes
    assert all(winners[0] in o for o in outcomes if o.startswith("refused"))
