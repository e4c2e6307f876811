"""Entry points of the reliability suite's OS processes (started with the ``spawn`` method).

Top-level functions only, importing nothing but the standard library and the package, so each
process is a fresh interpreter with its own connections: exactly another clerk's application.
Workers report on a queue with ("ok", payload) or ("error", traceback text), so the test never
waits on a process that died without a word.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import threading
import time
import traceback
from decimal import Decimal
from typing import Any

from bank_desktop.application import BankService, SubscriptionRunner
from bank_desktop.domain import DomainError
from bank_desktop.eventstore import (
    ANY,
    NO_STREAM,
    ConcurrencyError,
    EventStore,
    NewEvent,
    StoreUnavailableError,
    open_store,
    redact_url,
)
from bank_desktop.eventstore.port import RecordedEvent

BARRIER_TIMEOUT = 120.0
#: How often a clerk re-sends a request that came back "changed meanwhile" (ConcurrencyError:
#: BankService's own bounded retries all lost the race) before the test calls it a failure.
MAX_RESENDS = 20


def open_for(url: str, *, timeout: float | None = None) -> EventStore:
    """The store ``url`` names; with ``timeout``, its adapter with that connect/busy timeout
    (``open_store`` uses the adapters' defaults of 5 s)."""
    if timeout is None:
        return open_store(url)
    if url.startswith("sqlite:"):
        from bank_desktop.eventstore.sqlite import SqliteEventStore
        from bank_desktop.eventstore.urls import sqlite_path

        return SqliteEventStore(sqlite_path(url), busy_timeout=timeout)
    from bank_desktop.eventstore.postgres import PostgresEventStore

    return PostgresEventStore(url, display_url=redact_url(url), timeout=timeout)


def _money(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randint(low * 100, high * 100)) / 100


# ── 1. concurrency soak ───────────────────────────────────────────────────────────────────


def soak_clerk(
    url: str, *, accounts: list[str], operations: int, seed: int, start: Any, results: Any
) -> None:
    """Random withdrawals, transfers and deposits on a few hot accounts, plus re-sends of
    commands already applied (which must change nothing); every command and its outcome is
    reported, so the test can hold the store to account for each one."""
    try:
        rng = random.Random(seed)
        store = open_store(url)
        bank = BankService(store, clerk_id=f"clerk-{seed}")
        commands: list[dict[str, Any]] = []
        applied: list[dict[str, Any]] = []
        repeats = 0
        start.wait(BARRIER_TIMEOUT)
        for index in range(operations):
            if applied and rng.random() < 0.03:
                _resend(bank, rng.choice(applied))
                repeats += 1
            key = f"soak-{seed}-{index}"
            roll = rng.random()
            if roll < 0.40:
                command = {"kind": "withdraw", "accounts": [rng.choice(accounts)]}
                command["amount"] = str(_money(rng, 1, 90))
            elif roll < 0.82:
                command = {"kind": "transfer", "accounts": rng.sample(accounts, 2)}
                command["amount"] = str(_money(rng, 1, 120))
            else:
                command = {"kind": "deposit", "accounts": [rng.choice(accounts)]}
                command["amount"] = str(_money(rng, 1, 150))
            command["key"] = key
            command["conflicts"] = 0
            while True:
                try:
                    command["result"] = _run(bank, command)
                    command["outcome"] = "applied"
                    applied.append(command)
                except DomainError as refusal:
                    command["outcome"] = "rejected"
                    command["reason"] = type(refusal).__name__
                except ConcurrencyError:
                    # BankService retried and still lost the race every time: the window
                    # shows "changed meanwhile" and the clerk sends the same request again.
                    command["conflicts"] += 1
                    if command["conflicts"] < MAX_RESENDS:
                        continue
                    raise
                break
            commands.append(command)
        store.close()
        results.put(("ok", {"seed": seed, "commands": commands, "repeats": repeats}))
    except BaseException:
        results.put(("error", traceback.format_exc()))


def _run(bank: BankService, command: dict[str, Any]) -> str:
    kind, key, amount = command["kind"], command["key"], command["amount"]
    if kind == "withdraw":
        return str(bank.withdraw(command["accounts"][0], amount, command_id=key))
    if kind == "deposit":
        return str(bank.deposit(command["accounts"][0], amount, command_id=key))
    source, target = command["accounts"]
    return bank.transfer(source, target, amount, command_id=key)


def _resend(bank: BankService, command: dict[str, Any]) -> None:
    """A clerk pressing the button again: same id, same request, so the first result back."""
    again = _run(bank, command)
    if again != command["result"]:
        raise AssertionError(f"re-sent {command['key']} answered {again}, not {command['result']}")


# ── 2. gap test ───────────────────────────────────────────────────────────────────────────


def gap_writer(url: str, worker: int, appends: int, start: Any, results: Any) -> None:
    """``appends`` appends of 1-4 events: to a shared stream (ANY) and to an own stream with
    exact expected positions, so atomic multi-event appends interleave across processes."""
    try:
        rng = random.Random(5000 + worker)
        store = open_store(url)
        own = f"gap-own-{worker}"
        position = 0
        written = 0
        start.wait(BARRIER_TIMEOUT)
        for index in range(appends):
            batch = [
                NewEvent("gap.appended", {"worker": worker, "i": index, "k": k})
                for k in range(rng.randint(1, 4))
            ]
            if index % 2:
                position = store.append(own, batch, position or NO_STREAM).stream_position
            else:
                store.append("gap-shared", batch, ANY)
            written += len(batch)
            # Pacing, not synchronisation: SQLite's busy handler backs off while the lock
            # holder retakes it at once, which would otherwise run the writers one by one.
            time.sleep(rng.uniform(0, 0.002))
        store.close()
        results.put(("ok", {"worker": worker, "written": written}))
    except BaseException:
        results.put(("error", traceback.format_exc()))


def gap_reader(url: str, ready: Any, until: Any, results: Any) -> None:
    """A live subscriber in its own process: records (position, event id, stream, stream
    position) of everything delivered, until it has delivered up to the head put on
    ``until`` by the test once the writers are done."""
    try:
        store = open_store(url)
        seen: list[tuple[int, str, str, int]] = []
        problems: list[str] = []
        delivered = threading.Condition()

        def on_events(batch: Any) -> None:
            with delivered:
                for event in batch:
                    expected = seen[-1][0] + 1 if seen else 1
                    if event.global_position != expected:
                        problems.append(f"got {event.global_position} where {expected} was due")
                    seen.append(describe(event))
                delivered.notify_all()

        runner = SubscriptionRunner(store, on_events, batch_size=13, idle_wait=0.2)
        runner.start()
        ready.set()
        head = until.get(timeout=BARRIER_TIMEOUT * 2)
        with delivered:
            delivered.wait_for(lambda: bool(seen) and seen[-1][0] >= head, BARRIER_TIMEOUT)
        runner.stop()
        store.close()
        results.put(("ok", {"seen": seen, "problems": problems, "position": runner.position}))
    except BaseException:
        results.put(("error", traceback.format_exc()))


# ── 3. crash injection ────────────────────────────────────────────────────────────────────


def _killer(after_steps: int | None, log_path: str) -> Any:
    """An ``on_transfer_step`` observer that SIGKILLs this process at its n-th step (None:
    never), after writing the step it dies at to ``log_path`` (a plain write() reaches the
    kernel before the kill, so the line survives it)."""
    count = [0]

    def observe(transfer_id: str, step: str) -> None:
        count[0] += 1
        if after_steps is not None and count[0] >= after_steps:
            line = f"{os.getpid()} {step} {transfer_id}\n".encode()
            fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)
            os.kill(os.getpid(), signal.SIGKILL)

    return observe


