"""Durable commands on PostgreSQL, ours vs eventsourcing, and live delivery by LISTEN/NOTIFY.

1. commands: each round makes fresh schemas on the same server, opens ``--accounts``
   accounts, warms up with ``--warmup`` deposits per account, then times ``--commands``
   sequential deposits of 1.00 round-robin over the accounts; each deposit is one committed
   transaction (the server's ``fsync`` and ``synchronous_commit`` are printed; both sides use
   the same server, database and settings, in schemas of their own). The systems take turns
   in blocks of ``--block`` deposits (the order rotating), so a server whose disk drifts
   weighs on all alike. Commits per command are our store's tally; WAL fsyncs per command
   come from ``pg_stat_wal`` over a run of ours alone.

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

import contextlib
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
    interleaved,
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


class Ours:
    """``BankService.deposit`` on a fresh schema, set up and ready to time."""

    def __init__(self, url: str, accounts: int, warmup: int) -> None:
        from bank_desktop.application import BankService
        from bank_desktop.eventstore import prepare_store

        self.url = url
        self.store, _ = prepare_store(url)
        self.bank = BankService(self.store, clerk_id="bench")
        self.ids = [self.bank.open_account(f"cust-{i}", "100.00") for i in range(accounts)]
        for _ in range(warmup):
            for account in self.ids:
                self.bank.deposit(account, "1.00")
        self.expected = Decimal("100.00") + warmup
        self.commits_before = self.commits()

    def commits(self) -> int:
        return int(self.store.group_commit.commits)  # type: ignore[attr-defined]

    def __call__(self, i: int) -> None:
        self.bank.deposit(self.ids[i % len(self.ids)], "1.00")

    def finish(self, commands: int) -> dict[str, Any]:
        import psycopg

        ok = self.bank.get_account(self.ids[-1]).balance == self.expected + commands // len(
            self.ids
        )
        commits = (self.commits() - self.commits_before) / commands
        self.store.close()
        with psycopg.connect(self.url, autocommit=True) as conn:
            sync = session_settings(conn)
        return {"ok": ok, "sync": sync, "commits": commits}


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


class EsBank:
    """``Bank.deposit`` of the eventsourcing library on a fresh schema, ready to time."""

    def __init__(self, server: str, name: str, accounts: int, warmup: int, cache: int | None):
        from _es_bank import Bank

        self.app = Bank(env=es_env(server, name, cache))
        self.one = Decimal("1.00")
        self.ids = [self.app.open_account(f"cust-{i}", Decimal("100.00")) for i in range(accounts)]
        for _ in range(warmup):
            for account in self.ids:
                self.app.deposit(account, self.one)
        self.expected = Decimal("100.00") + warmup

    def __call__(self, i: int) -> None:
        self.app.deposit(self.ids[i % len(self.ids)], self.one)

    def finish(self, commands: int) -> dict[str, Any]:
        ok = self.app.balance(self.ids[-1]) == self.expected + commands // len(self.ids)
        with self.app.factory.datastore.get_connection() as conn:  # type: ignore[attr-defined]
            sync = session_settings(conn)
        self.app.close()
        return {"ok": ok, "sync": sync, "commits": None}


def wal_syncs(server: str) -> int | None:
    """The server's count of WAL flushes to disk (pg_stat_wal, PostgreSQL 14+): every process
    of the server, every database."""
    import psycopg

    try:
        with psycopg.connect(server, autocommit=True, connect_timeout=5) as conn:
            row = conn.execute("SELECT wal_sync FROM pg_stat_wal").fetchone()
    except psycopg.Error:
        return None
    return int(row[0]) if row else None


def fsyncs_per_command(args: Any, schema_name: str) -> float | None:
    """WAL flushes per deposit over a run of ours alone (server-wide: other clients of the
    same server during the run count too)."""
    with schema(args.server, schema_name, args.keep) as fresh:
        ours = Ours(in_schema(args.server, fresh), args.accounts, 0)
        before = wal_syncs(args.server)
        for i in range(args.commands):
            ours(i)
        ours.finish(args.commands)  # closing its connections makes their backends report
        after = settled(lambda: wal_syncs(args.server))
    if before is None or after is None:
        return None
    return (after - before) / args.commands


def settled(read: Any, pause: float = 0.25, limit: float = 5.0) -> Any:
    """``read()`` once it gives the same value twice in a row (server statistics arrive a
    moment after the backends that made them exit)."""
    deadline = time.monotonic() + limit
    value = read()
    while time.monotonic() < deadline:
        time.sleep(pause)
        again = read()
        if again == value:
            break
        value = again
    return value


def commands_section(args: Any) -> None:
    pid = os.getpid()
    sizes = {"accounts": args.accounts, "warmup": args.warmup}
    makers: dict[str, Any] = {
        "ours": lambda s: Ours(in_schema(args.server, s), args.accounts, args.warmup),
        "eventsourcing": lambda s: EsBank(args.server, s, cache=None, **sizes),
    }
    if args.es_cache > 0:
        makers[f"eventsourcing cache={args.es_cache}"] = lambda s: EsBank(
            args.server, s, cache=args.es_cache, **sizes
        )
    names = list(makers)
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for round_no in range(args.rounds):
        order = names[round_no % len(names) :] + names[: round_no % len(names)]
        section(
            f"commands: round {round_no + 1}/{args.rounds} (blocks of {args.block}, first: "
            f"{', '.join(order)})"
        )
        with contextlib.ExitStack() as stack:
            systems = {}
            for index, name in enumerate(order):
                fresh = stack.enter_context(
                    schema(args.server, f"bench_{pid}_r{round_no}_s{index}", args.keep)
                )
                systems[name] = makers[name](fresh)
            timed = interleaved(systems, args.commands, args.block)
            rows = []
            for name in names:
                samples, total = timed[name]
                result = systems[name].finish(args.commands)
                result.update(samples=samples, total=total)
                results[name].append(result)
                rows.append(latency_row(name, Latency.of(samples), total))
        print_table(LATENCY_HEADERS, rows)

    section("durability (read back from each side's own connection)")
    for name in names:
        print(f"{name:<28} {results[name][0]['sync']}")
    checks = all(r["ok"] for runs in results.values() for r in runs)
    print(f"balances after the run as expected: {'yes' if checks else 'NO'}")

    section(f"commands: all rounds ({args.rounds} x {args.commands} deposits; rate = median)")
    rates: dict[str, float] = {}
    pooled: dict[str, Latency] = {}
    rows = []
    for name in names:
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

    section("commits and fsyncs per command (ours)")
    commits = median([r["commits"] for r in results["ours"]])
    flushes = fsyncs_per_command(args, f"bench_{pid}_fsyncs")
    shown = "not counted (no pg_stat_wal)" if flushes is None else f"{flushes:.2f}"
    print(f"ours         commits/command {commits:.2f}   WAL fsyncs/command {shown}")
    print("(WAL fsyncs: pg_stat_wal.wal_sync over a run of ours alone, the whole server)")
    print()
    ours, es = rates["ours"], rates["eventsourcing"]
    ratio_line("commands/s", ours, es, "higher")
    ratio_line("p99 latency", pooled["ours"].p99, pooled["eventsourcing"].p99, "lower")
    if args.es_cache > 0:
        cached = f"eventsourcing cache={args.es_cache}"
        ratio_line("commands/s", ours, rates[cached], "higher", f"cache={args.es_cache}")
    target_line(f"ours >= 2.5x eventsourcing defaults ({ours / es:.2f}x)", ours >= 2.5 * es)


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
    p.add_argument("--block", type=int, default=50, help="deposits per turn of each system")
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
