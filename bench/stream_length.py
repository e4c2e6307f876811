"""Does a deposit get slower as the account's stream grows? 10 events vs 100,000 events.

Setup per system (fresh databases): ``--short-accounts`` accounts of 10 events each, and one
account of ``--long`` events. Ours: the short ones through ``BankService``; the long one is
opened through ``BankService`` and filled with deposits appended in batches of 10,000
through ``store.append`` -- each event decided by the real account decider, encoded by the
same codec and carrying the same metadata (command id, request hash, clerk) a
``BankService.deposit`` writes. eventsourcing: ``BankAccount`` aggregates saved in batches.

Then, on a fresh service/application (cold caches):
- cold load: the first deposit on an account, which reads its whole stream once (ours: into
  the command handler's cache; eventsourcing defaults: every deposit does this).
- warm series: ``--deposits`` deposits on the short accounts (round-robin) and as many on the
  long account; p50/p99. Series slower than ``--budget`` seconds stop early (n is printed).

eventsourcing runs twice: with its defaults (no snapshots, no cache) and with automatic
snapshots every 100 versions (``snapshotting_intervals``), after ``app.take_snapshot`` of
the long account so its first command starts from a snapshot.
"""

from __future__ import annotations

import shutil
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from _common import (
    LATENCY_HEADERS,
    Latency,
    Stopwatch,
    apply_quick,
    latency_row,
    median,
    ms,
    ours_synchronous,
    parser,
    print_header,
    print_table,
    ratio,
    ratio_line,
    remove_db,
    scratch_dir,
    section,
    target_line,
    time_budgeted,
)

SHORT_EVENTS = 10


def fill_long_stream_ours(store: Any, account_id: str, count: int, batch: int = 10_000) -> None:
    """Append deposits to ``account_id`` until it holds ``count`` events, as BankService
    would write them (decided, encoded, with its metadata), ``batch`` events per append."""
    from bank_desktop import __version__
    from bank_desktop.application.appending import ChainedAppender
    from bank_desktop.application.clock import wire_precision
    from bank_desktop.application.fingerprints import command_fingerprint
    from bank_desktop.application.stream_kinds import ACCOUNTS
    from bank_desktop.domain import accounts
    from bank_desktop.eventstore import NewEvent

    appender = ChainedAppender(store)  # linked into the hash chain, as every append is
    state = ACCOUNTS.initial_state()
    for recorded in store.read_stream(account_id):
        event = ACCOUNTS.decode(recorded)
        if event is not None:
            state = ACCOUNTS.evolve(state, event)
    position = store.stream_position(account_id)
    amount = Decimal("1.00")
    while position < count:
        events = []
        for _ in range(min(batch, count - position)):
            command_id = str(uuid.uuid4())
            at = wire_precision(datetime.now(UTC))
            command = accounts.DepositMoney(account_id, amount, "Bulk deposit", at)
            metadata = {
                "clerkId": "bench",
                "correlationId": command_id,
                "causationId": command_id,
                "appVersion": __version__,
                "commandId": command_id,
                "requestHash": command_fingerprint(command),
            }
            for event in ACCOUNTS.decide(command, state):
                state = ACCOUNTS.evolve(state, event)
                events.append(NewEvent(*ACCOUNTS.encode(event), metadata))
        result = appender.append(account_id, events, position)
        position = result.stream_position