def crash_victim(
    url: str, accounts: list[str], seed: int, kill_at_step: int | None, log_path: str
) -> None:
    """Transfer between random accounts forever; SIGKILL itself at step ``kill_at_step`` of
    the transfer process (or run until the test kills it from outside)."""
    rng = random.Random(seed)
    store = open_store(url)
    bank = BankService(
        store, clerk_id=f"victim-{seed}", on_transfer_step=_killer(kill_at_step, log_path)
    )
    index = 0
    while True:
        source, target = rng.sample(accounts, 2)
        # A transfer that lost every race (ConcurrencyError) is left for recovery, like a crash.
        with contextlib.suppress(DomainError, ConcurrencyError):
            bank.transfer(source, target, _money(rng, 1, 200), command_id=f"crash-{seed}-{index}")
        index += 1


def crash_single(
    url: str, *, source: str, target: str, amount: str, kill_at_step: int, key: str, log_path: str
) -> None:
    """One transfer, SIGKILLed at step ``kill_at_step``: the test then closes the target or
    drains the source before anyone recovers it, to send it down the reversal or the
    rejection path."""
    store = open_store(url)
    bank = BankService(store, clerk_id="doomed", on_transfer_step=_killer(kill_at_step, log_path))
    bank.transfer(source, target, amount, command_id=key)


def crash_recoverer(url: str, seed: int, kill_at_step: int | None, log_path: str) -> None:
    """Run ``recover()`` over and over while victims work and die, so two drivers often race
    on one transfer; it may be killed at a step too, or from outside."""
    store = open_store(url)
    bank = BankService(
        store, clerk_id=f"recoverer-{seed}", on_transfer_step=_killer(kill_at_step, log_path)
    )
    position = 0
    while True:
        bank.recover()
        store.wait_for_events(position, 0.2)  # a new transfer event may need recovering
        position = store.head_position()


def final_recoverer(url: str, seed: int, start: Any, results: Any) -> None:
    """One of several processes recovering the same leftovers at the same moment."""
    try:
        store = open_store(url)
        bank = BankService(store, clerk_id=f"final-{seed}")
        start.wait(BARRIER_TIMEOUT)
        report = bank.recover()
        store.close()
        results.put(
            (
                "ok",
                {
                    "completed": report.completed,
                    "reversed": report.reversed,
                    "rejected": report.rejected,
                    "failed": report.failed,
                },
            )
        )
    except BaseException:
        results.put(("error", traceback.format_exc()))


