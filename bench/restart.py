"""Restart time with a persisted projection at M events: ours vs eventsourcing.

Uses the same cached fixtures as rebuild.py. Setup (cached too): ours rebuilds the read
model once and saves it with ``model.save(FileSnapshotStore(...))``; for eventsourcing a
balances view is built on the library's ``SQLiteTrackingRecorder`` (a table of balances
updated atomically with a tracking record, the pattern its ``Projection`` docs use).

Then each variant runs ``--runs`` times as a FRESH process (bench/_restart_child.py), so
interpreter start, imports and file opens all count:
- ours: open_store + ReadModel.restore + catch_up (nothing new) = "ready"; then a balance for
  every account (iterating the restored projection).
- eventsourcing view: open the application and the view, read its tracking position, pull
  notifications after it (none) = "ready"; then SELECT every balance from the view.
- eventsourcing replay: no persisted projection, the library's default: fold the whole
  notification log (select_notifications + mapper) = "ready" with every balance answered.

Per run it records: in-process time to ready and to all balances (clock starts at the child's
first statement, before any import beyond the standard library), the parent's view of spawn
-> ready line, and the whole subprocess wall time including exit. Medians are printed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _common import (
    BENCH_DIR,
    DATA_DIR,
    Stopwatch,
    apply_quick,
    cached_fixture,
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

CHILD = BENCH_DIR / "_restart_child.py"


def warm(*paths: Path) -> None:
    for path in paths:
        candidates = [path] if path.is_file() else sorted(path.glob("*"))
        for name in [*candidates, Path(f"{path}-wal")]:
            if name.is_file():
                with name.open("rb") as handle:
                    while handle.read(1 << 20):
                        pass


def ours_snapshot(db: Path, fresh: bool) -> tuple[Path, dict[str, Any]]:
    """The read model of ``db`` saved in a FileSnapshotStore; reused while it still restores."""
    from bank_desktop.application.projections import ReadModel, catch_up
    from bank_desktop.eventstore import open_store
    from bank_desktop.eventstore.snapshots import FileSnapshotStore

    directory = DATA_DIR / "snapshots" / db.stem
    snapshots = FileSnapshotStore(directory)
    store = open_store(f"sqlite:///{db}")
    try:
        info: dict[str, Any] = {"sync": ours_synchronous(store)}
        model = None if fresh else ReadModel.restore(snapshots, store)
        if model is not None and model.checkpoint == store.head_position():
            print(f"snapshot: reusing {directory} (checkpoint {model.checkpoint:,})")
        else:
            with Stopwatch() as rebuild:
                model = ReadModel()
                catch_up(model, store)
            with Stopwatch() as save:
                model.save(snapshots)
            print(
                f"snapshot: rebuilt the read model in {rebuild.seconds:.2f} s and saved it in "
                f"{save.seconds:.2f} s to {directory}"
            )
        size = sum(p.stat().st_size for p in directory.glob("*.json"))
        info["snapshot_bytes"] = size
        info["checkpoint"] = model.checkpoint
        return directory, info
    finally:
        store.close()


def es_view(db: Path, db_info: dict[str, Any], fresh: bool) -> Path:
    """The balances view of ``db``, cached; rebuilt when ``db`` was rebuilt since."""
    path = db.with_name(f"{db.stem}-view.db")

    def build(tmp: Path) -> dict[str, Any]:
        from _es_bank import build_view

        return {**build_view(db, tmp), "source_built": db_info.get("built")}

    def usable(candidate: Path) -> bool:
        marker = json.loads(Path(f"{candidate}.json").read_text())
        return bool(marker.get("source_built") == db_info.get("built"))

    view, _ = cached_fixture(
        path, build, fresh=fresh, what="eventsourcing balances view", usable=usable
    )
    return view


def run_child(args: list[str]) -> dict[str, Any]:
    """Start a child, note when it says READY and QUERY, wait for it to exit."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=BENCH_DIR.parent,
    )
    assert proc.stdout is not None
    result: dict[str, Any] = {}
    for line in proc.stdout:
        now = time.perf_counter() - started
        tag, _, body = line.partition(" ")
        if tag == "READY":
            result.update(json.loads(body))
            result["spawn_to_ready"] = now
        elif tag == "QUERY":
            result.update(json.loads(body))
            result["spawn_to_answer"] = now
    _, stderr = proc.communicate()
    result["wall"] = time.perf_counter() - started
    if proc.returncode != 0 or "ready" not in result:
        raise RuntimeError(f"child {args[0]} failed ({proc.returncode}):\n{stderr}")
    return result


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=1_000_000, help="events in each store (M)")
    p.add_argument("--accounts", type=int, default=100_000, help="accounts in each store")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--runs", type=int, default=5, help="fresh processes per variant")
    p.add_argument(
        "--replay-runs", type=int, default=None, help="runs of the slow replay (default --runs)"
    )
    p.add_argument("--no-replay", action="store_true", help="skip the full-replay variant")
    p.add_argument("--fresh", action="store_true", help="rebuild fixtures, snapshot and view")
    args = p.parse_args()
    apply_quick(args, p, events=20_000, accounts=2_000, runs=2)
    print_header("restart: time to ready after a restart", args)

    section("fixtures")
    ours_db, _ = demo_fixture(args.events, args.accounts, args.seed, fresh=args.fresh)
    es_db, es_info = es_fixture(args.events, args.accounts, args.seed, fresh=args.fresh)
    snapshot_dir, snap_info = ours_snapshot(ours_db, args.fresh)
    view_db = es_view(es_db, es_info, args.fresh)
    print(
        f"our snapshot: {snap_info['snapshot_bytes'] / 1024 / 1024:,.1f} MiB JSON at "
        f"checkpoint {snap_info['checkpoint']:,}"
    )
    warm(ours_db, snapshot_dir, es_db, view_db)

    variants = {
        "ours": ["ours", str(ours_db), str(snapshot_dir)],
        "eventsourcing view": ["es-view", str(es_db), str(view_db)],
    }
    if not args.no_replay:
        variants["eventsourcing replay"] = ["es-replay", str(es_db)]
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
    replay_runs = args.replay_runs if args.replay_runs is not None else args.runs
    section("runs (fresh process each; order rotates per round)")
    names = list(variants)
    for round_no in range(args.runs):
        order = names[round_no % len(names) :] + names[: round_no % len(names)]
        for name in order:
            if name == "eventsourcing replay" and round_no >= replay_runs:
                continue
            result = run_child(variants[name])
            runs[name].append(result)
            print(
                f"round {round_no + 1} {name:<21} ready {secs(result['ready'])}  "
                f"all balances {secs(result['answered'])}  spawn->ready "
                f"{secs(result['spawn_to_ready'])}  process wall {secs(result['wall'])}  "
                f"(restored={result['restored']}, caught up {result['caught_up']})",
                flush=True,
            )

    section("medians (seconds)")
    columns = ("imports", "open", "restore", "catch_up", "ready", "query", "answered")
    rows = []
    med: dict[str, dict[str, float]] = {}
    for name in names:
        if not runs[name]:
            continue
        med[name] = {
            key: median([r[key] for r in runs[name]])
            for key in (*columns, "spawn_to_ready", "spawn_to_answer", "wall")
        }
        m = med[name]
        rows.append(
            [name, str(len(runs[name]))]
            + [f"{m[key]:.3f}" for key in columns]
            + [f"{m['spawn_to_ready']:.3f}", f"{m['spawn_to_answer']:.3f}", f"{m['wall']:.3f}"]
        )
    print_table(
        (
            "variant",
            "n",
            "imports",
            "open",
            "restore",
            "catch_up",
            "READY",
            "query",
            "ALL BALANCES",
            "spawn->ready",
            "spawn->balances",
            "process wall",
        ),
        rows,
    )
    print(
        "in-process columns start at the child's first statement; spawn-> columns and the "
        "process wall are measured by this parent (interpreter start + exit included)"
    )
    answers = {name: (runs[name][0]["accounts"], runs[name][0]["total"]) for name in med}
    for name, (count, total) in answers.items():
        print(f"{name:<22} answered {count:,} balances, total {total}")
    print(f"(eventsourcing fixture total balance: {es_info.get('total_balance')})")

    section("durability")
    print(f"{'ours':<22}{snap_info['sync']}")
    from _es_bank import open_bank, open_view

    app, es_sync = open_bank(es_db)
    app.close()
    view, view_sync = open_view(view_db)
    view.datastore.close()
    print(f"{'eventsourcing':<22}{es_sync}; view: {view_sync}")

    section("summary")
    ours = med["ours"]
    for name in ("eventsourcing view", "eventsourcing replay"):
        if name not in med:
            continue
        theirs = med[name]
        label = name.split(" ", 1)[1]
        ratio_line(
            "in-process time to all balances", ours["answered"], theirs["answered"], "lower", label
        )
        ratio_line(
            "spawn -> all balances (whole restart)",
            ours["spawn_to_answer"],
            theirs["spawn_to_answer"],
            "lower",
            label,
        )
    target_line(f"ours ready <= 1 s in-process ({secs(ours['ready'])})", ours["ready"] <= 1.0)
    target_line(
        f"ours spawn -> ready <= 1 s ({secs(ours['spawn_to_ready'])})",
        ours["spawn_to_ready"] <= 1.0,
    )


if __name__ == "__main__":
    main()
