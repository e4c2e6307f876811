"""``bank-desktop serve`` on SQLite: deposits per second for one client and for many at once.

Three measurements, taken in turns (the order rotating each round) so that a machine whose
speed drifts weighs on all of them alike:

- floor: the httpx -> uvicorn round trip with no application (``bench/_serve_floor.py``:
  uvicorn configured exactly as ``serve`` configures it, answering a fixed JSON body);
- serve, one client: ``POST /accounts/{id}/deposit`` of 1.00, one request after the other;
- serve, ``--clients`` clients: as many client processes at once, each on its own account.

Each client is a separate process (``multiprocessing``) with one keep-alive ``httpx.Client``,
so the clients' own CPU is not one interpreter's. ``serve`` is a separate process too, as an
operator starts it (``python -m bank_desktop serve --store sqlite:///... --port 0``, its data
directory in a scratch folder), with its access log on (written to a file), and each client
sending a clerk's API token (issued by ``bank-desktop staff token``; ``--open`` runs the seed
tutorial's mode without tokens instead). Every deposit is durable before it is answered (WAL,
synchronous=FULL); concurrent ones may share a commit.
With strace installed, fsyncs per deposit are counted by attaching to the server for an extra
untimed pass of each kind. Figures only: nothing here asserts a timing.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from _common import (
    BENCH_DIR,
    LATENCY_HEADERS,
    ROOT,
    Latency,
    apply_quick,
    latency_row,
    median,
    parser,
    print_header,
    print_table,
    scratch_dir,
    section,
    target_line,
)

_SERVE_LINE = re.compile(r"Bank Desktop API on http://127\.0\.0\.1:(\d+)")
ONE, MANY, FLOOR = "serve, one client", "serve, {n} clients", "floor (no app)"


# ── the client processes ──────────────────────────────────────────────────────────────────


def client(pipe: Connection, token: str | None) -> None:
    """A client process: runs the batches of requests it is sent, returns their timings."""
    import httpx

    auth = {"Authorization": f"Bearer {token}"} if token else {}
    clients: dict[str, httpx.Client] = {}
    while True:
        order = pipe.recv()
        if order is None:
            break
        base, path, count, key_prefix = order
        http = clients.get(base)
        if http is None:
            http = clients[base] = httpx.Client(base_url=base, timeout=60, headers=auth)
        body = {"amount": 1}
        samples = []
        clock = time.perf_counter
        started = time.monotonic()
        for i in range(count):
            headers = {"Idempotency-Key": f"{key_prefix}{i}"} if key_prefix else None
            t0 = clock()
            response = http.post(path, json=body, headers=headers)
            samples.append(clock() - t0)
            if response.status_code != 200:
                raise SystemExit(f"{path}: {response.status_code} {response.text}")
        pipe.send((started, time.monotonic(), samples))
    for http in clients.values():
        http.close()


class Clients:
    """``count`` client processes, told what to run through pipes."""

    def __init__(self, count: int, token: str | None) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipes: list[Connection] = []
        self.procs = []
        for _ in range(count):
            mine, theirs = context.Pipe()
            proc = context.Process(target=client, args=(theirs, token), daemon=True)
            proc.start()
            self.pipes.append(mine)
            self.procs.append(proc)

    def run(self, orders: list[tuple[str, str, int, str | None]]) -> tuple[float, list[float]]:
        """Run one order per client at once; (wall seconds from the first start to the last
        end, every request's latency)."""
        for pipe, order in zip(self.pipes, orders, strict=False):
            pipe.send(order)
        answers = [pipe.recv() for pipe in self.pipes[: len(orders)]]
        first = min(a[0] for a in answers)
        last = max(a[1] for a in answers)
        return last - first, [s for a in answers for s in a[2]]

    def close(self) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(OSError):
                pipe.send(None)
        for proc in self.procs:
            proc.join(10)
            if proc.is_alive():
                proc.kill()


# ── the servers ───────────────────────────────────────────────────────────────────────────


def _environment(folder: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "XDG_DATA_HOME": str(folder / "data"),
        "XDG_CONFIG_HOME": str(folder / "config"),
    }


def issue_token(folder: Path) -> str:
    """A clerk's API token, as an admin issues one (``bank-desktop staff token bench``)."""
    store = f"sqlite:///{folder / 'bank.db'}"
    command = ["staff", "token", "bench"]
    done = subprocess.run(
        [sys.executable, "-m", "bank_desktop", "--store", store, "--clerk", "bench", *command],
        env=_environment(folder),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


@contextlib.contextmanager
def serve_process(folder: Path, *, open_mode: bool = False) -> Iterator[tuple[str, Any]]:
    env = _environment(folder)
    log = (folder / "serve.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bank_desktop",
            "serve",
            "--store",
            f"sqlite:///{folder / 'bank.db'}",
            "--port",
            "0",
            "--clerk",
            "bench",
            *(["--open"] if open_mode else []),
        ],
        stdout=subprocess.PIPE,
        stderr=log,
        stdin=subprocess.DEVNULL,
        env=env,
        cwd=ROOT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        port = None
        for line in proc.stdout:
            match = _SERVE_LINE.search(line)
            if match:
                port = match.group(1)
                break
        if port is None:
            raise RuntimeError(f"serve did not start: {(folder / 'serve.log').read_text()}")
        yield f"http://127.0.0.1:{port}", proc
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@contextlib.contextmanager
def floor_process() -> Iterator[str]:
    proc = subprocess.Popen(
        [sys.executable, str(BENCH_DIR / "_serve_floor.py")],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("listening "):
            raise RuntimeError("the floor server did not start")
        yield f"http://127.0.0.1:{line.split()[1]}"
    finally:
        proc.terminate()
        proc.wait(20)


def wait_healthy(base: str, token: str | None = None) -> None:
    import httpx

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{base}/health", timeout=2, headers=headers).status_code == 200:
                return
        time.sleep(0.05)
    raise RuntimeError("serve never became healthy")


def fsyncs_during(pid: int, action: Any) -> float | None:
    """fsync + fdatasync calls of process ``pid`` (all threads) while ``action()`` runs, per
    its returned request count; None without strace."""
    import shutil
    import tempfile

    strace = shutil.which("strace")
    if strace is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "strace.txt"
        command = [strace, "-f", "-qq", "-c", "-e", "trace=fsync,fdatasync", "-o", str(report)]
        tracer = subprocess.Popen(
            [*command, "-p", str(pid)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1.0)  # let strace attach to every thread
        try:
            requests = action()
        finally:
            tracer.terminate()
            tracer.wait(20)
        if not report.exists():
            return None
        calls = 0
        for line in report.read_text().splitlines():
            fields = line.split()
            if len(fields) >= 5 and fields[-1] in ("fsync", "fdatasync") and fields[3].isdigit():
                calls += int(fields[3])
        return calls / requests


# ── the run ───────────────────────────────────────────────────────────────────────────────


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=400, help="deposits per client per turn")
    p.add_argument("--clients", type=int, default=8, help="concurrent clients")
    p.add_argument("--rounds", type=int, default=5, help="turns of each measurement")
    p.add_argument("--keyed", action="store_true", help="send an Idempotency-Key each time")
    p.add_argument(
        "--open",
        action="store_true",
        help="serve --open (the seed tutorial's mode, no tokens) instead of a clerk's token",
    )
    p.add_argument("--no-fsync-count", action="store_true", help="skip strace")
    p.add_argument("--keep", action="store_true", help="keep the store and the log")
    args = p.parse_args()
    apply_quick(args, p, requests=60, rounds=1, clients=4)
    print_header("serve: deposits over HTTP on SQLite, one client and many", args)
    many = MANY.format(n=args.clients)
    results: dict[str, list[tuple[float, list[float]]]] = {FLOOR: [], ONE: [], many: []}

    with scratch_dir("serve", keep=args.keep) as folder:
        token = None if args.open else issue_token(folder)
        clients = Clients(args.clients, token)
        auth = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            with (
                serve_process(folder, open_mode=args.open) as (base, server),
                floor_process() as floor,
            ):
                wait_healthy(base, token)
                import httpx

                accounts = []
                with httpx.Client(base_url=base, headers=auth) as setup:
                    for i in range(args.clients):
                        answer = setup.post("/accounts", json={"customerId": f"cust-{i}"})
                        accounts.append(answer.json()["accountId"])

                def orders(url: str, n: int, turn: str) -> list[Any]:
                    return [
                        (
                            url,
                            f"/accounts/{accounts[i]}/deposit",
                            args.requests,
                            f"{turn}-{i}-" if args.keyed else None,
                        )
                        for i in range(n)
                    ]

                floor_orders = [
                    (floor, "/accounts/floor/deposit", args.requests, None)
                    for _ in range(args.clients)
                ]
                kinds = {
                    FLOOR: lambda turn: clients.run(floor_orders[:1]),
                    ONE: lambda turn: clients.run(orders(base, 1, turn)),
                    many: lambda turn: clients.run(orders(base, args.clients, turn)),
                }
                # Warm-up: every client once on each server (connections, imports, caches).
                clients.run([(floor, "/accounts/floor/deposit", 20, None)] * args.clients)
                clients.run(orders(base, args.clients, "warm"))
                names = list(kinds)
                for round_no in range(args.rounds):
                    order = names[round_no % 3 :] + names[: round_no % 3]
                    section(f"round {round_no + 1}/{args.rounds} (order: {', '.join(order)})")
                    rows = []
                    for name in order:
                        seconds, samples = kinds[name](f"r{round_no}-{name[:5]}")
                        results[name].append((seconds, samples))
                        rows.append(latency_row(name, Latency.of(samples), seconds))
                    print_table(LATENCY_HEADERS, rows)

                fsyncs: dict[str, float | None] = {}
                if not args.no_fsync_count:
                    for name in (ONE, many):

                        def timed(name: str = name) -> int:
                            _, samples = kinds[name](f"fsync-{name[:9]}")
                            return len(samples)

                        fsyncs[name] = fsyncs_during(server.pid, timed)
        finally:
            clients.close()

    section(f"all rounds ({args.rounds} turns; rate = median of turns)")
    rates = {}
    rows = []
    for name, runs in results.items():
        rates[name] = median([len(samples) / seconds for seconds, samples in runs])
        lat = Latency.of([s for _, samples in runs for s in samples])
        row = latency_row(name, lat)
        row[2] = f"{rates[name]:,.0f}/s"
        rows.append(row)
    print_table(LATENCY_HEADERS, rows)
    print()
    for name in (ONE, many):
        counted = fsyncs.get(name)
        shown = f"{counted:.2f}" if counted is not None else "not counted"
        print(f"fsyncs per deposit, {name}: {shown}")
    one, several, floor_rate = rates[ONE], rates[many], rates[FLOOR]
    print(f"round-trip floor (httpx -> uvicorn, no app), one client: {floor_rate:,.0f}/s")
    print(f"serve one client / floor: {one / floor_rate:.0%}")
    print(f"ratio ({args.clients} clients / one client): {several / one:.2f}x")
    target_line(f"serve on SQLite, one client >= 900 deposits/s ({one:,.0f}/s)", one >= 900)
    target_line(
        f"{args.clients} concurrent clients >= 2.5x one client ({several / one:.2f}x)",
        several >= 2.5 * one,
    )


if __name__ == "__main__":
    main()
