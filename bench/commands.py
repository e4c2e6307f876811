"""Durable commands per second and per-command latency on SQLite, ours vs eventsourcing.

Each round makes fresh databases, opens ``--accounts`` accounts, warms up with
``--warmup`` deposits per account, then times ``--commands`` sequential deposits of 1.00
round-robin over the accounts; each deposit is one committed, fsynced transaction. The
systems take turns in blocks of ``--block`` deposits (the order rotating), so a disk whose
speed drifts from minute to minute weighs on all of them alike.

- ours: ``BankService.deposit`` on ``open_store("sqlite:///...")`` (WAL, synchronous=FULL).
- ours keyed: the same with a request id (``command_id=``), which is claimed in the store
  (``request.claimed``) in the same transaction as the deposit.
- raw commit: the floor, no application at all: one autocommit INSERT of a deposit-sized row
  into a table of our schema (WAL, synchronous=FULL), rows prepared beforehand: one durable
  single-row commit. ``ours / raw`` is the share of the disk's commit rate a command keeps.
- ours, SQL only: the statements of one of our deposits with no application around them
  (``BEGIN IMMEDIATE``, the head query, the INSERT, ``COMMIT``), rows prepared beforehand:
  what our transaction costs the disk and SQLite; ``ours`` minus this is our Python.
- eventsourcing: ``Bank.deposit`` = ``repository.get`` + ``BankAccount.deposit`` + ``save``
  on ``PERSISTENCE_MODULE=eventsourcing.sqlite`` with synchronous forced to FULL; run with
  the library's defaults (no aggregate cache: every command replays the account's events)
  and, as a second row, with ``AGGREGATE_CACHE_MAXSIZE`` set (its cache + fast-forward).

Commits per command are counted by our store (its group commit's tally); fsyncs per command
by ``strace -c`` on child processes (setup alone, then setup plus the deposits: the
difference over the deposits), when strace is installed. Figures only: nothing here asserts
a timing.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from _common import (
    LATENCY_HEADERS,
    Latency,
    apply_quick,
    count_syscalls,
    interleaved,
    latency_row,
    median,
    ms,
    ours_synchronous,
    parser,
    print_header,
    print_table,
    ratio_line,
    remove_db,
    scratch_dir,
    section,
    target_line,
)

FSYNCS = ("fsync", "fdatasync")
OURS, KEYED, RAW, OUR_SQL = "ours", "ours keyed", "raw commit", "ours, SQL only"


class Ours:
    """``BankService.deposit`` on a fresh SQLite store, set up and ready to time."""

    def __init__(self, path: Path, accounts: int, warmup: int, *, keyed: bool) -> None:
        from bank_desktop.application import BankService
        from bank_desktop.eventstore import open_store

        self.store = open_store(f"sqlite:///{path}")
        self.bank = BankService(self.store, clerk_id="bench")
        self.ids = [self.bank.open_account(f"cust-{i}", "100.00") for i in range(accounts)]
        for _ in range(warmup):
            for account in self.ids:
                self.bank.deposit(account, "1.00")
        self.keyed = keyed
        self.prefix = f"bench-{path.stem}-"
        self.expected = Decimal("100.00") + warmup
        self.commits_before = self.commits()

    def commits(self) -> int:
        return int(self.store.group_commit.commits)  # type: ignore[attr-defined]

    def __call__(self, i: int) -> None:
        account = self.ids[i % len(self.ids)]
        if self.keyed:
            self.bank.deposit(account, "1.00", command_id=f"{self.prefix}{i}")
        else:
            self.bank.deposit(account, "1.00")

    def finish(self, commands: int) -> dict[str, Any]:
        expected = self.expected + commands // len(self.ids)
        ok = self.bank.get_account(self.ids[-1]).balance == expected
        commits = (self.commits() - self.commits_before) / commands
        sync = ours_synchronous(self.store)
        self.store.close()
        return {"ok": ok, "sync": sync, "commits": commits}


class RawCommit:
    """The floor: one autocommit INSERT of a prepared deposit-sized row per call."""

    def __init__(self, path: Path, accounts: int, commands: int) -> None:
        from bank_desktop.eventstore.sqlite import _SCHEMA

        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                self.conn.execute(statement)
        self.rows = [raw_row(i, accounts) for i in range(commands)]
        self.sql = (
            "INSERT INTO events (stream_id, stream_position, event_id, type, data, metadata, "
            "created_at) VALUES (?,?,?,?,?,?,?)"
        )

    def __call__(self, i: int) -> None:
        self.conn.execute(self.sql, self.rows[i])

    def finish(self, commands: int) -> dict[str, Any]:
        mode = self.conn.execute("PRAGMA journal_mode").fetchone()[0]
        value = self.conn.execute("PRAGMA synchronous").fetchone()[0]
        count = self.conn.execute("SELECT count(*) FROM events").fetchone()[0]
        self.conn.close()
        sync = f"journal_mode={mode}, synchronous={'FULL' if value == 2 else value}"
        return {"ok": count == commands, "sync": sync, "commits": 1.0}


class OurSql(RawCommit):
    """Our deposit's transaction as the store sends it, with nothing decided or encoded."""

    def __init__(self, path: Path, accounts: int, commands: int) -> None:
        from bank_desktop.eventstore.sqlite import _HEADS, _INSERT

        super().__init__(path, accounts, commands)
        self.heads, self.insert = _HEADS, _INSERT

    def __call__(self, i: int) -> None:
        conn = self.conn
        stream, _, event_id, type_, data, metadata, created = self.rows[i]
        conn.execute("BEGIN IMMEDIATE")
        head, known = conn.execute(self.heads, (stream,)).fetchone()
        row = ((head or 0) + 1, stream, (known or 0) + 1, event_id, type_, data, created, metadata)
        conn.execute(self.insert, row)
        conn.execute("COMMIT")