def run_ours(directory: Path, args: Any) -> dict[str, Any]:
    from bank_desktop.application import BankService
    from bank_desktop.eventstore import open_store

    store = open_store(f"sqlite:///{directory / 'ours.db'}")
    try:
        setup = BankService(store, clerk_id="bench")
        with Stopwatch() as build:
            shorts = [setup.open_account(f"cust-{i}", "100.00") for i in range(args.short_accounts)]
            for _ in range(SHORT_EVENTS - 1):
                for account in shorts:
                    setup.deposit(account, "1.00")
            long_id = setup.open_account("cust-long", "100.00")
            fill_long_stream_ours(store, long_id, args.long)
        long_events = store.stream_position(long_id)

        # Cold loads: a new service per long-stream load; one service for the short ones.
        cold_long = []
        for _ in range(args.cold_repeats):
            fresh = BankService(store, clerk_id="bench")
            with Stopwatch() as sw:
                fresh.deposit(long_id, "1.00")
            cold_long.append(sw.seconds)
        bank = BankService(store, clerk_id="bench")
        cold_short = []
        for account in shorts:
            with Stopwatch() as sw:
                bank.deposit(account, "1.00")
            cold_short.append(sw.seconds)
        bank.deposit(long_id, "1.00")  # warm-up: the long stream is now in this cache

        n = args.deposits
        short_s, short_t = time_budgeted(
            lambda i: bank.deposit(shorts[i % len(shorts)], "1.00"), n, args.budget
        )
        long_s, long_t = time_budgeted(lambda i: bank.deposit(long_id, "1.00"), n, args.budget)
        return {
            "sync": ours_synchronous(store),
            "build": build.seconds,
            "long_events": long_events,
            "cold_long": cold_long,
            "cold_short": cold_short,
            "short": (short_s, short_t),
            "long": (long_s, long_t),
        }
    finally:
        store.close()


def build_es(path: Path, args: Any) -> tuple[list[Any], Any, int, float]:
    from _es_bank import BankAccount, open_bank

    app, _ = open_bank(path)
    try:
        with Stopwatch() as build:
            one = Decimal("1.00")
            accounts = []
            for i in range(args.short_accounts):
                account = BankAccount.open(f"cust-{i}", Decimal("100.00"))
                for _ in range(SHORT_EVENTS - 1):
                    account.deposit(one)
                accounts.append(account)
            app.save(*accounts)
            long_account = BankAccount.open("cust-long", Decimal("100.00"))
            while long_account.version < args.long:
                for _ in range(min(5_000, args.long - long_account.version)):
                    long_account.deposit(one)
                app.save(long_account)
        return [a.id for a in accounts], long_account.id, long_account.version, build.seconds
    finally:
        app.close()


def run_es(path: Path, args: Any, shorts: list[Any], long_id: Any, snapshots: bool) -> dict:
    from _es_bank import Bank, SnapshottingBank, open_bank

    cls = SnapshottingBank if snapshots else Bank
    one = Decimal("1.00")
    if snapshots:
        app, _ = open_bank(path, cls)
        with Stopwatch() as snap:
            app.take_snapshot(long_id)
            for account in shorts:
                app.take_snapshot(account)
        app.close()
    cold_long = []
    for _ in range(args.cold_repeats):
        app, sync = open_bank(path, cls)
        with Stopwatch() as sw:
            app.deposit(long_id, one)
        cold_long.append(sw.seconds)
        app.close()
    app, sync = open_bank(path, cls)
    try:
        cold_short = []
        for account in shorts:
            with Stopwatch() as sw:
                app.deposit(account, one)
            cold_short.append(sw.seconds)
        n = args.deposits
        short_s, short_t = time_budgeted(
            lambda i: app.deposit(shorts[i % len(shorts)], one), n, args.budget
        )
        long_s, long_t = time_budgeted(lambda i: app.deposit(long_id, one), n, args.budget)
    finally:
        app.close()
    return {
        "sync": sync,
        "cold_long": cold_long,
        "cold_short": cold_short,
        "short": (short_s, short_t),
        "long": (long_s, long_t),
        "snapshot_seconds": snap.seconds if snapshots else None,
    }


