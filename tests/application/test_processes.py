"""Several OS processes on one SQLite file: no overdraft, no lost update, no half transfer,
and a process killed between any two transfer steps leaves money conserved after recover()."""

from __future__ import annotations

import multiprocessing
import random
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest

from bank_desktop.application import BankService
from bank_desktop.application.projections import ReadModel, catch_up, load_ledger
from bank_desktop.eventstore import open_store
from bank_desktop.eventstore.port import EventStore
from tests.application import workers

pytestmark = pytest.mark.slow
SPAWN = multiprocessing.get_context("spawn")
CLERKS = 4
OPERATIONS = 150


def _audit(store: EventStore, accounts: list[str]) -> dict[str, Decimal]:
    """Check every invariant on the stored history; returns the final balances."""
    balances: dict[str, Decimal] = {}
    for account in accounts:
        ledger = load_ledger(store, account)
        assert [e.stream_position for e in ledger.entries] == list(
            range(1, len(ledger.entries) + 1)
        )
        assert all(entry.balance >= 0 for entry in ledger.entries), f"{account} overdrawn"
        balances[account] = ledger.balance
    model = ReadModel()
    catch_up(model, store)
    assert model.skipped_events == 0
    assert {a: model.balances.get(a).balance for a in accounts} == balances  # type: ignore[union-attr]
    unfinished = model.transfers.unfinished()
    assert unfinished == [], f"half-done transfers: {unfinished}"
    legs: Counter[tuple[str, str]] = Counter()
    for account in accounts:
        for event in store.read_stream(account):
            if "transferId" in event.data:
                legs[(event.data["transferId"], event.type)] += 1
    for transfer in model.transfers:
        debits = legs[(transfer.transfer_id, "money.withdrawn")]
        credits = legs[(transfer.transfer_id, "money.deposited")]
        expected = {"completed": (1, 1), "rejected": (0, 0), "reversed": (1, 1)}[transfer.status]
        assert (debits, credits) == expected, (transfer, debits, credits)
    return balances


def test_clerk_processes_racing_on_hot_accounts_never_overdraw(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path / 'bank.db'}"
    setup_store = open_store(url)
    setup = BankService(setup_store)
    accounts = [setup.open_account(f"cust-{i}", "300") for i in range(3)]
    opening = Decimal("900.00")

    with ProcessPoolExecutor(CLERKS, mp_context=SPAWN) as pool:
        futures = [
            pool.submit(workers.clerk_session, url, accounts, OPERATIONS, seed)
            for seed in range(CLERKS)
        ]
        outcomes = [future.result(timeout=240) for future in futures]

    withdrawn = sum((Decimal(a) for o in outcomes for a in o["withdrawn"]), Decimal(0))
    deposited = sum((Decimal(a) for o in outcomes for a in o["deposited"]), Decimal(0))
    balances = _audit(setup_store, accounts)
    assert sum(balances.values()) == opening + deposited - withdrawn  # nothing lost or doubled

    plain_withdrawals = [
        e
        for a in accounts
        for e in setup_store.read_stream(a)
        if e.type == "money.withdrawn" and "transferId" not in e.data
    ]
    assert len(plain_withdrawals) == sum(len(o["withdrawn"]) for o in outcomes)
    applied = sum(len(o["withdrawn"]) + len(o["deposited"]) + len(o["transfers"]) for o in outcomes)
    assert applied + sum(o["rejected"] for o in outcomes) == CLERKS * OPERATIONS
    assert applied > CLERKS * OPERATIONS // 4  # the race was real, not all refused
    assert BankService(setup_store).recover().finished == 0
    setup_store.close()


STEPS = ["requested", "debited", "record-debit", "credited", "complete"]


@pytest.mark.parametrize("step", STEPS)
def test_a_process_killed_after_any_transfer_step_is_recovered(tmp_path: Path, step: str) -> None:
    url = f"sqlite://{tmp_path / 'bank.db'}"
    store = open_store(url)
    bank = BankService(store)
    source = bank.open_account("cust-1", "100")
    target = bank.open_account("cust-2", "0")

    doomed = SPAWN.Process(
        target=workers.transfer_then_die_at, args=(url, source, target, "30", step)
    )
    doomed.start()
    doomed.join(60)
    assert doomed.exitcode == -9  # really killed, mid-transfer

    report = BankService(store).recover()
    assert report.failed == {}
    assert (bank.get_account(source).balance, bank.get_account(target).balance) == (
        Decimal("70.00"),
        Decimal("30.00"),
    )
    _audit(store, [source, target])
    assert BankService(store).recover().finished == 0
    store.close()


def test_random_kills_during_a_stream_of_transfers_conserve_money(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path / 'bank.db'}"
    store = open_store(url)
    bank = BankService(store)
    accounts = [bank.open_account(f"cust-{i}", "500") for i in range(4)]
    rng = random.Random(11)
    kills = 0
    for seed in range(6):
        victim = SPAWN.Process(target=workers.transfer_loop, args=(url, accounts, seed))
        victim.start()
        head = store.head_position()
        deadline = time.monotonic() + 30
        # let it get some way into its work, at a random point
        target_events = head + rng.randint(3, 40)
        while store.head_position() < target_events and time.monotonic() < deadline:
            store.wait_for_events(store.head_position(), 0.5)
        victim.kill()
        victim.join(10)
        kills += victim.exitcode == -9
    assert kills == 6
    BankService(store).recover()
    balances = _audit(store, accounts)
    assert sum(balances.values()) == Decimal("2000.00")
    store.close()