def raw_row(i: int, accounts: int) -> tuple[Any, ...]:
    """A row the size of one of our deposits (data and metadata as ours writes them)."""
    account = f"account-{i % accounts:012d}"
    command = f"{i:08d}-0000-4000-8000-000000000000"
    data = f'{{"accountId":"{account}","amount":1.00,"depositedAt":"2026-01-01T09:00:00.000Z"}}'
    metadata = (
        f'{{"clerkId":"bench","correlationId":"{command}","causationId":"{command}",'
        f'"appVersion":"0.1.0","commandId":"{command}","requestHash":"{"0" * 32}"}}'
    )
    return (account, i + 1000, command, "money.deposited", data, metadata, "2026-01-01T09:00Z")


class EsBank:
    """``Bank.deposit`` of the eventsourcing library, set up and ready to time."""

    def __init__(self, path: Path, accounts: int, warmup: int, cache: int | None) -> None:
        from _es_bank import open_bank

        extra = {"AGGREGATE_CACHE_MAXSIZE": str(cache)} if cache else {}
        self.app, self.sync = open_bank(path, **extra)
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
        self.app.close()
        return {"ok": ok, "sync": self.sync, "commits": None}


# ── fsyncs per command, counted in child processes ────────────────────────────────────────


def fsync_child(args: argparse.Namespace) -> None:
    """Run as a child under strace: set up (and, unless ``setup``, make the deposits)."""
    with scratch_dir(f"fsyncs-{args.fsync_child}") as directory:
        path = directory / "child.db"
        if args.fsync_child == "raw":
            raw = RawCommit(path, args.accounts, args.commands)
            if not args.setup_only:
                for i in range(args.commands):
                    raw(i)
            raw.finish(args.commands if not args.setup_only else 0)
            return
        ours = Ours(path, args.accounts, args.warmup, keyed=args.fsync_child == "keyed")
        if not args.setup_only:
            for i in range(args.commands):
                ours(i)
        ours.store.close()
        remove_db(path)


def fsyncs_per_command(args: argparse.Namespace, kind: str) -> float | None:
    base = [sys.executable, __file__, "--fsync-child", kind, "--commands", str(args.commands)]
    base += ["--accounts", str(args.accounts), "--warmup", str(args.warmup)]
    setup = count_syscalls([*base, "--setup-only"], FSYNCS)
    full = count_syscalls(base, FSYNCS)
    if setup is None or full is None:
        return None
    return (sum(full.values()) - sum(setup.values())) / args.commands


