"""Durable commands per second and per-command latency on SQLite, ours vs eventsourcing.

Each round makes fresh databases, opens ``--accounts`` accounts, warms up with
``--warmup`` deposits per account, then times ``--commands`` sequential deposits of 1.00
round-robin over the accounts; each deposit is one committed, fsynced transaction.

- ours: ``BankService.deposit`` on ``open_store("sqlite:///...")`` (WAL, synchronous=FULL).
- eventsourcing: ``Bank.deposit`` = ``repository.get`` + ``BankAccount.deposit`` + ``save``
  on ``PERSISTENCE_MODULE=eventsourcing.sqlite`` with synchronous forced to FULL; run with
  the library's defaults (no aggregate cache: every command replays the account's events)
  and, as a second row, with ``AGGREGATE_CACHE_MAXSIZE`` set (its cache + fast-forward).

Rounds alternate which system goes first. Figures only: nothing here asserts a timing.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from _common import (
    LATENCY_HEADERS,
    Latency,
    apply_quick,
    latency_row,
    median,
    ms,
    ours_synchronous,
    parser,
    print_header,
    print_table,
    ratio_line,
    scratch_dir,
    section,
    target_line,
    time_each,
)


def run_ours(path: Path, accounts: int, warmup: int, commands: int) -> dict[str, Any]:
    from bank_desktop.application import BankService
    from bank_desktop.eventstore import open_store

    store = open_store(f"sqlite:///{path}")
    try:
        bank = BankService(store, clerk_id="bench")
        ids = [bank.open_account(f"cust-{i}", "100.00") for i in range(accounts)]
        for _ in range(warmup):
            for account in ids:
                bank.deposit(account, "1.00")
        samples, total = time_each(lambda i: bank.deposit(ids[i % accounts], "1.00"), commands)
        expected = Decimal("100.00") + warmup + commands // accounts
        ok = bank.get_account(ids[-1]).balance == expected
        return {"samples": samples, "total": total, "sync": ours_synchronous(store), "ok": ok}
    finally:
        store.close()


def run_es(
    path: Path, accounts: int, warmup: int, commands: int, cache: int | None
) -> dict[str, Any]:
    from _es_bank import open_bank

    extra = {"AGGREGATE_CACHE_MAXSIZE": str(cache)} if cache else {}
    app, sync = open_bank(path, **extra)
    try:
        one = Decimal("1.00")
        ids = [app.open_account(f"cust-{i}", Decimal("100.00")) for i in range(accounts)]
        for _ in range(warmup):
            for account in ids:
                app.deposit(account, one)
        samples, total = time_each(lambda i: app.deposit(ids[i % accounts], one), commands)
        expected = Decimal("100.00") + warmup + commands // accounts
        ok = app.balance(ids[-1]) == expected
        return {"samples": samples, "total": total, "sync": sync, "ok": ok}
    finally:
        app.close()


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
    p.add_argument("--keep", action="store_true", help="keep the databases")
    args = p.parse_args()
    apply_quick(args, p, commands=300, accounts=20, rounds=1)
    print_header("commands: durable deposits on SQLite", args)

    systems: list[tuple[str, Any]] = [
        ("ours", lambda d: run_ours(d / "ours.db", args.accounts, args.warmup, args.commands)),
        (
            "eventsourcing",
            lambda d: run_es(d / "es.db", args.accounts, args.warmup, args.commands, None),
        ),
    ]
    if args.es_cache > 0:
        systems.append(
            (
                f"eventsourcing cache={args.es_cache}",
                lambda d: run_es(
                    d / "es-cache.db", args.accounts, args.warmup, args.commands, args.es_cache
                ),
            )
        )

    results: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in systems}
    with scratch_dir("commands", keep=args.keep) as directory:
        for round_no in range(args.rounds):
            order = systems if round_no % 2 == 0 else systems[::-1]
            section(f"round {round_no + 1}/{args.rounds} (order: {', '.join(n for n, _ in order)})")
            rows = []
            for name, run in order:
                folder = directory / f"round{round_no}"
                folder.mkdir(exist_ok=True)
                result = run(folder)
                results[name].append(result)
                rows.append(latency_row(name, Latency.of(result["samples"]), result["total"]))
            print_table(LATENCY_HEADERS, rows)

    section("durability")
    for name, _ in systems:
        print(f"{name:<28} {results[name][0]['sync']}")
    checks = all(r["ok"] for runs in results.values() for r in runs)
    print(f"balances after the run as expected: {'yes' if checks else 'NO'}")

    section(f"all rounds ({args.rounds} x {args.commands} deposits; rate = median of rounds)")
    rates: dict[str, float] = {}
    pooled: dict[str, Latency] = {}
    rows = []
    for name, _ in systems:
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
    print()
    ours, es = rates["ours"], rates["eventsourcing"]
    ratio_line("commands/s", ours, es, "higher")
    ratio_line("p99 latency", pooled["ours"].p99, pooled["eventsourcing"].p99, "lower")
    if args.es_cache > 0:
        cached = f"eventsourcing cache={args.es_cache}"
        ratio_line("commands/s", ours, rates[cached], "higher", f"cache={args.es_cache}")
    target_line(f"ours >= 2x eventsourcing defaults ({ours / es:.2f}x)", ours >= 2 * es)
    target_line(f"ours p99 <= 1 ms ({ms(pooled['ours'].p99)})", pooled["ours"].p99 <= 0.001)


if __name__ == "__main__":
    main()