def report(name: str, result: dict[str, Any], long_label: str) -> tuple[Latency, Latency]:
    short = Latency.of(result["short"][0])
    long_ = Latency.of(result["long"][0])
    print_table(
        LATENCY_HEADERS,
        [
            latency_row(f"{name}: {SHORT_EVENTS}-event streams", short, result["short"][1]),
            latency_row(f"{name}: {long_label}-event stream", long_, result["long"][1]),
        ],
    )
    print(
        f"cold load (first deposit on a cold cache): {long_label} events "
        f"median {ms(median(result['cold_long']))} of {len(result['cold_long'])}; "
        f"{SHORT_EVENTS} events median {ms(median(result['cold_short']))} "
        f"of {len(result['cold_short'])}"
    )
    print(
        f"ratio (long / short) {name}: p50 {ratio(long_.p50, short.p50):.2f}x, "
        f"p99 {ratio(long_.p99, short.p99):.2f}x"
    )
    return short, long_


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--long", type=int, default=100_000, help="events in the long stream")
    p.add_argument("--short-accounts", type=int, default=100, help="accounts of 10 events")
    p.add_argument("--deposits", type=int, default=2_000, help="timed deposits per series")
    p.add_argument("--budget", type=float, default=20.0, help="seconds before a series stops")
    p.add_argument("--cold-repeats", type=int, default=3, help="cold loads of the long stream")
    p.add_argument("--keep", action="store_true", help="keep the databases")
    args = p.parse_args()
    apply_quick(args, p, long=5_000, short_accounts=10, deposits=200, budget=3.0)
    print_header("stream_length: deposit latency vs stream length", args)
    label = f"{args.long:,}"

    with scratch_dir("stream-length", keep=args.keep) as directory:
        section("ours")
        ours = run_ours(directory, args)
        print(
            f"setup: {ours['long_events']:,}-event stream + {args.short_accounts} short ones "
            f"in {ours['build']:.1f} s"
        )
        ours_short, ours_long = report("ours", ours, label)

        section("eventsourcing: building")
        es_path = directory / "es.db"
        shorts, long_id, version, seconds = build_es(es_path, args)
        print(f"setup: {version:,}-event aggregate + {len(shorts)} short ones in {seconds:.1f} s")
        snap_path = directory / "es-snapshots.db"
        remove_db(snap_path)
        shutil.copyfile(es_path, snap_path)  # closed cleanly: no -wal left to copy

        section("eventsourcing defaults (no snapshots, no aggregate cache)")
        es = run_es(es_path, args, shorts, long_id, snapshots=False)
        es_short, es_long = report("eventsourcing", es, label)

        section("eventsourcing with snapshotting_intervals = {BankAccount: 100}")
        snap = run_es(snap_path, args, shorts, long_id, snapshots=True)
        print(f"app.take_snapshot of every account first: {snap['snapshot_seconds']:.2f} s")
        sn_short, sn_long = report("eventsourcing+snapshots", snap, label)

    section("durability")
    print(f"{'ours':<26}{ours['sync']}")
    print(f"{'eventsourcing':<26}{es['sync']}")
    print(f"{'eventsourcing+snapshots':<26}{snap['sync']}")

    section("summary")
    print_table(
        ("system", f"p50 {SHORT_EVENTS}", f"p50 {label}", "p50 ratio", "p99 ratio", "cold load"),
        [
            [
                name,
                ms(short.p50),
                ms(long_.p50),
                f"{ratio(long_.p50, short.p50):.2f}x",
                f"{ratio(long_.p99, short.p99):.2f}x",
                ms(median(result["cold_long"])),
            ]
            for name, short, long_, result in (
                ("ours", ours_short, ours_long, ours),
                ("eventsourcing", es_short, es_long, es),
                ("eventsourcing+snapshots", sn_short, sn_long, snap),
            )
        ],
    )
    print()
    ratio_line(f"p50 deposit on the {label}-event stream", ours_long.p50, es_long.p50, "lower")
    ratio_line(
        f"p50 deposit on the {label}-event stream",
        ours_long.p50,
        sn_long.p50,
        "lower",
        "+snapshots",
    )
    ratio_line(
        f"p99 deposit on the {label}-event stream",
        ours_long.p99,
        sn_long.p99,
        "lower",
        "+snapshots",
    )
    ratio_line(
        f"cold load of the {label}-event stream",
        median(ours["cold_long"]),
        median(es["cold_long"]),
        "lower",
    )
    ratio_line(
        f"cold load of the {label}-event stream",
        median(ours["cold_long"]),
        median(snap["cold_long"]),
        "lower",
        "+snapshots",
    )
    worst = max(ratio(ours_long.p50, ours_short.p50), ratio(ours_long.p99, ours_short.p99))
    target_line(
        f"ours {label}/10 latency ratio <= 1.5x (p50 and p99; worst {worst:.2f}x)", worst <= 1.5
    )


if __name__ == "__main__":
    main()