# ── the run ───────────────────────────────────────────────────────────────────────────────


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--commands", type=int, default=5_000, help="timed deposits per system")
    p.add_argument("--accounts", type=int, default=100, help="accounts deposited round-robin")
    p.add_argument("--warmup", type=int, default=2, help="untimed deposits per account first")
    p.add_argument("--rounds", type=int, default=3, help="fresh databases per round")
    p.add_argument(
        "--es-cache",
        type=int,
        default=1000,
        help="AGGREGATE_CACHE_MAXSIZE for the extra eventsourcing row (0 = skip that row)",
    )
    p.add_argument("--block", type=int, default=50, help="deposits per turn of each system")
    p.add_argument("--no-fsync-count", action="store_true", help="skip counting fsyncs with strace")
    p.add_argument("--keep", action="store_true", help="keep the databases")
    p.add_argument("--fsync-child", choices=("ours", "keyed", "raw"), help=argparse.SUPPRESS)
    p.add_argument("--setup-only", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.fsync_child:
        fsync_child(args)
        return
    apply_quick(args, p, commands=300, accounts=20, rounds=1)
    print_header("commands: durable deposits on SQLite", args)

    makers: dict[str, Callable[[Path], Any]] = {
        OURS: lambda d: Ours(d / "ours.db", args.accounts, args.warmup, keyed=False),
        KEYED: lambda d: Ours(d / "keyed.db", args.accounts, args.warmup, keyed=True),
        RAW: lambda d: RawCommit(d / "raw.db", args.accounts, args.commands),
        OUR_SQL: lambda d: OurSql(d / "our-sql.db", args.accounts, args.commands),
        "eventsourcing": lambda d: EsBank(d / "es.db", args.accounts, args.warmup, None),
    }
    if args.es_cache > 0:
        makers[f"eventsourcing cache={args.es_cache}"] = lambda d: EsBank(
            d / "es-cache.db", args.accounts, args.warmup, args.es_cache
        )
    names = list(makers)
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    with scratch_dir("commands", keep=args.keep) as directory:
        for round_no in range(args.rounds):
            order = names[round_no % len(names) :] + names[: round_no % len(names)]
            section(
                f"round {round_no + 1}/{args.rounds} (blocks of {args.block}, first: "
                f"{', '.join(order)})"
            )
            folder = directory / f"round{round_no}"
            folder.mkdir(exist_ok=True)
            systems = {name: makers[name](folder) for name in order}
            timed = interleaved(systems, args.commands, args.block)
            rows = []
            for name in names:
                samples, total = timed[name]
                result = systems[name].finish(args.commands)
                result.update(samples=samples, total=total)
                results[name].append(result)
                rows.append(latency_row(name, Latency.of(samples), total))
            print_table(LATENCY_HEADERS, rows)

    section("durability")
    for name in names:
        print(f"{name:<28} {results[name][0]['sync']}")
    checks = all(r["ok"] for runs in results.values() for r in runs)
    print(f"balances after the run as expected: {'yes' if checks else 'NO'}")

    section(f"all rounds ({args.rounds} x {args.commands} deposits; rate = median of rounds)")
    rates: dict[str, float] = {}
    pooled: dict[str, Latency] = {}
    rows = []
    for name in names:
        runs = results[name]
        rates[name] = median([len(r["samples"]) / r["total"] for r in runs])
        pooled[name] = Latency.of([s for r in runs for s in r["samples"]])
        lat = pooled[name]
        rows.append(
            [
                name,
                str(lat.count),
                f"{rates[name]:,.0f}/s",
                *(ms(v) for v in (lat.mean, lat.p50, lat.p90, lat.p99, lat.max)),
            ]
        )
    print_table(LATENCY_HEADERS, rows)

    section("commits and fsyncs per command")
    fsyncs = {}
    if not args.no_fsync_count:
        fsyncs = {
            name: fsyncs_per_command(args, kind)
            for name, kind in ((OURS, "ours"), (KEYED, "keyed"), (RAW, "raw"))
        }
    for name in (OURS, KEYED, RAW):
        commits = median([r["commits"] for r in results[name]])
        counted = fsyncs.get(name)
        shown = "not counted (strace missing)" if counted is None else f"{counted:.2f}"
        if args.no_fsync_count:
            shown = "not counted (--no-fsync-count)"
        print(f"{name:<12} commits/command {commits:.2f}   fsyncs/command {shown}")
    print()
    ours, es, raw = rates[OURS], rates["eventsourcing"], rates[RAW]
    share = ours / raw
    print(f"ours / raw durable commit limit: {share:.0%} (keyed: {rates[KEYED] / raw:.0%})")
    sql_ms, ours_ms = pooled[OUR_SQL].mean * 1000, pooled[OURS].mean * 1000
    print(
        f"our SQL alone / raw: {rates[OUR_SQL] / raw:.0%}; a deposit's mean {ours_ms:.3f} ms = "
        f"{sql_ms:.3f} ms of our SQL + {ours_ms - sql_ms:.3f} ms of the application"
    )
    target_line(f"ours >= 85% of the raw durable commit limit ({share:.0%})", share >= 0.85)
    ratio_line("commands/s", ours, es, "higher")
    ratio_line("p99 latency", pooled[OURS].p99, pooled["eventsourcing"].p99, "lower")
    if args.es_cache > 0:
        cached = f"eventsourcing cache={args.es_cache}"
        ratio_line("commands/s", ours, rates[cached], "higher", f"cache={args.es_cache}")
    target_line(f"ours >= 2x eventsourcing defaults ({ours / es:.2f}x)", ours >= 2 * es)
    target_line(f"ours p99 <= 1 ms ({ms(pooled[OURS].p99)})", pooled[OURS].p99 <= 0.001)


if __name__ == "__main__":
    main()
