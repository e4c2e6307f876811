"""Verification vs rebuild over M events: `bank-desktop verify`'s work against a projection rebuild.

The target (issue 15): verifying 1M events takes at most twice a rebuild of the read model from
zero. Both run on the same cached ``fill_demo_data`` store (hash-chained, as everything the
application writes), warm in the page cache, alternating rebuild and verify each round so a
change in the machine's load hits both:

- rebuild: ``catch_up(ReadModel(), store)`` (what a first start or ``accounts`` does);
- verify: ``auditing.run_verification``, exactly what ``bank-desktop verify`` runs (the store
  opened for verification, no snapshot to compare): every stored row read once, its digest
  computed as it is decoded (``eventstore.canonical.StoredReading``) and checked with its link
  and positions; the same rows as a rebuild folds them (``BulkFold`` over payloads of just
  the fields it reads) and the money fold from the same payloads, compared at the end; and
  SQLite's page check beside it. With the chains in another process, that process reads and
  hashes the rows while this one folds; the same work in one process is timed too.

Each run's CPU seconds are printed beside its wall time (this process and, for the chains in
other processes, theirs): on a machine shared with other work the wall time swings with the
load, the CPU time much less. A breakdown follows (one more pass, CPU microseconds per event,
not timed against the target): each stage of the verification pass on its own.
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import (
    Stopwatch,
    apply_quick,
    demo_fixture,
    median,
    parser,
    print_header,
    print_table,
    secs,
    section,
    target_line,
)


def warm_file(path: Path) -> None:
    for suffix in ("", "-wal"):
        name = Path(f"{path}{suffix}")
        if name.exists():
            with name.open("rb") as handle:
                while handle.read(1 << 20):
                    pass


def cpu_seconds() -> float:
    """CPU seconds of this process and of its children that ended (the chain processes)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def rebuild(path: Path) -> tuple[float, float, int]:
    from bank_desktop.application.projections import ReadModel, catch_up
    from bank_desktop.eventstore import open_store

    store = open_store(f"sqlite:///{path}")
    try:
        cpu = cpu_seconds()
        with Stopwatch() as sw:
            count = catch_up(ReadModel(), store)
        cpu = cpu_seconds() - cpu
    finally:
        store.close()
    return sw.seconds, cpu, count


def verify(path: Path, parallel: bool) -> tuple[float, float, Any]:
    """``bank-desktop verify``'s work (``auditing.run_verification``), with the chains checked
    in other processes or in this one."""
    from bank_desktop.auditing import run_verification

    with tempfile.TemporaryDirectory() as data:
        cpu = cpu_seconds()
        with Stopwatch() as sw:
            report = run_verification(f"sqlite:///{path}", Path(data), parallel=parallel)
        cpu = cpu_seconds() - cpu
    return sw.seconds, cpu, report


