"""Crash injection: clerk processes SIGKILLed at random points of transfers, then recovered.

In waves, several victim processes transfer between a handful of accounts while a recoverer
process runs ``recover()`` over and over (so two drivers often race on one transfer). Most
victims kill themselves at a step the test picked at random (``on_transfer_step``), one per
wave is killed from outside once the store has grown by a random number of events, and the
recoverer is killed too. Between the waves and the final recovery the store must be
consistent with money in flight; after two processes and the test recover at the same moment,
every transfer must be finished, each applied once, and the money exactly what was opened.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import asdict
from decimal import Decimal
from pathlib import Path

import pytest

from bank_desktop.application import BankService
from bank_desktop.eventstore import open_store
from bank_desktop.eventstore.port import EventStore
from tests.reliability import workers
from tests.reliability.audit import audit_store
from tests.reliability.conftest import Figures, Target, scaled
from tests.reliability.helpers import SPAWN, gather

pytestmark = pytest.mark.slow

ACCOUNTS = 6
OPENING = Decimal("1000.00")
SELF_KILLING = 3  # victims per wave that kill themselves at a chosen step


def _grow(store: EventStore, by: int, timeout: float = 60.0) -> None:
    """Wait until the store holds ``by`` more events than now (or the timeout passes)."""
    goal = store.head_position() + by
    deadline = time.monotonic() + timeout
    while (head := store.head_position()) < goal and time.monotonic() < deadline:
        store.wait_for_events(head, min(0.5, deadline - time.monotonic()))


def _doomed(
    bank: BankService, url: str, *, accounts: list[str], wave: int, rng: random.Random, log: str
) -> int | None:
    """A transfer killed before its credit whose target the test then closes (recovery must
    reverse it), or killed right after its request whose source the test then drains
    (recovery must reject it): the two paths that random transfers on full accounts never
    take. Returns the process's exit code."""
    reverse = wave % 2 == 0
    if reverse:
        source = max(accounts, key=lambda account: bank.get_account(account).balance)
        target = bank.open_account(f"closing-{wave}", "0", command_id=f"open-closing-{wave}")
        step = rng.randint(1, 3)  # requested, debited or record-debit: before the credit
    else:
        source = bank.open_account(f"draining-{wave}", "50", command_id=f"open-draining-{wave}")
        target = rng.choice(accounts)
        step = 1  # requested: before the debit
    victim = SPAWN.Process(
        target=workers.crash_single,
        args=(url,),
        kwargs={
            "source": source,
            "target": target,
            "amount": "40",
            "kill_at_step": step,
            "key": f"doomed-{wave}",
            "log_path": log,
        },
        name=f"doomed-{wave}",
        daemon=True,
    )
    victim.start()
    victim.join(60)
    if victim.is_alive():
        victim.kill()
        victim.join(30)
    if reverse:
        bank.close_account(target, "closed while a transfer to it was under way")
    else:
        bank.withdraw(source, bank.get_account(source).balance, command_id=f"drain-{wave}")
    return victim.exitcode


def test_transfers_killed_at_random_points_recover_exactly_once(
    target: Target, figures: Figures, tmp_path: Path
) -> None:
    kills_wanted = scaled(50)
    rng = random.Random(20261126)
    log_path = str(tmp_path / "kills.log")
    store = open_store(target.url)
    bank = BankService(store, clerk_id="setup")
    accounts = [
        bank.open_account(f"cust-{i}", OPENING, command_id=f"open-{i}") for i in range(ACCOUNTS)
    ]

    exit_codes: list[int | None] = []
    external = 0
    wave = 0
    while len(exit_codes) < kills_wanted:
        wave += 1
        victims = [
            SPAWN.Process(
                target=workers.crash_victim,
                args=(target.url, accounts, wave * 100 + i, rng.randint(1, 12), log_path),
                name=f"victim-{wave}-{i}",
                daemon=True,
            )
            for i in range(SELF_KILLING)
        ]
        loop = SPAWN.Process(
            target=workers.crash_victim,
            args=(target.url, accounts, wave * 100 + 99, None, log_path),
            name=f"loop-{wave}",
            daemon=True,
        )
        recoverer = SPAWN.Process(
            target=workers.crash_recoverer,
            args=(target.url, wave, rng.choice([None, rng.randint(1, 8)]), log_path),
            name=f"recoverer-{wave}",
            daemon=True,
        )
        processes = [*victims, loop, recoverer]
        try:
            for process in processes:
                process.start()
            _grow(store, rng.randint(5, 60))
            if loop.is_alive():  # from outside, at a random moment of its work
                loop.kill()
                loop.join(30)
                external += 1
            for process in victims:
                process.join(60)
        finally:
            for process in processes:
                if process.is_alive():  # a self-killer that never got there, the recoverer
                    external += 1
                    process.kill()
                    process.join(30)
            for process in processes:
                process.join(30)
        exit_codes.extend(process.exitcode for process in processes)
        exit_codes.append(
            _doomed(bank, target.url, accounts=accounts, wave=wave, rng=rng, log=log_path)
        )

    # Killed mid-flight: the history must already be consistent, with money in flight.
    midway = audit_store(store, require_finished=False)
    unfinished = Counter(s for s in midway.transfers.values() if s in ("requested", "debited"))

    start = SPAWN.Barrier(3)
    results = SPAWN.Queue()
    recoverers = [
        SPAWN.Process(
            target=workers.final_recoverer,
            args=(target.url, seed, start, results),
            name=f"final-{seed}",
            daemon=True,
        )
        for seed in range(2)
    ]
    for process in recoverers:
        process.start()
    start.wait(workers.BARRIER_TIMEOUT)
    mine = BankService(store, clerk_id="final-test").recover()
    reports = gather(results, recoverers)
    final = audit_store(store)

    steps = Counter(line.split()[1] for line in Path(log_path).read_text().splitlines())
    # Several drivers may each report a transfer they raced on: count distinct transfers.
    recovered = {
        outcome: len({tid for report in [*reports, asdict(mine)] for tid in report[outcome]})
        for outcome in ("completed", "reversed", "rejected")
    }
    kills = sum(1 for code in exit_codes if code == -9)
    figures.add(
        store=target.kind,
        kills=kills,
        killed_at_steps=sum(steps.values()),
        killed_from_outside=external,
        steps=dict(sorted(steps.items())),
        left_unfinished=dict(unfinished),
        recovered=recovered,
        commands=final.commands,
        events_checked=midway.events + final.events,
        transfers=dict(Counter(final.transfers.values())),
        violations=len(midway.violations) + len(final.violations),
    )
    assert midway.violations == [], midway.summary()
    assert final.violations == [], final.summary()
    assert exit_codes == [-9] * len(exit_codes), exit_codes  # each one really was SIGKILLed
    assert kills >= kills_wanted
    drained = sum(
        (
            Decimal(event.data["amount"])
            for key, written in final.by_command.items()
            if key.startswith("drain-")
            for event in written
        ),
        Decimal(0),
    )
    opened = OPENING * ACCOUNTS + Decimal(50) * sum(1 for w in range(1, wave + 1) if w % 2)
    assert (final.openings, final.external_in, final.external_out) == (opened, 0, drained)
    assert sum(final.balances.values()) == opened - drained
    assert {"reversed", "rejected"} <= set(final.transfers.values())
    assert [report["failed"] for report in reports] == [{}, {}]
    assert mine.failed == {}
    assert BankService(store).recover().finished == 0
    store.close()