# ── 4. outage ─────────────────────────────────────────────────────────────────────────────


def outage_clerk(
    url: str,
    *,
    accounts: list[str],
    seed: int,
    timeout: float,
    stop: Any,
    progress: Any,
    results: Any,
) -> None:
    """Commands until ``stop`` is set; a command the store could not take
    (StoreUnavailableError) is re-sent with the same command id until it has an outcome, as a
    clerk's window does, so each command ends applied once or refused."""
    try:
        rng = random.Random(9000 + seed)
        store = open_for(url, timeout=timeout)
        bank = BankService(store, clerk_id=f"outage-{seed}")
        commands: list[dict[str, Any]] = []
        failures: list[dict[str, Any]] = []
        index = 0
        while not stop.is_set():
            roll = rng.random()
            if roll < 0.35:
                command = {"kind": "withdraw", "accounts": [rng.choice(accounts)]}
                command["amount"] = str(_money(rng, 1, 60))
            elif roll < 0.65:
                command = {"kind": "transfer", "accounts": rng.sample(accounts, 2)}
                command["amount"] = str(_money(rng, 1, 80))
            else:
                command = {"kind": "deposit", "accounts": [rng.choice(accounts)]}
                command["amount"] = str(_money(rng, 1, 100))
            command["key"] = f"outage-{seed}-{index}"
            command["attempts"] = 0
            index += 1
            while True:
                command["attempts"] += 1
                started = time.monotonic()
                try:
                    command["result"] = _run(bank, command)
                    command["outcome"] = "applied"
                except DomainError as refusal:
                    command["outcome"] = "rejected"
                    command["reason"] = type(refusal).__name__
                except ConcurrencyError:
                    command["conflicts"] = command.get("conflicts", 0) + 1
                    if command["conflicts"] >= MAX_RESENDS:
                        raise
                    continue
                except StoreUnavailableError as exc:
                    failures.append(
                        {
                            "key": command["key"],
                            "kind": command["kind"],
                            "message": str(exc),
                            "seconds": time.monotonic() - started,
                        }
                    )
                    progress.put(("unavailable", str(exc)))
                    # A clerk's retry, not synchronisation: the outage ends when the test says.
                    time.sleep(0.05)
                    continue
                break
            commands.append(command)
            progress.put((command["outcome"], command["key"]))
            time.sleep(rng.uniform(0, 0.004))  # pacing between a clerk's commands
        store.close()
        results.put(("ok", {"seed": seed, "commands": commands, "failures": failures}))
    except BaseException:
        results.put(("error", traceback.format_exc()))


def batch_writer(
    url: str, *, seed: int, timeout: float, stop: Any, progress: Any, results: Any
) -> None:
    """Atomic multi-event appends (2-4 parts each) with exact expected positions while the
    store comes and goes. After a failure the outcome is unknown (the commit may have landed
    with its reply lost), so the writer looks before it writes again: a batch is either
    wholly in the stream once, or not at all, and is written exactly once in the end."""
    try:
        rng = random.Random(7000 + seed)
        store = open_for(url, timeout=timeout)
        stream = f"batches-{seed}"
        position = 0
        written: list[list[Any]] = []
        failures = 0
        landed_unseen = 0
        while not stop.is_set():
            batch_id = f"b{seed}-{len(written)}"
            size = rng.randint(2, 4)
            batch = [
                NewEvent("batch.part", {"batch": batch_id, "part": part, "of": size})
                for part in range(size)
            ]
            known_absent = True
            while True:
                try:
                    if known_absent:
                        store.append(stream, batch, position or NO_STREAM)
                        break
                    found = store.stream_position(stream)
                    if found == position + size:
                        landed_unseen += 1  # committed, though its answer was lost
                        break
                    if found != position:
                        raise AssertionError(f"{stream} at {found}, expected {position}(+{size})")
                    known_absent = True
                except (StoreUnavailableError, ConcurrencyError) as exc:
                    if isinstance(exc, StoreUnavailableError):
                        failures += 1
                        progress.put(("batch-unavailable", str(exc)))
                    known_absent = False
                    time.sleep(0.05)  # a writer's retry, not synchronisation
            position += size
            written.append([batch_id, size])
            progress.put(("batch", batch_id))
            time.sleep(rng.uniform(0, 0.004))
        store.close()
        results.put(
            ("ok", {"batches": written, "failures": failures, "landed_unseen": landed_unseen})
        )
    except BaseException:
        results.put(("error", traceback.format_exc()))


# ── helpers shared with the tests ─────────────────────────────────────────────────────────


def describe(event: RecordedEvent) -> tuple[int, str, str, int]:
    return (event.global_position, event.event_id, event.stream_id, event.stream_position)