def breakdown(path: Path) -> list[list[str]]:
    """The verification pass's stages, each timed on its own (CPU time) over every page."""
    from bank_desktop.application.bulk import collector_paused
    from bank_desktop.application.chain import CHAIN_TAG, COVERED_METADATA, HASH_KEY, PREV_KEY
    from bank_desktop.application.projections import ReadModel, catch_up
    from bank_desktop.application.projections.bulk_fold import BulkFold
    from bank_desktop.application.verification.chain_pass import ChainVerifier, LinkedPage
    from bank_desktop.application.verification.findings import Findings
    from bank_desktop.application.verification.money import MoneyCheck
    from bank_desktop.auditing import DIGEST, VERIFICATION_FOLD_FIELDS
    from bank_desktop.eventstore import open_store_for_verification
    from bank_desktop.eventstore.canonical import StoredReading

    store = open_store_for_verification(f"sqlite:///{path}")
    spent: dict[str, float] = {}

    def timed(name: str, action: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.process_time()
        result = action(*args, **kwargs)
        spent[name] = spent.get(name, 0.0) + time.process_time() - started
        return result

    try:
        with collector_paused():  # as the verification pass runs
            reading = StoredReading(CHAIN_TAG, COVERED_METADATA, (PREV_KEY, HASH_KEY))
            chains, money, model = ChainVerifier(DIGEST), MoneyCheck(Findings()), ReadModel()
            fold = BulkFold(model, lambda at: store.read_all(after=at - 1, limit=1)[0])
            after = count = 0
            while rows := timed("read the stored rows", store.read_stored, after=after, limit=5000):
                links = timed("decode and hash (links)", reading.links, rows)
                page = LinkedPage(rows, links, lambda i, rows=rows: reading.event(rows[i]))
                timed("chain and position checks", chains.feed_linked, page)
                folded = timed(
                    "payloads for the folds", reading.fold_page, rows, VERIFICATION_FOLD_FIELDS
                )
                timed("money fold", money.fold_rows, folded.rows, folded.payloads, page.event_at)
                timed("read-model fold (BulkFold)", fold.fold, folded)
                after, count = rows[-1][0], count + len(rows)
            timed("file and guard check (quick_check)", store.self_check)
            timed("for comparison: rebuild (catch_up)", catch_up, ReadModel(), store)
    finally:
        store.close()
    return [
        [name, f"{seconds / max(count, 1) * 1e6:.2f}", secs(seconds)]
        for name, seconds in spent.items()
    ]


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=1_000_000, help="events in the store (M)")
    p.add_argument("--accounts", type=int, default=100_000, help="accounts in the store")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--rounds", type=int, default=1, help="rebuild+verify rounds (medians)")
    p.add_argument("--fresh", action="store_true", help="rebuild the cached fixture")
    p.add_argument("--no-breakdown", action="store_true", help="skip the breakdown")
    args = p.parse_args()
    apply_quick(args, p, events=20_000, accounts=2_000)
    print_header("verify: verification vs projection rebuild", args)

    section("fixture")
    path, info = demo_fixture(args.events, args.accounts, args.seed, fresh=args.fresh)
    warm_file(path)

    from bank_desktop.auditing import PARALLEL_FROM, chain_processes, idle_cores

    parts = chain_processes()
    parallel = parts >= 1 and info["events"] >= PARALLEL_FROM
    print(
        f"bank-desktop verify checks the chains of this store in "
        f"{f'{parts} other process(es)' if parallel else 'its own process'} "
        f"({os.cpu_count()} CPUs, {idle_cores(os.cpu_count() or 1):.1f} idle now, "
        f"load {os.getloadavg()[0]:.1f}: other processes only on cores idle now)"
    )
    section("rounds (rebuild, verify in one process, verify with the chains in other processes)")
    rebuilds: list[float] = []
    singles: list[float] = []
    others: list[float] = []
    cpu: dict[str, list[float]] = {"rebuild": [], "single": [], "other": []}
    report: Any = None
    for round_number in range(1, args.rounds + 1):
        seconds, cpu_rebuild, count = rebuild(path)
        rebuilds.append(seconds)
        seconds_single, cpu_single, report = verify(path, False)
        singles.append(seconds_single)
        seconds_other, cpu_other, _ = verify(path, True)
        others.append(seconds_other)
        for name, value in (("rebuild", cpu_rebuild), ("single", cpu_single), ("other", cpu_other)):
            cpu[name].append(value)
        print(
            f"round {round_number}: rebuild {secs(seconds)} ({count:,} events), "
            f"verify {secs(seconds_single)} in one process ({report.events:,} events, "
            f"{report.problems} problems), {secs(seconds_other)} with the chains in "
            f"{max(1, parts)} other process(es); load {os.getloadavg()[0]:.1f}"
        )
    rebuild_s, single_s, other_s = median(rebuilds), median(singles), median(others)
    verify_s = other_s if parallel else single_s
    assert report is not None
    print()
    cpu_rebuild = median(cpu["rebuild"])
    print_table(
        ["what", "seconds", "events/s", "x rebuild", "CPU s (all processes)", "CPU x rebuild"],
        [
            [
                name,
                secs(value),
                f"{info['events'] / value:,.0f}",
                f"{value / rebuild_s:.2f}",
                f"{median(cpu[key]):.2f}",
                f"{median(cpu[key]) / cpu_rebuild:.2f}",
            ]
            for name, key, value in (
                ("rebuild (catch_up)", "rebuild", rebuild_s),
                ("verify in one process", "single", single_s),
                ("verify, chains in other processes", "other", other_s),
            )
        ],
    )
    print(
        f"ratio (verify / rebuild): {verify_s / rebuild_s:.2f}x  [as bank-desktop verify runs "
        f"here now: {'chains in other processes' if parallel else 'one process'}]"
    )
    for line in report.summary():
        print(f"  {line}")
    target_line(
        f"verify {info['events']:,} events in <= 2x the rebuild time", verify_s <= 2 * rebuild_s
    )
    if not args.no_breakdown:
        section("breakdown: the verification pass stage by stage (CPU, one pass)")
        print_table(["stage", "us/event", "CPU seconds"], breakdown(path))


if __name__ == "__main__":
    main()
