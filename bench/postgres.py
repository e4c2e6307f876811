"""Durable commands on PostgreSQL, ours vs eventsourcing, and live delivery by LISTEN/NOTIFY.

1. commands: each round makes fresh schemas on the same server, opens ``--accounts``
   accounts, warms up with ``--warmup`` deposits per account, then times ``--commands``
   sequential deposits of 1.00 round-robin over the accounts; each deposit is one committed
   transaction (the server's ``fsync`` and ``synchronous_commit`` are printed; both sides use
   the same server, database and settings, in schemas of their own).

   - ours: ``BankService.deposit`` on ``postgresql://…?options=-csearch_path=<schema>``.
   - eventsourcing: ``Bank.deposit`` (``bench/_es_bank.py``: ``repository.get`` + ``deposit`` +
     ``save``) on ``PERSISTENCE_MODULE=eventsourcing.postgres`` with ``POSTGRES_SCHEMA``, with
     the library's defaults (no aggregate cache: every command replays the account) and, as
     an extra row, with ``AGGREGATE_CACHE_MAXSIZE``.

2. live delivery: a subscriber process (``bench/_pg_child.py``: a SubscriptionRunner with the
   app's defaults) and this process as another clerk making ``--events`` deposits, paced
   ``--gap-ms`` apart on average. Latency is the subscriber's receipt minus the moment the
   clerk's deposit returned (committed), on the machine-wide monotonic clock; "from start"
   adds the command itself. The same runs on a SQLite file for comparison (it polls).

Rounds alternate which system goes first. Figures only: nothing here asserts a timing.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from _common import (
    BENCH_DIR,
    LATENCY_HEADERS,
    Latency,
    apply_quick,
    latency_row,
    median,
    ms,
    parser,
    print_header,
    print_table,
    ratio_line,
    scratch_dir,
    section,
    target_line,
    time_each,
)

DEFAULT_SERVER = os.environ.get(
    "BANK_DESKTOP_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)


def now_ns() -> int:
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


# ── the server and its schemas ────────────────────────────────────────────────────────────


def server_info(server: str) -> list[tuple[str, str]]:
    import psycopg

    with psycopg.connect(server, autocommit=True, connect_timeout=5) as conn:
        version = conn.execute("SHOW server_version").fetchone()
        rows = [("server", f"PostgreSQL {version[0] if version else '?'}")]
        for name in ("fsync", "synchronous_commit", "wal_sync_method", "full_page_writes"):
            value = conn.execute(f"SHOW {name}").fetchone()
            rows.append((name, str(value[0] if value else "?")))
    return rows


@contextmanager
def schema(server: str, name: str, keep: bool) -> Iterator[str]:
    """A fresh schema ``name`` on ``server``, dropped afterwards unless ``keep``."""
    import psycopg

    with psycopg.connect(server, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        admin.execute(f"CREATE SCHEMA {name}")
    try:
        yield name
    finally:
        if keep:
            print(f"(kept schema {name})")
        else:
            with psycopg.connect(server, autocommit=True, connect_timeout=5) as admin:
                admin.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


def in_schema(server: str, name: str) -> str:
    joiner = "&" if "?" in server else "?"
    return f"{server}{joiner}options=-csearch_path%3D{name}"


def session_settings(conn: Any) -> str:
    def show(setting: str) -> str:
        row = conn.execute(f"SHOW {setting}").fetchone()
        value = row[setting] if isinstance(row, dict) else row[0]
        return str(value)

    return f"synchronous_commit={show('synchronous_commit')}, fsync={show('fsync')}"


# ── commands ──────────────────────────────────────────────────────────────────────────────


def run_ours(url: str, accounts: int, warmup: int, commands: int) -> dict[str, Any]:
    import psycopg

    from bank_desktop.application import BankService
    from bank_desktop.eventstore import prepare_store

    store, _ = prepare_store(url)
    try:
        bank = BankService(store, clerk_id="bench")
        ids = [bank.open_account(f"cust-{i}", "100.00") for i in range(accounts)]
        for _ in range(warmup):
            for account in ids:
                bank.deposit(account, "1.00")
        samples, total = time_each(lambda i: bank.deposit(ids[i % accounts], "1.00"), commands)
        expected = Decimal("100.00") + warmup + commands // accounts
        ok = bank.get_account(ids[-1]).balance == expected
    finally:
        store.close()
    with psycopg.connect(url, autocommit=True) as conn:
        sync = session_settings(conn)
    return {"samples": samples, "total": total, "sync": sync, "ok": ok}


def es_env(server: str, name: str, cache: int | None) -> dict[str, str]:
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(server)
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": parts.path.lstrip("/"),
        "POSTGRES_HOST": parts.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": unquote(parts.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
        "POSTGRES_SCHEMA": name,
    }
    if cache:
        env["AGGREGATE_CACHE_MAXSIZE"] = str(cache)
    return env


def run_es(
    server: str, name: str, *, accounts: int, warmup: int, commands: int, cache: int | None
) -> dict[str, Any]:
    from _es_bank import Bank

    app = Bank(env=es_env(server, name, cache))
    try:
        one = Decimal("1.00")
        ids = [app.open_account(f"cust-{i}", Decimal("100.00")) for i in range(accounts)]
        for _ in range(warmup):
            for account in ids:
                app.deposit(account, one)
        samples, total = time_each(lambda i: app.deposit(ids[i % accounts], one), commands)
        expected = Decimal("100.00") + warmup + commands // accounts
        ok = app.balance(ids[-1]) == expected
        with app.factory.datastore.get_connection() as conn:  # type: ignore[attr-defined]
            sync = session_settings(conn)
    finally:
        app.close()
    return {"samples": samples, "total": total, "sync": sync, "ok": ok}


def commands_section(args: Any) -> None:
    pid = os.getpid()
    sizes = {"accounts": args.accounts, "warmup": args.warmup, "commands": args.commands}
    systems: list[tuple[str, Any]] = [
        (
            "ours",
            lambda s: run_ours(
                in_schema(args.server, s), args.accounts, args.warmup, args.commands
            ),
        ),
        (
            "eventsourcing",
            lambda s: run_es(args.server, s, **sizes, cache=None),
        ),
    ]
    if args.es_cache > 0:
        systems.append(
            (
                f"eventsourcing cache={args.es_cache}",
                lambda s: run_es(args.server, s, **sizes, cache=args.es_cache),
            )
        )
    results: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in systems}
    for round_no in range(args.rounds):
        order = systems if round_no % 2 == 0 else systems[::-1]
        section(
            f"commands: round {round_no + 1}/{args.rounds} "
            f"(order: {', '.join(n for n, _ in order)})"
        )
        rows = []
        for index, (name, run) in enumerate(order):
            with schema(args.server, f"bench_{pid}_r{round_no}_s{index}", args.keep) as fresh:
                result = run(fresh)
            results[name].append(result)
            rows.append(latency_row(name, Latency.of(result["samples"]), result["total"]))
        print_table(LATENCY_HEADERS, rows)

    section("durability (read back from each side's own connection)")
    for name, _ in systems:
        print(f"{name:<28} {results[name][0]['sync']}")
    checks = all(r["ok"] for runs in results.values() for r in runs)
    print(f"balances after the run as expected: {'yes' if checks else 'NO'}")

    section(f"commands: all rounds ({args.rounds} x {args.commands} deposits; rate = median)")
    rates: dict[str, float] = {}
    pooled: dict[str, Latency] = {}
    rows = []
    for name, _ in systems:
        runs = results[name]
        rates[name] = median([len(r["samples"]) / r["total"] for r in runs])
        pooled[name] = lat = Latency.of([s for r in runs for s in r["samples"]])
        rows.append(
            [
                name,
                str(lat.count),
                f"{rates[name]:,.0f}/s",
                *(ms(v) for v in (lat.mean, lat.p50, lat.p90, lat.p99, lat.max)),
            ]
        )
    print_table(LATENCY_HEADERS, rows)
    print()
    ours, es = rates["ours"], rates["eventsourcing"]
    ratio_line("commands/s", ours, es, "higher")
    ratio_line("p99 latency", pooled["ours"].p99, pooled["eventsourcing"].p99, "lower")
    if args.es_cache > 0:
        cached = f"eventsourcing cache={args.es_cache}"
        ratio_line("commands/s", ours, rates[cached], "higher", f"cache={args.es_cache}")
    target_line(f"ours >= 1.5x eventsourcing defaults ({ours / es:.2f}x)", ours >= 1.5 * es)


# ── live delivery ─────────────────────────────────────────────────────────────────────────


def measure_delivery(url: str, events: int, gap_ms: float, seed: int) -> dict[str, Any]:
    """Deposits here, receipts in a subscriber process: per-event latencies in seconds."""
    from bank_desktop.application import BankService
    from bank_desktop.eventstore import prepare_store

    store, _ = prepare_store(url)
    child = subprocess.Popen(
        [sys.executable, str(BENCH_DIR / "_pg_child.py"), url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        bank = BankService(store, clerk_id="other-clerk")
        account = bank.open_account("cust-live", "0")
        assert child.stdout is not None
        assert child.stdin is not None
        if child.stdout.readline().strip() != "ready":
            raise RuntimeError("the subscriber process did not start")
        rng = random.Random(seed)
        sent: dict[str, tuple[int, int]] = {}
        for index in range(events):
            time.sleep(rng.uniform(0, 2 * gap_ms / 1000))  # pacing: a clerk, not a loader
            key = f"live-{index}"
            started = now_ns()
            bank.deposit(account, "1.00", command_id=key)
            sent[key] = (started, now_ns())
        child.stdin.write(f"stop {events}\n")
        child.stdin.flush()
        received: dict[str, int] = json.loads(child.stdout.readline())
        child.wait(30)
    finally:
        if child.poll() is None:
            child.kill()
        store.close()
    missing = [key for key in sent if key not in received]
    after_commit = [(received[k] - done) / 1e9 for k, (_, done) in sent.items() if k in received]
    from_start = [(received[k] - start) / 1e9 for k, (start, _) in sent.items() if k in received]
    return {"after_commit": after_commit, "from_start": from_start, "missing": missing}


def delivery_section(args: Any, directory: Path) -> None:
    section(
        f"live delivery: {args.events} deposits in one process, a SubscriptionRunner in "
        f"another (pacing {args.gap_ms:g} ms on average)"
    )
    pid = os.getpid()
    runs: list[tuple[str, dict[str, Any]]] = []
    with schema(args.server, f"bench_{pid}_live", args.keep) as name:
        runs.append(
            (
                "postgresql",
                measure_delivery(in_schema(args.server, name), args.events, args.gap_ms, 1),
            )
        )
    if not args.no_sqlite:
        url = f"sqlite:///{directory / 'live.db'}"
        runs.append(("sqlite (polls)", measure_delivery(url, args.events, args.gap_ms, 1)))
    rows = []
    for name, result in runs:
        rows.append(latency_row(f"{name}, after commit", Latency.of(result["after_commit"])))
        rows.append(latency_row(f"{name}, from start", Latency.of(result["from_start"])))
    print_table(LATENCY_HEADERS, rows)
    for name, result in runs:
        if result["missing"]:
            print(f"{name}: {len(result['missing'])} events never delivered!")
        negative = sum(1 for value in result["after_commit"] if value < 0)
        if negative:
            print(
                f"{name}: {negative} events reached the subscriber before the writer's "
                "call returned (negative latency after commit)"
            )
    print()
    postgres = Latency.of(runs[0][1]["after_commit"])
    target_line(
        f"another clerk's change delivered in <= 100 ms p99 on PostgreSQL ({ms(postgres.p99)})",
        postgres.p99 <= 0.1 and not runs[0][1]["missing"],
    )


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument(
        "--server",
        default=DEFAULT_SERVER,
        help="PostgreSQL server URL; a password is better given in BANK_DESKTOP_BENCH_POSTGRES "
        "(the command line is printed)",
    )
    p.add_argument("--commands", type=int, default=3_000, help="timed deposits per system")
    p.add_argument("--accounts", type=int, default=100, help="accounts deposited round-robin")
    p.add_argument("--warmup", type=int, default=2, help="untimed deposits per account first")
    p.add_argument("--rounds", type=int, default=3, help="fresh schemas per round")
    p.add_argument(
        "--es-cache",
        type=int,
        default=1000,
        help="AGGREGATE_CACHE_MAXSIZE for the extra eventsourcing row (0 = skip that row)",
    )
    p.add_argument("--events", type=int, default=500, help="deposits timed for live delivery")
    p.add_argument("--gap-ms", type=float, default=10.0, help="mean pause between them")
    p.add_argument("--no-sqlite", action="store_true", help="skip the SQLite delivery row")
    p.add_argument("--only", choices=("commands", "delivery"), help="run one part")
    p.add_argument("--keep", action="store_true", help="keep the schemas and files")
    args = p.parse_args()
    apply_quick(args, p, commands=300, accounts=20, rounds=1, events=100)
    from bank_desktop.eventstore import redact_url

    server, args.server = args.server, redact_url(args.server)  # the header prints options
    print_header("postgres: durable commands and live delivery on PostgreSQL", args)
    args.server = server
    for key, value in server_info(args.server):
        print(f"{key + ':':<19}{value}")
    if args.only != "delivery":
        commands_section(args)
    if args.only != "commands":
        with scratch_dir("postgres", keep=args.keep) as directory:
            delivery_section(args, directory)


if __name__ == "__main__":
    main()
