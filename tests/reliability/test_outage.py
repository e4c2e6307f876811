"""Outage: the store goes away mid-run, commands fail fast and cleanly, everything resumes.

Two clerk processes work (re-sending a command the store could not take with the same command
id until it has an outcome, as the window does), a third process makes atomic multi-event
appends (looking, after a failure, whether the batch landed before writing it again), and a
SubscriptionRunner in the test process records every event it delivers.

PostgreSQL, reached through a TCP relay (``proxy.py``) because the server is shared and must
not be stopped:

1. a storm of ``pg_terminate_backend`` on every backend of this test (chosen by the
   application_name its URL sets, so no other session is touched): the pool must replace its
   dead connections and the clerks carry on;
2. a sustained outage (the relay cut: connections drop, new ones are refused): commands fail
   within the configured timeout with StoreUnavailableError naming the store, password
   masked; the subscription reports "offline since …"; once the relay is back everything
   resumes and the subscription goes live again.

SQLite: another connection holds the write lock (``BEGIN IMMEDIATE``); writers fail with
StoreUnavailableError "busy" within the busy timeout. WAL readers are never blocked by a
writer, so the subscription stays live throughout, and that is asserted too.

Afterwards: the subscriber saw every event exactly once in order; the audit finds nothing
half-written (every batch whole and once, every command id in one append); every clerk command
was applied exactly once or refused, however often it was re-sent; the command the test itself
tried during the outage left no trace; and no log record or process output shows the password.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from bank_desktop.application import BankService, SubscriptionRunner, SubscriptionState
from bank_desktop.eventstore import StoreUnavailableError, open_store, redact_url
from tests.conftest import POSTGRES_SERVER
from tests.reliability import workers
from tests.reliability.audit import Audit, audit_store, check_clerk_commands, read_everything
from tests.reliability.conftest import Figures, Target, scaled
from tests.reliability.helpers import SPAWN, Progress, Recorder, gather
from tests.reliability.proxy import Relay

pytestmark = pytest.mark.slow

CLERKS = 2
TIMEOUT = 1.0  #: the clerks' connect/busy timeout: how fast a command must give up
SECRET = "hunter2-never-shown"  #: a password in the URL (trust auth ignores it)
DONE = ("applied", "rejected")
OFFLINE, LIVE = SubscriptionState.OFFLINE, SubscriptionState.LIVE


class ServerOutage:
    """PostgreSQL: every connection goes through a relay that the test cuts and restores;
    a storm terminates this test's backends on the real server."""

    def __init__(self, target: Target) -> None:
        server = urlsplit(target.url)
        self.relay = Relay((server.hostname or "", server.port or 5432))
        netloc = f"{server.username}:{SECRET}@127.0.0.1:{self.relay.port}"
        self.url = urlunsplit(server._replace(netloc=netloc))
        self.application_name = target.application_name or ""

    def storm(self) -> int:
        """End every backend of this test's connections; returns how many there were."""
        with psycopg.connect(POSTGRES_SERVER, autocommit=True, connect_timeout=5) as admin:
            row = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = %s AND pid <> pg_backend_pid()",
                (self.application_name,),
            ).fetchone()
        return int(row[0]) if row else 0

    def cut(self) -> None:
        self.relay.cut()

    def restore(self) -> None:
        self.relay.restore()

    def close(self) -> None:
        self.relay.close()


class LockOutage:
    """SQLite: another connection holds the write lock while the store is "away"."""

    def __init__(self, target: Target) -> None:
        self.url = target.url
        self.path = target.path or Path()
        self.raw: sqlite3.Connection | None = None

    def storm(self) -> int:
        return 0  # nothing to terminate: there is no server

    def cut(self) -> None:
        self.raw = sqlite3.connect(self.path, isolation_level=None)
        self.raw.execute("BEGIN IMMEDIATE")

    def restore(self) -> None:
        if self.raw is not None:
            self.raw.execute("ROLLBACK")
            self.raw.close()
            self.raw = None

    def close(self) -> None:
        self.restore()


