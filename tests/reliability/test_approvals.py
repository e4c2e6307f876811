"""Dual control under real processes, on a SQLite file and on PostgreSQL.

Six processes bootstrap the first admin at the same moment: one wins. Eight supervisor
processes approve one request at the same moment: it is carried out once. Approving processes
are SIGKILLed right after each durable step of the approval (and of an approved transfer),
after the test has changed the world under some of them (a drained account, a closed target);
then two recoverer processes and the test recover at the same moment. Every request must end
carried out or failed exactly once, and the store must pass the audit.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from bank_desktop.application import BankService
from bank_desktop.domain import ApprovalRequired
from bank_desktop.eventstore import open_store
from bank_desktop.eventstore.port import EventStore
from tests.reliability import approval_workers
from tests.reliability.audit import audit_store
from tests.reliability.conftest import Figures, Target
from tests.reliability.helpers import SPAWN, gather

pytestmark = pytest.mark.slow


def _staff(store: EventStore, supervisors: list[str]) -> tuple[BankService, BankService]:
    admin = BankService(store, clerk_id="admin-1")
    admin.grant_role("admin-1", "admin")
    for clerk in supervisors:
        admin.grant_role(clerk, "supervisor")
    admin.set_approval_limit("1000")
    return admin, BankService(store, clerk_id="teller-1")


def _ask(call: object) -> str:
    with pytest.raises(ApprovalRequired) as raised:
        call()  # type: ignore[operator]
    return raised.value.approval_id


def test_desks_bootstrapping_the_first_admin_at_once_make_one(
    target: Target, figures: Figures
) -> None:
    clerks = [f"it-{i}" for i in range(6)]
    start = SPAWN.Event()
    results = SPAWN.Queue()
    processes = [
        SPAWN.Process(
            target=approval_workers.bootstrapper,
            args=(target.url, clerk, start, results),
            name=clerk,
            daemon=True,
        )
        for clerk in clerks
    ]
    for process in processes:
        process.start()
    start.set()
    outcomes = gather(results, processes)
    assert sorted(outcomes) == ["PermissionDeniedError"] * 5 + ["granted"]
    store = open_store(target.url)
    assert len(BankService(store, clerk_id="x").staff().holders_of("admin")) == 1
    audit = audit_store(store)
    assert not audit.violations, audit.summary()
    figures.add(commands=len(processes), events_checked=audit.events, violations=0)
    store.close()


def test_eight_supervisor_processes_approve_at_once(target: Target, figures: Figures) -> None:
    supervisors = [f"sup-{i}" for i in range(8)]
    store = open_store(target.url)
    _, teller = _staff(store, supervisors)
    account = teller.open_account("cust-1", "5000")
    approval_id = _ask(lambda: teller.withdraw(account, "3000", command_id="big-1"))
    start = SPAWN.Event()
    results = SPAWN.Queue()
    processes = [
        SPAWN.Process(
            target=approval_workers.supervisor,
            args=(target.url, clerk, approval_id, start, results),
            name=clerk,
            daemon=True,
        )
        for clerk in supervisors
    ]
    for process in processes:
        process.start()
    start.set()
    outcomes = gather(results, processes)
    assert sorted(outcomes) == ["IllegalStateError"] * 7 + ["approved"]
    assert teller.get_account(account).balance == Decimal("2000.00")
    assert teller.withdraw(account, "3000", command_id="big-1") == Decimal("2000.00")
    audit = audit_store(store)
    assert not audit.violations, audit.summary()
    assert audit.approvals == {approval_id: "executed"}
    figures.add(commands=len(processes), events_checked=audit.events, violations=0)
    store.close()


#: (kind, approval step, transfer step, what the test does after the kill) for each victim.
VICTIMS = [
    ("withdrawal", "approved", "", None),
    ("withdrawal", "carried-out", "", None),
    ("withdrawal", "approved", "", "drain"),  # recovery must find it refused
    ("transfer", "approved", "", None),
    ("transfer", "", "requested", None),
    ("transfer", "", "debited", None),
    ("transfer", "carried-out", "", None),
    ("transfer", "approved", "", "drain"),
    ("transfer", "", "debited", "close"),  # the target closes: paid back, so failed
]


def test_approvals_killed_at_every_step_are_carried_out_once(
    target: Target, figures: Figures, tmp_path: Path
) -> None:
    log = str(tmp_path / "kills.log")
    store = open_store(target.url)
    _, teller = _staff(store, ["sup-1"])
    expected: dict[str, str] = {}
    kills = 0
    for index, (kind, approval_step, transfer_step, then) in enumerate(VICTIMS):
        source = teller.open_account(f"cust-{index}", "5000", command_id=f"open-{index}")
        target_account = teller.open_account(f"payee-{index}", "0", command_id=f"payee-{index}")
        if kind == "withdrawal":
            approval_id = _ask(lambda s=source: teller.withdraw(s, "3000"))  # type: ignore[misc]
        else:
            approval_id = _ask(
                lambda s=source, t=target_account: teller.transfer(s, t, "3000")  # type: ignore[misc]
            )
        victim = SPAWN.Process(
            target=approval_workers.doomed_approver,
            args=(target.url, "sup-1", approval_id),
            kwargs={"approval_step": approval_step, "transfer_step": transfer_step, "log": log},
            name=f"victim-{index}",
            daemon=True,
        )
        victim.start()
        victim.join(120)
        assert victim.exitcode == -9, f"victim {index} exited with {victim.exitcode}"
        kills += 1
        if then == "drain":  # below the limit, in steps: 5000 - 2700 < 3000
            for _ in range(3):
                teller.withdraw(source, "900")
        elif then == "close":
            teller.close_account(target_account)
        moved = approval_step == "carried-out" or transfer_step == "debited"
        expected[approval_id] = "failed" if then == "close" or (then and not moved) else "executed"

    mid = audit_store(store, require_finished=False)
    assert not mid.violations, mid.summary()

    start = SPAWN.Event()
    results = SPAWN.Queue()
    recoverers = [
        SPAWN.Process(
            target=approval_workers.recoverer,
            args=(target.url, f"recoverer-{i}", start, results),
            name=f"recoverer-{i}",
            daemon=True,
        )
        for i in range(2)
    ]
    for process in recoverers:
        process.start()
    start.set()
    BankService(store, clerk_id="recoverer-test").recover()
    reports = gather(results, recoverers)
    assert not any(errors for _, _, errors in reports), reports

    audit = audit_store(store)
    assert not audit.violations, audit.summary()
    assert {a: audit.approvals[a] for a in expected} == expected
    assert len(Path(log).read_text().splitlines()) == kills
    figures.add(kills=kills, events_checked=audit.events, violations=0)
    store.close()
