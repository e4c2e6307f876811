"""Projection rebuild from zero over M events: ours vs eventsourcing, events per second.

Fixtures (cached under bench/.data/, keyed by size and seed; ``--fresh`` rebuilds them):
- ours: ``fill_demo_data(store, events=M, accounts=A, seed=S)``: accounts, deposits,
  withdrawals, transfers (five events over three streams each) and a few closures.
- eventsourcing: M events of ``BankAccount`` aggregates (opened / deposited / withdrawn / a
  few closed) for A accounts, written 10,000 per transaction through ``app.events.put``.

Both files are read once before timing so both start from a warm OS page cache.

- ours: ``catch_up(ReadModel(), store)`` from zero (balances + transfers projections), then
  a breakdown without a profiler: one more catch_up through a proxy store that adds up the
  time spent inside the store's reads (``read_for_fold``: SQL + decoding the folded fields,
  or ``read_all`` for a store without it) vs the rest (the fold), and a bare SQL scan of
  the table as a floor.
- eventsourcing: a fold of every event in global order into a dict of balances, through
  ``app.recorder.select_notifications`` pages + ``app.mapper.to_domain_event`` -- the
  library's own way to read an application's sequence (its SQLite recorder cannot
  ``subscribe``, so ``ProjectionRunner`` does not run on SQLite in 9.5). It keeps less than
  ours (a balance and a closed flag, no customer/timestamps/revisions, no transfers).

``--profile`` adds a cProfile of our catch_up (top functions by own and cumulative time);
``--gc-diagnostic`` one more catch_up with the cyclic GC disabled, to show what GC costs.
"""

from __future__ import annotations

import cProfile
import gc
import inspect
import io
import pstats
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from _common import (
    Stopwatch,
    apply_quick,
    demo_fixture,
    es_fixture,
    median,
    ours_synchronous,
    parser,
    print_header,
    print_table,
    ratio_line,
    secs,
    section,
    target_line,
)


def warm_file(path: Path) -> None:
    """Read the file (and its WAL, if any) so the page cache holds it for every contender."""
    for suffix in ("", "-wal"):
        name = Path(f"{path}{suffix}")
        if name.exists():
            with name.open("rb") as handle:
                while handle.read(1 << 20):
                    pass