def _timed(action: Any) -> tuple[BaseException | None, float]:
    """How ``action()`` failed (None if it did not), and after how many seconds."""
    started = time.monotonic()
    try:
        action()
    except Exception as exc:
        return exc, time.monotonic() - started
    return None, time.monotonic() - started


def _check_batches(audit: Audit, everything: list[Any], written: list[list[Any]]) -> None:
    """Every multi-event append is in the store once and whole, or not at all."""
    parts: dict[str, list[Any]] = {}
    for event in everything:
        if event.type == "batch.part":
            parts.setdefault(event.data["batch"], []).append(event)
    if sorted(parts) != sorted(batch_id for batch_id, _ in written):
        audit.violation(f"batches stored {sorted(parts)[:5]}…, written {written[:5]}…")
    for batch_id, size in written:
        found = parts.get(batch_id, [])
        first = found[0].global_position if found else 0
        if [e.data["part"] for e in found] != list(range(size)) or [
            e.global_position for e in found
        ] != list(range(first, first + size)):
            audit.violation(f"batch {batch_id} of {size} stored as {found}")


def _check_errors(
    postgres: bool,
    url: str,
    deposit: tuple[BaseException | None, float],
    opening: tuple[BaseException | None, float],
    failures: list[dict[str, Any]],
) -> None:
    """Commands failed with the store's own error, naming the store, never the password."""
    assert isinstance(deposit[0], StoreUnavailableError), repr(deposit[0])
    assert len(failures) >= CLERKS * scaled(3)
    texts = [str(deposit[0]), *(f["message"] for f in failures)]
    if postgres:  # on SQLite, opening while another connection writes is fine
        assert isinstance(opening[0], StoreUnavailableError), repr(opening[0])
        texts.append(str(opening[0]))
    shown = redact_url(url)
    assert SECRET not in shown
    assert ("***" in shown) is postgres
    for text in texts:
        assert SECRET not in text
        assert (shown if postgres else "busy") in text, text


def _check_offline(postgres: bool, during: list[Any], offline: list[Any]) -> None:
    """Offline while the server was away (PostgreSQL), never offline for a held SQLite write
    lock (WAL readers are not blocked); "offline since …" without the password."""
    if postgres:
        assert during[-1].state is OFFLINE, during[-3:]
    else:
        assert OFFLINE not in [s.state for s in during]
    for status in offline:
        assert status.describe().startswith("offline since "), status.describe()
        assert SECRET not in status.describe()


