"""Verification vs rebuild over M events: `bank-desktop verify`'s work against a projection rebuild.

The target (issue 15): verifying 1M events takes at most twice a rebuild of the read model from
zero. Both run on the same cached ``fill_demo_data`` store (hash-chained, as everything the
application writes), warm in the page cache, alternating rebuild and verify each round so a
change in the machine's load hits both:

- rebuild: ``catch_up(ReadModel(), store)`` (what a first start or ``accounts`` does);
- verify: ``auditing.run_verification``, exactly what ``bank-desktop verify`` runs (the store
  opened for verification, the msgspec chain digest, no snapshot to compare): every event's
  hash and link, positions, the same read-model fold, the money fold and its comparison. On a
  store this size with two CPUs or more the chains are checked in other processes while this
  one folds the read model; the same work in one process is timed too, for comparison.

A breakdown follows (one more run each, not timed against the target): reading every event with
its metadata decoded, the chain digests alone, and ``PRAGMA quick_check`` (the file check
verify adds on SQLite).
"""

from __future__ import annotations

import os
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


def rebuild(path: Path) -> tuple[float, int]:
    from bank_desktop.application.projections import ReadModel, catch_up
    from bank_desktop.eventstore import open_store

    store = open_store(f"sqlite:///{path}")
    try:
        with Stopwatch() as sw:
            count = catch_up(ReadModel(), store)
    finally:
        store.close()
    return sw.seconds, count


def verify(path: Path, parallel: bool) -> tuple[float, Any]:
    """``bank-desktop verify``'s work (``auditing.run_verification``), with the chains checked
    in other processes or in this one."""
    from bank_desktop.auditing import run_verification

    with tempfile.TemporaryDirectory() as data, Stopwatch() as sw:
        report = run_verification(f"sqlite:///{path}", Path(data), parallel=parallel)
    return sw.seconds, report


def breakdown(path: Path) -> list[list[str]]:
    from bank_desktop.application.chain import event_digest
    from bank_desktop.auditing import DIGEST
    from bank_desktop.eventstore import open_store_for_verification

    store = open_store_for_verification(f"sqlite:///{path}")
    rows = []
    try:
        events = []
        with Stopwatch() as read:
            after = 0
            while page := store.read_all(after=after, limit=5000):
                for event in page:
                    _ = event.metadata
                events.extend(page)
                after = page[-1].global_position
        rows.append(["read every event, metadata decoded", secs(read.seconds)])
        for name, digest in (("msgspec", DIGEST), ("reference", event_digest)):
            sample = events if name == "msgspec" else events[: len(events) // 10]
            started = time.perf_counter()
            for e in sample:
                digest(
                    "0" * 64, e.stream_id, e.stream_position, e.event_id, e.type, e.data, e.metadata
                )
            seconds = (time.perf_counter() - started) * len(events) / len(sample)
            rows.append(
                [
                    f"chain digests ({name}{', a tenth, scaled' if sample is not events else ''})",
                    secs(seconds),
                ]
            )
        with Stopwatch() as check:
            store.self_check()
        rows.append(["file and guard check (quick_check)", secs(check.seconds)])
    finally:
        store.close()
    return rows


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

    from bank_desktop.auditing import PARALLEL_FROM, chain_processes

    parts = chain_processes()
    parallel = parts >= 1 and info["events"] >= PARALLEL_FROM
    print(
        f"bank-desktop verify checks the chains of this store in "
        f"{f'{parts} other process(es)' if parallel else 'its own process'} "
        f"({os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}: "
        "other processes only when cores are idle)"
    )
    section("rounds (rebuild, verify in one process, verify with the chains in other processes)")
    rebuilds: list[float] = []
    singles: list[float] = []
    others: list[float] = []
    report: Any = None
    for round_number in range(1, args.rounds + 1):
        seconds, count = rebuild(path)
        rebuilds.append(seconds)
        seconds_single, report = verify(path, False)
        singles.append(seconds_single)
        seconds_other, _ = verify(path, True)
        others.append(seconds_other)
        print(
            f"round {round_number}: rebuild {secs(seconds)} ({count:,} events), "
            f"verify {secs(seconds_single)} in one process ({report.events:,} events, "
            f"{report.problems} problems), {secs(seconds_other)} with the chains in "
            f"{max(1, chain_processes())} other process(es)"
        )
    rebuild_s, single_s, other_s = median(rebuilds), median(singles), median(others)
    verify_s = other_s if parallel else single_s
    assert report is not None
    print()
    print_table(
        ["what", "seconds", "events/s", "x rebuild"],
        [
            [name, secs(value), f"{info['events'] / value:,.0f}", f"{value / rebuild_s:.2f}"]
            for name, value in (
                ("rebuild (catch_up)", rebuild_s),
                ("verify in one process", single_s),
                ("verify, chains in other processes", other_s),
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
        section("breakdown (one run each)")
        print_table(["part", "seconds"], breakdown(path))


if __name__ == "__main__":
    main()
