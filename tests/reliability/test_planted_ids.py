"""Planted request ids: a client who knows (or guesses) a transfer's id plants its step ids.

Before any transfer runs, every id each transfer could derive (``<transfer id>:debit``,
``:credit``, ``:refund``, ``:record-debit``, …) is planted on the account where it would bite:
through the service, which must refuse each as reserved, and behind its back as a client of the
previous version could (a 0.01 deposit carrying the id, no namespace). Then clerk processes run
the transfers and are SIGKILLed at random steps; some targets are closed before the credit so
recovery must refund, onto sources that carry a planted refund id. Once the in-flight transfers
are visible in the log, their ids are planted again. Recovery must then finish every transfer
(completed, rejected or reversed) with nothing failed, and the audit must find money conserved,
each leg written under its own internal step id, and nothing applied twice.
"""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path

import pytest

from bank_desktop.application import BankService
from bank_desktop.application.event_codec import encode_account_event
from bank_desktop.application.ids import transfer_id_for
from bank_desktop.domain import CommandIdReservedError, accounts
from bank_desktop.eventstore import open_store
from bank_desktop.eventstore.port import EventStore, NewEvent
from tests.reliability import workers
from tests.reliability.audit import audit_store
from tests.reliability.conftest import Figures, Target, scaled
from tests.reliability.helpers import SPAWN

pytestmark = pytest.mark.slow

OPENING = Decimal("1000.00")
PLANT = Decimal("0.01")
#: Which leg each step id the previous version derived would bite on.
ON_SOURCE = ("debit", "refund", "record-debit", "reject", "reverse")
ON_TARGET = ("credit", "complete")


def _plant_raw(store: EventStore, account: str, command_id: str) -> None:
    """A 0.01 deposit carrying ``command_id`` as a client of the previous version wrote it."""
    position = store.stream_position(account)
    from datetime import UTC, datetime

    event = accounts.MoneyDeposited(account, PLANT, "planted", datetime.now(UTC))
    type_, data = encode_account_event(event)
    metadata = {"commandId": command_id, "requestHash": "planted", "clerkId": "mallory"}
    store.append(account, [NewEvent(type_, data, metadata)], position)


def _plant_all(
    bank: BankService, store: EventStore, transfer_id: str, legs: tuple[str, str], *, tag: str
) -> tuple[int, int]:
    """Plant every step id of ``transfer_id`` where it would bite; returns (refused by the
    service, planted behind its back)."""
    refused = planted = 0
    for steps, account in zip((ON_SOURCE, ON_TARGET), legs, strict=True):
        for step in steps:
            command_id = f"{transfer_id}:{step}"
            try:
                bank.deposit(account, PLANT, command_id=command_id)
            except CommandIdReservedError:
                refused += 1
            if not bank.get_account(account).is_open:
                continue  # no client of any version could deposit there
            # The raw plant: the exact id once before the transfers, a variant once in flight
            # (each id names one request: the audit holds client ids to that too).
            _plant_raw(store, account, command_id if tag == "before" else f"{command_id} ")
            planted += 1
    return refused, planted


def test_planted_step_ids_never_block_a_transfer_or_lose_money(
    target: Target, figures: Figures, tmp_path: Path
) -> None:
    rng = random.Random(20261127)
    log_path = str(tmp_path / "kills.log")
    store = open_store(target.url)
    bank = BankService(store, clerk_id="setup")
    opened = [bank.open_account(f"cust-{i}", OPENING, command_id=f"open-{i}") for i in range(4)]
    closing = [
        bank.open_account(f"closing-{i}", "0", command_id=f"open-closing-{i}") for i in range(2)
    ]
    plans: list[tuple[str, str, str, int]] = []  # key, source, target, kill at step
    for index in range(scaled(8)):
        source, target_account = rng.sample(opened, 2)
        plans.append((f"planted-{index}", source, target_account, rng.randint(1, 5)))
    for index, target_account in enumerate(closing):  # killed before the credit, then closed
        plans.append((f"doomed-{index}", opened[index], target_account, rng.randint(1, 3)))

    refused = planted = 0
    for key, source, target_account, _ in plans:
        done = _plant_all(bank, store, transfer_id_for(key), (source, target_account), tag="before")
        refused, planted = refused + done[0], planted + done[1]

    victims = [
        SPAWN.Process(
            target=workers.crash_single,
            args=(target.url,),
            kwargs={
                "source": source,
                "target": target_account,
                "amount": str(rng.randint(1, 300)),
                "kill_at_step": step,
                "key": key,
                "log_path": log_path,
            },
            name=f"victim-{key}",
            daemon=True,
        )
        for key, source, target_account, step in plans
    ]
    for process in victims:
        process.start()
    for process in victims:
        process.join(120)
        if process.is_alive():
            process.kill()
            process.join(30)
    for account in closing:  # its planted cents paid out, then closed under the transfer
        bank.withdraw(account, bank.get_account(account).balance, command_id=f"empty-{account}")
        bank.close_account(account, "closed while a transfer to it was under way")

    midway = audit_store(store, require_finished=False)
    in_flight = [
        tid for tid, status in midway.transfers.items() if status in ("requested", "debited")
    ]
    for key, source, target_account, _ in plans:  # what a watcher of the log can now see
        if transfer_id_for(key) in in_flight:
            legs = (source, target_account)
            done = _plant_all(bank, store, transfer_id_for(key), legs, tag="flight")
            refused, planted = refused + done[0], planted + done[1]

    report = BankService(store, clerk_id="recovery").recover()
    final = audit_store(store)
    outcomes = sorted(final.transfers.values())
    figures.add(
        store=target.kind,
        kills=sum(1 for p in victims if p.exitcode == -9),
        refused_as_reserved=refused,
        planted_behind_its_back=planted,
        in_flight=len(in_flight),
        transfers={status: outcomes.count(status) for status in set(outcomes)},
        commands=final.commands,
        events_checked=midway.events + final.events,
        violations=len(midway.violations) + len(final.violations),
    )
    assert midway.violations == [], midway.summary()
    assert final.violations == [], final.summary()
    assert report.failed == {}
    assert refused >= planted  # every plant through the service was refused as reserved
    assert set(outcomes) <= {"completed", "rejected", "reversed"}
    assert "reversed" in outcomes
    assert final.openings + final.external_in == OPENING * 4 + PLANT * planted
    money_in = final.openings + final.external_in - final.external_out
    assert sum(final.balances.values()) == money_in
    assert BankService(store).recover().finished == 0
    store.close()
