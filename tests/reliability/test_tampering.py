"""Tampering, on SQLite and PostgreSQL: forged webhook deliveries, edited or damaged snapshots,
a store rolled back, emptied or (SQLite) damaged. Whatever is done to what lies *beside* the
store, what is shown is the store's truth; whatever is done to the store itself, nothing is
written to it until a person has looked.

- forged deliveries: real envelopes mutated at random (amount, id, type, account, position,
  sign, garbage) are posted to ``serve`` while clerks keep working; not one may change what
  ``GET /accounts`` shows, before or after a restart (the snapshot), and none may get a 500;
- snapshots: random single-byte changes, edited balances and "NaN" in the read-model
  snapshot; every load must equal a fresh fold of the store, and say when it rebuilt;
- the store goes backwards (events deleted from its end, emptied): every open refuses it;
- SQLite damage: random pages overwritten; every open refuses writes.
"""

from __future__ import annotations

import random
import shutil
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import msgspec
import psycopg
import pytest

from bank_desktop.application import BankService
from bank_desktop.application.projections import ReadModel, catch_up, load_read_model
from bank_desktop.domain import DomainError
from bank_desktop.eventstore import (
    EventStore,
    StoreDamagedError,
    StoreRegressedError,
    open_known_store,
    open_snapshot_store,
    open_store,
    remember_store,
)
from bank_desktop.http import ServeSettings, create_app
from tests.http.conftest import ThreadedServer
from tests.http.events import envelope
from tests.reliability.audit import audit_store
from tests.reliability.conftest import Figures, Target, scaled

TOKEN = "reliability-webhook-token-0123456789abcdef"
PATH = "/api/projections/balances/events"
_encoder = msgspec.json.Encoder(decimal_format="number")
_decoder = msgspec.json.Decoder(float_hook=Decimal)


def _truth(store: EventStore) -> dict[str, Decimal]:
    model = ReadModel()
    catch_up(model, store)
    return {row.account_id: row.balance for row in model.balances}


@contextmanager
def serving(target: Target, data_dir: Path) -> Iterator[httpx.Client]:
    store = open_store(target.url)
    app = create_app(
        store,
        ServeSettings(
            clerk_id="api",
            open=True,
            projection_token=TOKEN,
            data_dir=data_dir,
            close_store=True,
            idle_wait=0.05,
        ),
    )
    server = ThreadedServer(app)
    server.start()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=60) as client:
            yield client
    finally:
        server.stop()


def _shown(client: httpx.Client, store: EventStore) -> dict[str, Decimal]:
    head = store.head_position()
    response = client.get("/accounts", params={"after": head})
    assert response.status_code == 200, response.text
    return {row["accountId"]: row["balance"] for row in _decoder.decode(response.content)}


def _mutations(real: dict[str, Any], rng: random.Random) -> dict[str, Any] | bytes:
    """One forged or wrong delivery made from a real envelope."""
    data = dict(real["data"])
    kind = rng.randrange(9)
    forged = dict(real)
    if kind == 0 and "amount" in data:
        data["amount"] = Decimal(rng.randint(1, 10**8)) / 100
    elif kind == 1 and "amount" in data:
        data["amount"] = -abs(data["amount"]) - 1
    elif kind == 2:
        forged["eventId"] = f"forged-{rng.random()}"
        data["amount"] = Decimal("1000000.00")
    elif kind == 3:
        forged["streamPosition"] = real["streamPosition"] + rng.randint(1, 5)
        forged["eventId"] = f"ahead-{rng.random()}"
    elif kind == 4:
        forged["streamId"] = f"account-forged{rng.randint(0, 99)}"
        data["accountId"] = forged["streamId"]
    elif kind == 5:
        forged["type"] = rng.choice(["money.deposited", "money.withdrawn", "account.closed"])
    elif kind == 6:
        return rng.randbytes(rng.randint(0, 64))
    elif kind == 7:
        data["accountId"] = "account-someone-else"
    else:
        forged["globalPosition"] = real["globalPosition"]  # the real one, unchanged: genuine
        return {"events": [forged]}
    forged["data"] = data
    return {"events": [forged]}


