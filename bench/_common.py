"""Shared helpers for the benchmark scripts: header, timing, percentiles, tables, fixtures.

Everything here is standard library only at import time, so a restart child that imports this
module does not pay for the application or the comparison library before it means to.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import hashlib
import importlib.metadata
import json
import math
import os
import platform
import shlex
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
DATA_DIR = BENCH_DIR / ".data"
#: Fixed end of the demo history, so a cached fixture is the same whatever day it was built.
DEMO_END = datetime(2026, 1, 1, tzinfo=UTC)

SYNC_NAMES = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}


# ── header ────────────────────────────────────────────────────────────────────────────────


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _memory() -> str:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return "unknown"


def _git_head() -> str:
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=5,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head}{' (uncommitted changes)' if dirty else ''}"


def _source_hash() -> str:
    """A digest of the package sources, so figures can be tied to the code they measured."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "bank_desktop").rglob("*.py")):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def machine_info() -> list[tuple[str, str]]:
    return [
        ("python", f"{platform.python_implementation()} {sys.version.split()[0]}"),
        ("sqlite", sqlite3.sqlite_version),
        ("cpus", f"{os.cpu_count()} ({_cpu_model()})"),
        ("memory", _memory()),
        ("platform", platform.platform()),
        (
            "bank-desktop",
            f"{_version('bank-desktop')} at git {_git_head()}, sources {_source_hash()}",
        ),
        ("eventsourcing", _version("eventsourcing")),
        ("msgspec", _version("msgspec")),
    ]


def print_header(title: str, args: argparse.Namespace) -> None:
    """The exact command line, the machine and the parsed options: enough to rerun it."""
    print(f"# {title}")
    print(f"command: {shlex.join(sys.orig_argv)}")
    print(f"cwd:     {os.getcwd()}")
    print(f"started: {datetime.now(UTC).isoformat(timespec='seconds')}")
    for key, value in machine_info():
        print(f"{key + ':':<15}{value}")
    print(f"load:          {_load()} (other processes on this machine skew the figures)")
    options = ", ".join(f"{k}={v}" for k, v in sorted(vars(args).items()) if k != "child")
    print(f"options: {options}")
    print()
    atexit.register(footer, time.perf_counter())


def _load() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "unknown"
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} (1/5/15 min)"


def footer(started: float) -> None:
    """Elapsed time and the load average at the end, to judge how quiet the machine was."""
    print()
    print(f"finished in {time.perf_counter() - started:.1f} s; {_load()}")


def section(title: str) -> None:
    print()
    print(f"== {title}")


# ── timing and statistics ─────────────────────────────────────────────────────────────────


class Stopwatch:
    """``with Stopwatch() as sw: ...`` then ``sw.seconds`` (time.perf_counter)."""

    def __init__(self) -> None:
        self.started = 0.0
        self.seconds = 0.0

    def __enter__(self) -> Stopwatch:
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.started


def time_each(action: Callable[[int], Any], count: int) -> tuple[list[float], float]:
    """Run ``action(i)`` for i in range(count); per-call seconds and the total wall time."""
    clock = time.perf_counter
    samples = []
    started = clock()
    for i in range(count):
        t0 = clock()
        action(i)
        samples.append(clock() - t0)
    return samples, clock() - started