def test_an_outage_fails_fast_writes_nothing_half_and_resumes_without_gaps(
    target: Target,
    figures: Figures,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)  # everything this process logs, the driver's pool too
    postgres = target.kind == "postgresql"
    outage = ServerOutage(target) if postgres else LockOutage(target)
    url = outage.url
    store = open_store(url)
    bank = BankService(store, clerk_id="setup")
    accounts = [bank.open_account(f"cust-{i}", "300", command_id=f"open-{i}") for i in range(4)]

    seen = Recorder()
    runner_store = workers.open_for(url, timeout=TIMEOUT)
    runner = SubscriptionRunner(
        runner_store,
        seen.on_events,
        on_status=seen.on_status,
        idle_wait=0.2,
        max_backoff=0.5,
        name="outage-subscriber",
    )
    probe = BankService(workers.open_for(url, timeout=TIMEOUT), clerk_id="probe")
    stop = SPAWN.Event()
    messages = SPAWN.Queue()
    progress = Progress(messages)
    results = SPAWN.Queue()
    clerks = [
        SPAWN.Process(
            target=workers.outage_clerk,
            args=(url,),
            kwargs={
                "accounts": accounts,
                "seed": seed,
                "timeout": TIMEOUT,
                "stop": stop,
                "progress": messages,
                "results": results,
            },
            name=f"clerk-{seed}",
            daemon=True,
        )
        for seed in range(CLERKS)
    ]
    batch_results = SPAWN.Queue()
    writer = SPAWN.Process(
        target=workers.batch_writer,
        args=(url,),
        kwargs={
            "seed": 0,
            "timeout": TIMEOUT,
            "stop": stop,
            "progress": messages,
            "results": batch_results,
        },
        name="batch-writer",
        daemon=True,
    )
    terminated = storms = 0
    runner.start()
    try:
        for process in [*clerks, writer]:
            process.start()
        seen.wait(lambda: seen.last_state() is LIVE, what="subscription live")
        progress.wait_for(DONE, scaled(20))

        # 1. PostgreSQL: terminated backends, again and again
        for _ in range(scaled(5) if postgres else 0):
            terminated += outage.storm()
            storms += 1
            progress.wait_for(DONE, 5)  # the clerks got new connections and went on
        seen.wait(lambda: seen.last_state() is LIVE, what="live after the storm")
        storm_failures = progress.count("unavailable")

        # 2. the outage proper
        outage.cut()
        progress.wait_for(("unavailable",), CLERKS * scaled(3))
        progress.wait_for(("batch-unavailable",), 1)
        deposit = _timed(lambda: probe.deposit(accounts[0], "1.00", command_id="probe-1"))
        opening = _timed(lambda: workers.open_for(url, timeout=TIMEOUT).close())
        if postgres:
            seen.wait(lambda: seen.last_state() is OFFLINE, what="offline")
        with seen.changed:
            statuses_in_outage = list(seen.statuses)
        outage.restore()
        progress.wait_for(DONE, scaled(20))
        seen.wait(lambda: seen.last_state() is LIVE, what="live again")
    finally:
        stop.set()
        outage.restore()
        try:
            replies = gather(results, clerks)
            (batches,) = gather(batch_results, [writer])
        finally:
            progress.stop()
            for process in [*clerks, writer]:
                if process.is_alive():
                    process.kill()
    head = store.head_position()
    seen.wait(lambda: seen.position >= head, what=f"subscriber at the head {head}")
    runner.stop()
    runner_store.close()
    probe.store.close()

    everything = read_everything(store)
    audit = audit_store(store)
    commands = [command for reply in replies for command in reply["commands"]]
    failures = [failure for reply in replies for failure in reply["failures"]]
    check_clerk_commands(audit, commands, prefix="outage-")
    if "probe-1" in audit.by_command:
        audit.violation("the deposit tried during the outage was written")
    _check_batches(audit, everything, batches["batches"])
    if seen.problems or seen.events != everything:
        audit.violation(f"the subscriber's delivery differs from the store: {seen.problems}")
    offline = [s for s in seen.statuses if s.state is OFFLINE]
    printed = capfd.readouterr()  # the clerk processes' stderr too: they inherit ours
    figures.add(
        store=target.kind,
        commands=len(commands),
        applied=sum(1 for c in commands if c["outcome"] == "applied"),
        rejected=sum(1 for c in commands if c["outcome"] == "rejected"),
        unavailable_errors=len(failures),
        of_which_in_terminate_storm=storm_failures,
        resent_until_done=sum(1 for c in commands if c["attempts"] > 1),
        atomic_batches=len(batches["batches"]),
        batch_failures=batches["failures"],
        batches_committed_without_answer=batches["landed_unseen"],
        slowest_failure_s=max((f["seconds"] for f in failures), default=0.0),
        probe_deposit_failed_after_s=deposit[1],
        probe_open_failed_after_s=opening[1] if opening[0] else None,
        backends_terminated=terminated,
        offline_reports=len(offline),
        log_records_checked=len(caplog.records),
        output_lines_checked=len((printed.out + printed.err).splitlines()),
        events_checked=audit.events + len(seen.events),
        violations=len(audit.violations),
    )
    assert audit.violations == [], audit.summary()

    _check_errors(postgres, url, deposit, opening, failures)
    _check_offline(postgres, statuses_in_outage, offline)
    # Nothing logged here, nor written to stderr by any process (the clerks inherit ours),
    # shows the password.
    logged = [record.getMessage() for record in caplog.records]
    assert not [text for text in logged if SECRET in text]
    assert SECRET not in printed.out + printed.err
    assert (storms > 0) is postgres
    assert terminated >= storms
    final_states = [s.state for s in seen.statuses]
    assert final_states[-2:] == [LIVE, SubscriptionState.STOPPED], final_states[-5:]
    store.close()
    outage.close()