def test_forged_webhook_deliveries_never_change_what_serve_shows(
    target: Target, figures: Figures, tmp_path: Path
) -> None:
    rng = random.Random(11)
    store = open_store(target.url)
    bank = BankService(store, clerk_id="clerk-forge")
    accounts = [bank.open_account(f"cust-{i}", "100") for i in range(4)]
    stop = threading.Event()
    commands = [0]

    def clerk() -> None:
        local = random.Random(5)
        while not stop.is_set():
            source, other = local.sample(accounts, 2)
            try:
                match local.randrange(3):
                    case 0:
                        bank.deposit(source, f"{local.randint(1, 999)}.{local.randint(0, 99):02d}")
                    case 1:
                        bank.withdraw(source, f"{local.randint(1, 50)}")
                    case _:
                        bank.transfer(source, other, f"{local.randint(1, 30)}")
            except DomainError:
                pass
            commands[0] += 1

    statuses: dict[int, int] = {}
    deliveries = scaled(300)
    with serving(target, tmp_path / "data") as client:
        worker = threading.Thread(target=clerk, name="clerk")
        worker.start()
        try:
            for _ in range(deliveries):
                real = rng.choice(store.read_all(limit=10_000))
                body = _mutations(envelope(real) | {"createdAt": real.created_at.isoformat()}, rng)
                raw = body if isinstance(body, bytes) else _encoder.encode(body)
                response = client.post(
                    PATH,
                    content=raw,
                    headers={
                        "Authorization": f"Bearer {TOKEN}",
                        "Content-Type": "application/json",
                    },
                )
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        finally:
            stop.set()
            worker.join(60)
        shown_live = _shown(client, store)
        truth = _truth(store)
    with serving(target, tmp_path / "data") as client:  # restarted: from its snapshot
        shown_after_restart = _shown(client, store)
    audit = audit_store(store, require_finished=False)
    violations = [
        *(["a 500"] if 500 in statuses else []),
        *(["live view differs from the store"] if shown_live != truth else []),
        *(["view after restart differs"] if shown_after_restart != _truth(store) else []),
        *audit.violations,
    ]
    figures.add(
        store=target.kind,
        commands=commands[0],
        deliveries=deliveries,
        refused=sum(n for code, n in statuses.items() if code >= 400),
        confirmed=statuses.get(200, 0),
        events_checked=audit.events,
        violations=len(violations),
    )
    assert set(statuses) <= {200, 400, 409}, statuses
    assert violations == [], violations
    store.close()


def _snapshot_file(data_dir: Path) -> Path:
    [found] = list((data_dir / "projections").glob("*/read-model.snapshot.json"))
    return found


def test_tampered_snapshots_are_never_shown(
    target: Target, figures: Figures, tmp_path: Path
) -> None:
    rng = random.Random(3)
    store = open_store(target.url)
    bank = BankService(store, clerk_id="clerk-snap")
    accounts = [bank.open_account(f"cust-{i}", f"{i * 10}.50") for i in range(6)]
    for account in accounts:
        bank.deposit(account, "1.25")
    bank.transfer(accounts[1], accounts[2], "3.00")
    truth = _truth(store)
    data_dir = tmp_path / "data"
    snapshots = open_snapshot_store(store, data_dir)
    load_read_model(store, snapshots, save_after=1)
    path = _snapshot_file(data_dir)
    good = path.read_bytes()
    rounds = scaled(200)
    rebuilt = violations = 0
    # Balances are kept in cents, in one column of the balances' table: edit one entry of it.
    start = good.index(b'"cents":[') + len(b'"cents":[')
    end = good.index(b"]", start)
    cents = good[start:end].split(b",")
    assert len(cents) == len(truth)

    def with_entry(index: int, value: bytes) -> bytearray:
        edited = [*cents[:index], value, *cents[index + 1 :]]
        return bytearray(good[:start] + b",".join(edited) + good[end:])

    for round_no in range(rounds):
        damaged = bytearray(good)
        index = rng.randrange(len(cents))
        match round_no % 3:
            case 0:
                at = rng.randrange(len(damaged))
                damaged[at] ^= 1 << rng.randrange(8)
            case 1:
                damaged = with_entry(index, str(rng.randint(1, 10**8)).encode())
            case _:
                damaged = with_entry(index, b'"NaN"')
        path.write_bytes(bytes(damaged))
        loaded = load_read_model(store, snapshots, save_after=10**9)
        shown = {row.account_id: row.balance for row in loaded.model.balances}
        if shown != truth:
            violations += 1
        if not loaded.restored:
            rebuilt += 1
            if bytes(damaged) != good and not loaded.problems and damaged.startswith(b"bank"):
                violations += 1  # a rejected snapshot with a readable header must be reported
    figures.add(store=target.kind, rounds=rounds, rebuilt=rebuilt, violations=violations)
    assert violations == 0
    assert rebuilt >= rounds * 2 // 3  # every edit and every "NaN" (most flips too)
    store.close()