def interleaved(
    runners: dict[str, Callable[[int], Any]], count: int, block: int
) -> dict[str, tuple[list[float], float]]:
    """Run ``runners[name](i)`` for i in range(count) for every name, in alternating blocks
    of ``block`` calls (the order rotating from block to block), so that a disk or a machine
    whose speed drifts from minute to minute weighs on every system alike. Per name: the
    per-call seconds and the total wall time of its blocks."""
    clock = time.perf_counter
    names = list(runners)
    out: dict[str, tuple[list[float], float]] = {name: ([], 0.0) for name in names}
    for start in range(0, count, block):
        turn = (start // block) % len(names)
        for name in names[turn:] + names[:turn]:
            action = runners[name]
            samples, total = out[name]
            began = clock()
            for i in range(start, min(start + block, count)):
                t0 = clock()
                action(i)
                samples.append(clock() - t0)
            out[name] = (samples, total + clock() - began)
    return out


def count_syscalls(argv: Sequence[str], names: Sequence[str]) -> dict[str, int] | None:
    """How often a child process (``argv``, all its threads) made each system call, counted
    by ``strace -c``; None when strace is not installed or cannot trace here."""
    strace = shutil.which("strace")
    if strace is None:
        return None
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "strace.txt"
        command = [strace, "-f", "-qq", "-c", "-e", f"trace={','.join(names)}", "-o", str(report)]
        done = subprocess.run([*command, *argv], capture_output=True, text=True, check=False)
        if done.returncode != 0 or not report.exists():
            return None
        counts = dict.fromkeys(names, 0)
        for line in report.read_text().splitlines():
            fields = line.split()
            if len(fields) >= 5 and fields[-1] in counts and fields[3].isdigit():
                counts[fields[-1]] = int(fields[3])
        return counts


def time_budgeted(
    action: Callable[[int], Any], count: int, budget: float, minimum: int = 5
) -> tuple[list[float], float]:
    """Like :func:`time_each`, but stop after ``budget`` seconds once ``minimum`` ran."""
    clock = time.perf_counter
    samples: list[float] = []
    started = clock()
    for i in range(count):
        t0 = clock()
        action(i)
        samples.append(clock() - t0)
        if i + 1 >= minimum and clock() - started > budget:
            break
    return samples, clock() - started


def percentile(values: Sequence[float], pct: float) -> float:
    """Linear-interpolated percentile (``pct`` in 0..100) of unsorted ``values``."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: Sequence[float]) -> float:
    return percentile(values, 50)


@dataclass(frozen=True, slots=True)
class Latency:
    count: int
    mean: float
    p50: float
    p90: float
    p99: float
    max: float

    @classmethod
    def of(cls, samples: Sequence[float]) -> Latency:
        return cls(
            count=len(samples),
            mean=sum(samples) / len(samples) if samples else float("nan"),
            p50=percentile(samples, 50),
            p90=percentile(samples, 90),
            p99=percentile(samples, 99),
            max=max(samples) if samples else float("nan"),
        )


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f} ms"


def secs(seconds: float) -> str:
    return f"{seconds:.3f} s"


def rate(count: float, seconds: float) -> str:
    if seconds <= 0:
        return "inf"
    per_second = count / seconds
    return f"{per_second:,.0f}/s" if per_second >= 10 else f"{per_second:.2f}/s"


def ratio(ours: float, theirs: float) -> float:
    return ours / theirs if theirs else float("inf")


def times(value: float) -> str:
    """A ratio as ``2.30x``, with enough digits to stay readable when it is tiny or huge."""
    if math.isnan(value) or math.isinf(value):
        return str(value)
    if value < 0.01:
        return f"{value:.3g}x"
    if value < 0.1:
        return f"{value:.4f}x"
    return f"{value:,.2f}x"


def ratio_line(
    metric: str, ours: float, theirs: float, better: str, theirs_label: str = ""
) -> None:
    """``ratio (ours / eventsourcing): 2.3x`` with what was divided and which way is better."""
    label = f"eventsourcing{' ' + theirs_label if theirs_label else ''}"
    value = ratio(ours, theirs)
    extra = f"; inverse {times(1 / value)}" if 0 < value < 0.5 else ""
    print(f"ratio (ours / {label}): {times(value)}  [{metric}; {better} is better{extra}]")


def target_line(text: str, met: bool) -> None:
    """Say whether a stated target was met; figures only, never an assertion."""
    print(f"target: {text}: {'met' if met else 'NOT met'}")


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for index, row in enumerate(cells):
        print(
            "  ".join(
                cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
                for i, cell in enumerate(row)
            )
        )
        if index == 0:
            print("  ".join("-" * w for w in widths))


def latency_row(name: str, lat: Latency, total: float | None = None) -> list[str]:
    row = [name, str(lat.count)]
    row.append(rate(lat.count, total) if total is not None else "")
    row += [ms(lat.mean), ms(lat.p50), ms(lat.p90), ms(lat.p99), ms(lat.max)]
    return row


LATENCY_HEADERS = ("series", "n", "rate", "mean", "p50", "p90", "p99", "max")


# ── SQLite settings ───────────────────────────────────────────────────────────────────────


def ours_synchronous(store: Any) -> str:
    """journal_mode and synchronous read on the store's own connection (they are per
    connection). Reads a private member of SqliteEventStore: the port exposes neither."""
    conn = store._connection()
    mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    value = conn.execute("PRAGMA synchronous").fetchone()[0]
    return f"journal_mode={mode}, synchronous={SYNC_NAMES.get(value, value)}"


# ── files ─────────────────────────────────────────────────────────────────────────────────


def remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def db_size(path: Path) -> str:
    total = sum(
        Path(f"{path}{s}").stat().st_size for s in ("", "-wal") if Path(f"{path}{s}").exists()
    )
    return f"{total / 1024 / 1024:,.1f} MiB"


@contextlib.contextmanager
def scratch_dir(name: str, keep: bool = False) -> Iterator[Path]:
    """A fresh directory under bench/.data/tmp/, removed afterwards unless ``keep``."""
    path = DATA_DIR / "tmp" / f"{name}-{os.getpid()}"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    try:
        yield path
    finally:
        if keep:
            print(f"(kept {path})")
        else:
            shutil.rmtree(path, ignore_errors=True)


def _fixture_ready(path: Path) -> dict[str, Any] | None:
    marker = Path(f"{path}.json")
    if not path.exists() or not marker.exists():
        return None
    try:
        info: dict[str, Any] = json.loads(marker.read_text())
    except ValueError:
        return None
    return info


def cached_fixture(
    path: Path,
    build: Callable[[Path], dict[str, Any]],
    *,
    fresh: bool,
    what: str,
    usable: Callable[[Path], bool] | None = None,
) -> tuple[Path, dict[str, Any]]:
    """``path`` built by ``build(tmp_path)`` unless a complete earlier build is there.

    A build writes to a temporary name and is renamed, with a JSON marker beside it, only once
    it completed, so an interrupted build is never mistaken for a fixture.
    """
    info = None if fresh else _fixture_ready(path)
    if info is not None and usable is not None and not usable(path):
        print(f"fixture: {path.name} is stale (its source or the code changed); rebuilding")
        info = None
    if info is not None:
        print(f"fixture: reusing {what} {path.name} ({db_size(path)}; built {info.get('built')})")
        return path, info
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_db(path)
    Path(f"{path}.json").unlink(missing_ok=True)
    tmp = path.with_name(f"building-{os.getpid()}-{path.name}")
    remove_db(tmp)
    print(f"fixture: building {what} {path.name} ...", flush=True)
    with Stopwatch() as sw:
        info = build(tmp)
    if Path(f"{tmp}-wal").exists():
        # Every connection was closed, so SQLite should have checkpointed and removed it.
        raise RuntimeError(f"{tmp}-wal still exists after the build; connections left open?")
    Path(f"{tmp}-shm").unlink(missing_ok=True)
    tmp.replace(path)
    info = {**info, "built": datetime.now(UTC).isoformat(timespec="seconds")}
    info["build_seconds"] = round(sw.seconds, 2)
    Path(f"{path}.json").write_text(json.dumps(info, indent=1))
    print(f"fixture: built {path.name} in {sw.seconds:.1f} s ({db_size(path)})")
    return path, info


def demo_fixture(
    events: int, accounts: int, seed: int, *, fresh: bool
) -> tuple[Path, dict[str, Any]]:
    """Our store with ``fill_demo_data`` history, cached under bench/.data/."""
    path = DATA_DIR / f"ours-demo-e{events}-a{accounts}-s{seed}.db"

    def build(tmp: Path) -> dict[str, Any]:
        from bank_desktop.application.demo_data import fill_demo_data
        from bank_desktop.eventstore import open_store

        store = open_store(f"sqlite:///{tmp}")
        last = [0.0]

        def progress(written: int, total: int) -> None:
            now = time.perf_counter()
            if now - last[0] > 10:
                last[0] = now
                print(f"  {written:,}/{total:,} events", flush=True)

        try:
            summary = fill_demo_data(
                store, events=events, accounts=accounts, seed=seed, end=DEMO_END, progress=progress
            )
            head = store.head_position()
        finally:
            store.close()
        print(
            f"  fill_demo_data: {summary.events:,} events, {summary.accounts:,} accounts, "
            f"{summary.transfers:,} transfers, {summary.closed:,} closed in "
            f"{summary.seconds:.1f} s ({summary.events / summary.seconds:,.0f} events/s)"
        )
        return {
            "events": summary.events,
            "head": head,
            "accounts": summary.accounts,
            "transfers": summary.transfers,
            "closed": summary.closed,
            "fill_seconds": round(summary.seconds, 2),
        }

    def usable(candidate: Path) -> bool:
        from bank_desktop.eventstore import sqlite as adapter

        expected = getattr(adapter, "SCHEMA_VERSION", None)
        with contextlib.closing(sqlite3.connect(f"file:{candidate}?mode=ro", uri=True)) as conn:
            found = conn.execute("PRAGMA user_version").fetchone()[0]
        return expected is None or found == expected

    return cached_fixture(path, build, fresh=fresh, what="our demo store", usable=usable)


def es_fixture(
    events: int, accounts: int, seed: int, *, fresh: bool
) -> tuple[Path, dict[str, Any]]:
    """An eventsourcing store with the same number of events and accounts, cached."""
    path = DATA_DIR / f"es-bank-e{events}-a{accounts}-s{seed}.db"

    def build(tmp: Path) -> dict[str, Any]:
        from _es_bank import build_history

        return build_history(tmp, events=events, accounts=accounts, seed=seed)

    return cached_fixture(path, build, fresh=fresh, what="eventsourcing store")


# ── argument parsing ──────────────────────────────────────────────────────────────────────


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    return p


def apply_quick(args: argparse.Namespace, p: argparse.ArgumentParser, **quick: Any) -> None:
    """With --quick, replace every option not given on the command line by its quick value."""
    if not args.quick:
        return
    given = {arg.split("=", 1)[0] for arg in sys.argv[1:] if arg.startswith("--")}
    for action in p._actions:
        if action.dest in quick and not given.intersection(action.option_strings):
            setattr(args, action.dest, quick[action.dest])
