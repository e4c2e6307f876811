"""The application on DeltaBase: the seed's walkthrough, and clerks racing on one account."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal

import pytest

from bank_desktop.application import BankService
from bank_desktop.domain import ValidationError
from bank_desktop.eventstore import ConcurrencyError
from bank_desktop.eventstore.deltabase import DeltaBaseEventStore, prepare_deltabase
from tests.deltabase.conftest import API_KEY, Running


def test_seed_walkthrough_on_deltabase_banking(
    deltabase: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DELTABASE_API_KEY", API_KEY)
    deltabase.fake.stores.pop("banking", None)
    url = deltabase.store_url("banking")
    store, created = prepare_deltabase(url)  # what `bank-desktop deploy` does first
    try:
        assert created
        assert store.url == url
        bank = BankService(store, clerk_id="clerk-7")
        account = bank.open_account("cust-123", "100")
        assert bank.deposit(account, "50", description="Paycheck") == Decimal("150.00")
        with pytest.raises(ValidationError, match="Insufficient funds") as refused:
            bank.withdraw(account, "200")
        assert "$150.00" in refused.value.message
        assert "$200.00" in refused.value.message
        assert bank.withdraw(account, "30.00", description="Coffee") == Decimal("120.00")
        assert bank.get_account(account).balance == Decimal("120.00")
    finally:
        store.close()

    # What DeltaBase holds: the seed's events, exact amounts, who did it and which command.
    held = deltabase.fake.store("banking").read_stream(account)
    assert [e.type for e in held] == ["account.opened", "money.deposited", "money.withdrawn"]
    assert held[0].data["initialBalance"] == 100
    assert [held[1].data["amount"], held[2].data["amount"]] == [50, 30]
    assert all(e.metadata["clerkId"] == "clerk-7" for e in held)
    assert len({e.metadata["commandId"] for e in held}) == 3
    again, created_again = prepare_deltabase(url)
    assert not created_again
    assert BankService(again).get_account(account).balance == Decimal("120.00")
    again.close()


def test_two_services_racing_withdrawals_never_overdraw(
    open_delta: Callable[..., DeltaBaseEventStore], deltabase: Running
) -> None:
    first = open_delta()
    name = first.settings.event_store
    second = open_delta(name)  # another clerk's application: its own client and cache
    account = BankService(first, clerk_id="opener").open_account("cust-1", "100")
    services = [BankService(first, clerk_id="clerk-a"), BankService(second, clerk_id="clerk-b")]
    outcomes: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(6)

    def clerk(bank: BankService) -> None:
        start.wait(30)
        for _ in range(8):
            try:
                bank.withdraw(account, "7")
                outcome = "ok"
            except ValidationError:
                outcome = "refused"
            except ConcurrencyError:  # allowed only after many conflicts in a row
                outcome = "conflict"
            with lock:
                outcomes.append(outcome)

    threads = [threading.Thread(target=clerk, args=(services[i % 2],)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(t.is_alive() for t in threads)

    held = deltabase.fake.store(name).read_stream(account)
    withdrawn = [e.data["amount"] for e in held if e.type == "money.withdrawn"]
    assert len(withdrawn) == outcomes.count("ok")  # every success stored once, nothing else
    assert sum(withdrawn) <= 100
    assert outcomes.count("ok") == 14  # 14 x 7 = 98: all that fits, and no more
    for service in services:
        assert service.get_account(account).balance == Decimal(100 - sum(withdrawn)) >= 0