def test_a_store_that_went_backwards_is_refused(
    target: Target, figures: Figures, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    store = open_known_store(target.url, data_dir)
    bank = BankService(store, clerk_id="clerk-back")
    account = bank.open_account("cust-1", "10")
    for _ in range(5):
        bank.deposit(account, "1")
    head = store.head_position()
    remember_store(store, data_dir)  # as every entry point does when it closes the store
    store.close()
    refused = 0
    for keep in (head - 1, head - 3, 0):
        _truncate(target, keep, tmp_path)
        with pytest.raises(StoreRegressedError) as info:
            open_known_store(target.url, data_dir)
        assert f"{head:,} events" in str(info.value)
        refused += 1
    figures.add(store=target.kind, rollbacks=refused, violations=0)


def _truncate(target: Target, keep: int, tmp_path: Path) -> None:
    """Delete every event after global position ``keep`` behind the application's back (the
    append-only guards dropped first, as whoever does this would)."""
    if target.kind == "sqlite":
        assert target.path is not None
        conn = sqlite3.connect(target.path)
        with conn:
            conn.execute("DROP TRIGGER IF EXISTS events_refuse_delete")
            conn.execute("DELETE FROM events WHERE global_position > ?", (keep,))
        conn.close()
        return
    with psycopg.connect(target.url, autocommit=True) as conn:
        conn.execute("DROP TRIGGER IF EXISTS bank_events_refuse_update_delete ON bank_events")
        conn.execute("DELETE FROM bank_events WHERE global_position > %s", (keep,))


def test_a_damaged_sqlite_store_refuses_every_write(
    target: Target, figures: Figures, tmp_path: Path
) -> None:
    if target.kind != "sqlite":
        pytest.skip("page damage is a SQLite file's problem")
    assert target.path is not None
    store = open_store(target.url)
    bank = BankService(store, clerk_id="clerk-dmg")
    accounts = [bank.open_account(f"cust-{i}", "100") for i in range(50)]
    for index in range(scaled(600)):
        bank.deposit(accounts[index % 50], "1.00", description="x" * 40)
    store.close()
    pristine = tmp_path / "pristine.db"
    shutil.copyfile(target.path, pristine)
    rng = random.Random(9)
    rounds = scaled(10)
    refused = 0
    for _ in range(rounds):
        shutil.copyfile(pristine, target.path)
        for suffix in ("-wal", "-shm", "-damaged"):
            Path(f"{target.path}{suffix}").unlink(missing_ok=True)
        page_size = 4096
        pages = target.path.stat().st_size // page_size
        page = rng.randrange(2, pages)
        with target.path.open("r+b") as handle:
            handle.seek(page * page_size + 16)
            handle.write(rng.randbytes(page_size - 32))
        before = target.path.read_bytes()
        try:
            damaged = open_store(target.url)
        except StoreDamagedError:
            refused += 1
            continue
        try:
            with pytest.raises(StoreDamagedError):
                BankService(damaged, clerk_id="clerk-dmg").open_account("cust-new", "1")
            refused += 1
        finally:
            damaged.close()
        assert target.path.read_bytes() == before
    figures.add(store=target.kind, rounds=rounds, refused=refused, violations=rounds - refused)
    assert refused == rounds