class TimedReads:
    """Delegates to a store and adds up the time spent inside its reads (``read_for_fold``,
    which catch_up uses where the store offers it, and ``read_all``), so one catch_up run
    shows where its time went without a profiler's overhead."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self.seconds = 0.0
        self.calls = 0
        self.events = 0

    def read_all(self, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            events = self._store.read_all(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - started
            self.calls += 1
        self.events += len(events)
        return events

    def read_for_fold(self, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            page = self._store.read_for_fold(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - started
            self.calls += 1
        self.events += len(page.rows)
        return page

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def catch_up_default_batch() -> int:
    from bank_desktop.application.projections import catch_up

    default = inspect.signature(catch_up).parameters["batch_size"].default
    return int(default) if isinstance(default, int) else 2000


def ours_passes(
    path: Path, given_batch: int | None, batch: int, repeat: int, gc_diagnostic: bool
) -> dict[str, Any]:
    """Timed catch_up runs (with catch_up's own batch size unless ``given_batch``)."""
    from bank_desktop.application.projections import ReadModel, catch_up
    from bank_desktop.eventstore import open_store

    kw = {} if given_batch is None else {"batch_size": given_batch}
    store = open_store(f"sqlite:///{path}")
    try:
        conn = store._connection()  # private: only to time a bare SQL scan as a floor
        sql = (
            "SELECT global_position, stream_id, stream_position, event_id, type, data, "
            "created_at FROM events WHERE global_position > ? "
            "ORDER BY global_position LIMIT ?"
        )
        with Stopwatch() as fetch:
            after = rows = 0
            while True:
                page = conn.execute(sql, (after, batch)).fetchall()
                if not page:
                    break
                rows += len(page)
                after = page[-1][0]
        totals = []
        model = None
        count = 0
        for _ in range(repeat):
            model = ReadModel()
            with Stopwatch() as sw:
                count = catch_up(model, store, **kw)
            totals.append(sw.seconds)
        assert model is not None
        gc_off = None
        if gc_diagnostic:
            gc.collect()
            gc.disable()
            try:
                with Stopwatch() as sw:
                    catch_up(ReadModel(), store, **kw)
            finally:
                gc.enable()
            gc_off = sw.seconds
        # The breakdown run: the same catch_up through a proxy that times read_all.
        timed = TimedReads(store)
        with Stopwatch() as proxied:
            catch_up(ReadModel(), timed, **kw)  # type: ignore[arg-type]
        return {
            "sync": ours_synchronous(store),
            "fetch": fetch.seconds,
            "fetch_rows": rows,
            "read": timed.seconds,
            "read_calls": timed.calls,
            "proxied_total": proxied.seconds,
            "gc_off": gc_off,
            "totals": totals,
            "count": count,
            "accounts": len(model.balances),
            "closed": sum(1 for row in model.balances if not row.is_open),
            "total_balance": model.balances.total(),
            "transfers": len(model.transfers),
            "skipped": model.skipped_events,
        }
    finally:
        store.close()


def profile_ours(path: Path, given_batch: int | None, top: int) -> None:
    from bank_desktop.application.projections import ReadModel, catch_up
    from bank_desktop.eventstore import open_store

    store = open_store(f"sqlite:///{path}")
    try:
        profiler = cProfile.Profile()
        model = ReadModel()
        profiler.enable()
        catch_up(model, store, **({} if given_batch is None else {"batch_size": given_batch}))
        profiler.disable()
    finally:
        store.close()
    for key in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(key).print_stats(top)
        text = out.getvalue()
        start = text.find("   ncalls")
        print(f"-- cProfile of catch_up, top {top} by {key} (profiling slows everything down)")
        print(text[start:].rstrip() if start >= 0 else text.rstrip())
        print()


def es_passes(path: Path, batch: int, repeat: int) -> dict[str, Any]:
    from _es_bank import fold_balances, open_bank

    app, sync = open_bank(path)
    try:
        with Stopwatch() as fetch:
            after = rows = 0
            while True:
                page = app.recorder.select_notifications(
                    start=after, limit=batch, inclusive_of_start=False
                )
                if not page:
                    break
                rows += len(page)
                after = page[-1].id
        totals = []
        balances: dict[Any, Decimal] = {}
        closed: set[Any] = set()
        count = 0
        for _ in range(repeat):
            balances, closed = {}, set()
            with Stopwatch() as sw:
                count, _ = fold_balances(app, balances, closed, limit=batch)
            totals.append(sw.seconds)
        return {
            "sync": sync,
            "fetch": fetch.seconds,
            "fetch_rows": rows,
            "totals": totals,
            "count": count,
            "accounts": len(balances),
            "closed": len(closed),
            "total_balance": sum(balances.values(), Decimal("0.00")),
        }
    finally:
        app.close()


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=1_000_000, help="events in each store (M)")
    p.add_argument("--accounts", type=int, default=100_000, help="accounts in each store")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument(
        "--batch",
        type=int,
        default=None,
        help="events per read for both (default: catch_up's own batch_size default)",
    )
    p.add_argument("--repeat", type=int, default=1, help="timed rebuilds per system (median)")
    p.add_argument("--fresh", action="store_true", help="rebuild the cached fixtures")
    p.add_argument("--profile", action="store_true", help="cProfile our catch_up too")
    p.add_argument("--profile-top", type=int, default=25)
    p.add_argument(
        "--gc-diagnostic",
        action="store_true",
        help="also time our catch_up with gc disabled (how much the cyclic GC costs)",
    )
    args = p.parse_args()
    apply_quick(args, p, events=20_000, accounts=2_000)
    print_header("rebuild: projection rebuild from zero", args)

    section("fixtures")
    ours_path, ours_info = demo_fixture(args.events, args.accounts, args.seed, fresh=args.fresh)
    es_path, es_info = es_fixture(args.events, args.accounts, args.seed, fresh=args.fresh)
    warm_file(ours_path)
    warm_file(es_path)

    section("ours: catch_up(ReadModel(), store)")
    batch = args.batch or catch_up_default_batch()
    print(f"batch: {batch} events per read for both sides")
    ours = ours_passes(ours_path, args.batch, batch, args.repeat, args.gc_diagnostic)
    ours_total = median(ours["totals"])
    ours_rate = ours["count"] / ours_total
    print(
        f"read model: {ours['accounts']:,} accounts ({ours['closed']:,} closed), "
        f"{ours['transfers']:,} transfers, total balance {ours['total_balance']}, "
        f"{ours['skipped']} skipped events"
    )
    n = ours["count"]
    fetch, read, whole = ours["fetch"], ours["read"], ours["proxied_total"]
    print(
        f"breakdown run (catch_up through a proxy timing the store's reads; "
        f"{ours['read_calls']} calls):"
    )
    print_table(
        ("part", "seconds", "share", "events/s"),
        [
            [
                "inside the store's reads (SQL + decoding)",
                secs(read),
                f"{read / whole:.0%}",
                f"{n / read:,.0f}",
            ],
            [
                "outside them (the fold)",
                secs(whole - read),
                f"{(whole - read) / whole:.0%}",
                "",
            ],
            ["catch_up total (breakdown run)", secs(whole), "100%", f"{n / whole:,.0f}"],
            [
                "reference: bare SQL scan (7 columns, no metadata)",
                secs(fetch),
                f"{fetch / whole:.0%}",
                f"{ours['fetch_rows'] / fetch:,.0f}",
            ],
        ],
    )
    print(f"timed catch_up (plain store): {secs(ours_total)} = {ours_rate:,.0f} events/s")
    if ours["gc_off"] is not None:
        off = ours["gc_off"]
        print(
            f"diagnostic, catch_up with the cyclic GC disabled: {secs(off)} = "
            f"{n / off:,.0f} events/s (GC share of the timed run ~{1 - off / ours_total:.0%})"
        )
    if len(ours["totals"]) > 1:
        print(f"catch_up runs: {', '.join(secs(t) for t in ours['totals'])}")

    section("eventsourcing: select_notifications + mapper.to_domain_event fold")
    es = es_passes(es_path, batch, args.repeat)
    es_total = median(es["totals"])
    es_rate = es["count"] / es_total
    print(
        f"balances: {es['accounts']:,} accounts ({es['closed']:,} closed), total balance "
        f"{es['total_balance']} (fixture says {es_info.get('total_balance')})"
    )
    print_table(
        ("part (separate passes)", "seconds", "share", "events/s"),
        [
            [
                "select_notifications alone",
                secs(es["fetch"]),
                f"{es['fetch'] / es_total:.0%}",
                f"{es['count'] / es['fetch']:,.0f}",
            ],
            ["fold total", secs(es_total), "100%", f"{es_rate:,.0f}"],
        ],
    )
    if len(es["totals"]) > 1:
        print(f"fold runs: {', '.join(secs(t) for t in es['totals'])}")

    section("durability (settings of the connections used; reads only here)")
    print(f"{'ours':<16}{ours['sync']}")
    print(f"{'eventsourcing':<16}{es['sync']}")

    section("summary")
    print_table(
        ("system", "events", "seconds", "events/s"),
        [
            ["ours (catch_up)", f"{ours['count']:,}", secs(ours_total), f"{ours_rate:,.0f}"],
            ["eventsourcing (fold)", f"{es['count']:,}", secs(es_total), f"{es_rate:,.0f}"],
        ],
    )
    print()
    ratio_line("rebuild events/s", ours_rate, es_rate, "higher")
    target_line(f"ours >= 2x eventsourcing ({ours_rate / es_rate:.2f}x)", ours_rate >= 2 * es_rate)
    target_line(  # issue 16's
        f"ours >= 3.5x eventsourcing ({ours_rate / es_rate:.2f}x)", ours_rate >= 3.5 * es_rate
    )
    budget = 4.0 * ours["count"] / 1_000_000
    target_line(
        f"ours rebuild <= 4 s per 1M events ({secs(ours_total)} for {ours['count']:,}; "
        f"limit {budget:.2f} s)",
        ours_total <= budget,
    )
    if ours_info.get("events") != es_info.get("events"):
        counts = f"ours {ours_info.get('events')}, eventsourcing {es_info.get('events')}"
        print(f"note: event counts differ ({counts})")

    if args.profile:
        section("profile")
        profile_ours(ours_path, args.batch, args.profile_top)


if __name__ == "__main__":
    main()
