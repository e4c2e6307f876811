"""Verification as the command line and the window run it: open the store for verification,
add what only this computer knows, verify, and remember the outcome.

``bank-desktop verify`` and Help, Verify history both come through :func:`run_verification`,
so they find the same things. The outcome of the last verification of each store is kept in
the data folder beside the store records (``verifications/``), where the window reads it at
start to warn in its status bar while the last verification found problems.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, Final

from bank_desktop.application.chain import (
    CHAIN_TAG,
    COVERED_METADATA,
    HASH_KEY,
    PREV_KEY,
    event_digest,
)
from bank_desktop.application.projections import ReadModel
from bank_desktop.application.projections.bulk_fold import fold_fields
from bank_desktop.application.verification import (
    Finding,
    Progress,
    Seal,
    VerificationReport,
    verify_store,
)
from bank_desktop.application.verification.chain_pass import (
    ChainsResult,
    LinkedPage,
    LinkedPages,
    check_chains,
    part_of,
)
from bank_desktop.application.verification.money import MoneyCheck
from bank_desktop.eventstore import (
    EventStore,
    EventStoreError,
    StoreDamagedError,
    StoreUnavailableError,
    known_store_problem,
    open_snapshot_store,
    open_store_for_verification,
    redact_url,
)
from bank_desktop.eventstore.canonical import Link, StoredReading, fast_digest
from bank_desktop.eventstore.port import FoldFields, StoredRow, StoredRowReader
from bank_desktop.eventstore.urls import sqlite_path
from bank_desktop.private_files import make_private_dirs, write_atomically

_log = logging.getLogger(__name__)

#: What the verification pass reads of each event's data for its folds: what a rebuild's
#: fold reads, and what the money fold sums.
VERIFICATION_FOLD_FIELDS: Final = MoneyCheck.fold_fields(fold_fields(ReadModel()))
#: The chain digest through msgspec: equal to the reference, faster (eventstore/canonical.py).
DIGEST: Final = fast_digest(CHAIN_TAG, COVERED_METADATA, (PREV_KEY, HASH_KEY), event_digest)


def run_verification(
    url: str,
    data_directory: Path,
    *,
    against: Seal | None = None,
    seal: bool = False,
    progress: Progress | None = None,
    parallel: bool | None = None,
) -> VerificationReport:
    """Verify the store ``url`` names and remember the outcome. Raises ``EventStoreError``
    when the store cannot be opened at all (unavailable, or not a Bank Desktop store); a store
    too damaged to open is a report with that one problem.

    ``parallel``: check the chains in other processes while this one folds the read model
    (:class:`ProcessChains`); by default where it pays: a SQLite or PostgreSQL store of
    :data:`PARALLEL_FROM` events or more, on a machine with a core to spare."""
    started = datetime.now(UTC)
    try:
        store = open_store_for_verification(url)
    except StoreDamagedError as exc:
        report = VerificationReport(
            store=_shown(url),
            head=0,
            started_at=started,
            finished_at=datetime.now(UTC),
            findings=[Finding("store", f"the store cannot be opened: {exc}")],
            problem_counts={"store": 1},
        )
        remember_verification(data_directory, report)
        return report
    chains = None
    try:
        problem = known_store_problem(store, data_directory)
        if parallel is None:
            parts = _chain_parts(url, store)
        else:
            parts = max(1, chain_processes()) if parallel else 0
        if parts:
            chains = ProcessChains(url, against=against, keep_heads=seal, parts=parts)
        report = verify_store(
            store,
            snapshots=open_snapshot_store(store, data_directory),
            digest=DIGEST,
            against=against,
            seal=seal,
            findings=[] if problem is None else [Finding("store", problem)],
            progress=progress,
            chains=chains,
            read=linked_reader(store, links=chains is None, fields=VERIFICATION_FOLD_FIELDS),
        )
    finally:
        if chains is not None:
            chains.stop()
        store.close()
    remember_verification(data_directory, report)
    return report


def _shown(url: str) -> str:
    """The store as an opened store names itself (a SQLite file by its absolute path), so the
    outcome is remembered under the same key whether or not the store could be opened."""
    text = url.strip()
    if text.split(":", 1)[0].lower() == "sqlite":
        return f"sqlite://{sqlite_path(text).absolute()}"
    return redact_url(text)


# ── chain checks in other processes ───────────────────────────────────────────────────────

#: Stores smaller than this are verified in one process (starting others costs ~0.3 s).
PARALLEL_FROM: Final = 50_000


def chain_processes() -> int:
    """How many processes check chains: the cores idle now (to the nearest whole core), but
    the one the read model is folded on. The two halves of the work are about equal, so a
    second core nearly halves the time; on a machine already busy, other processes only
    compete for the same cores (and read the store once more each): then none."""
    cpus = os.cpu_count() or 1
    return max(0, min(round(idle_cores(cpus)) - 1, 4))


def idle_cores(cpus: int, *, sample: float = 0.2) -> float:
    """The cores no process uses, measured over ``sample`` seconds where the kernel tells
    (``/proc/stat``), else from the one-minute load average. The load average lags: right
    after a busy minute (a rebuild, the window's own start) it still counts the cores that
    have since gone idle, and verification then ran on one core beside an idle one."""
    first = _cpu_times()
    if first is not None:
        time.sleep(sample)
        second = _cpu_times()
        if second is not None and second[1] > first[1]:
            return cpus * (second[0] - first[0]) / (second[1] - first[1])
    try:
        return cpus - os.getloadavg()[0]
    except OSError:  # no load average here either: assume the machine is ours
        return float(cpus)


def _cpu_times() -> tuple[int, int] | None:
    """(idle, total) clock ticks of all CPUs since boot, or None where there is no
    ``/proc/stat``."""
    try:
        with open("/proc/stat", encoding="ascii") as handle:
            fields = handle.readline().split()
    except (OSError, UnicodeDecodeError):
        return None
    if len(fields) < 5 or fields[0] != "cpu":
        return None
    try:
        # user nice system idle iowait irq softirq steal (guest time is inside user)
        ticks = [int(value) for value in fields[1:9]]
    except ValueError:
        return None
    return ticks[3] + ticks[4], sum(ticks)


def _chain_parts(url: str, store: EventStore) -> int:
    """Processes to check chains in beside this one (0: none pays)."""
    scheme = url.strip().split(":", 1)[0].lower()
    if (
        scheme not in ("sqlite", "postgresql", "postgres")
        or getattr(sys, "frozen", False)  # a bundle cannot start Python processes
        or store.head_position() < PARALLEL_FROM
    ):
        return 0
    return chain_processes()


class ProcessChains:
    """The chain checks in ``parts`` processes, each for one part of the streams, reading the
    store on its own (``ChainRunner``). Processes are spawned (never forked: the window's
    threads), and stopped if the verification ends early."""

    def __init__(self, url: str, *, against: Seal | None, keep_heads: bool, parts: int) -> None:
        self._url = url
        self._against = against
        self._keep_heads = keep_heads
        self._parts = parts
        self._context = multiprocessing.get_context("spawn")
        self._reached = self._context.Array("q", parts, lock=False)
        self._children: list[tuple[BaseProcess, Connection]] = []

    def start(self, head: int) -> None:
        for part in range(self._parts):
            receiver, sender = self._context.Pipe(duplex=False)
            child = self._context.Process(
                target=_check_chains_of_part,
                args=(self._url, head, self._against, part, self._parts, self._keep_heads),
                kwargs={"reached": self._reached, "sender": sender},
                name=f"bank-desktop-verify-chains-{part}",
                daemon=True,
            )
            child.start()
            sender.close()
            self._children.append((child, receiver))

    def reached(self) -> int:
        return int(min(self._reached))

    def results(self, progress: Callable[[int], None] | None = None) -> list[ChainsResult]:
        out = []
        for child, receiver in self._children:
            while not receiver.poll(0.1):
                if progress is not None:
                    progress(self.reached())
                if not child.is_alive() and not receiver.poll():
                    raise StoreUnavailableError(
                        f"The chain check ({child.name}) ended without an answer "
                        f"(exit code {child.exitcode})."
                    )
            try:
                kind, value = receiver.recv()
            except EOFError:  # it ended (was killed) before answering
                raise StoreUnavailableError(
                    f"The chain check ({child.name}) ended without an answer "
                    f"(exit code {child.exitcode})."
                ) from None
            if kind == "error":
                raise value
            out.append(value)
        for child, _ in self._children:
            child.join()
        return out

    def stop(self) -> None:
        """End every process still running (the verification failed or is done)."""
        for child, receiver in self._children:
            if child.is_alive():
                child.terminate()
            child.join()
            receiver.close()
        self._children = []


def _check_chains_of_part(  # noqa: PLR0917 - a process target's arguments
    url: str,
    head: int,
    against: Seal | None,
    part: int,
    parts: int,
    keep_heads: bool,
    *,
    reached: Any,
    sender: Connection,
) -> None:
    """In a process of its own: check the chains of one part, send back the result."""
    try:
        store = open_store_for_verification(url)
        try:

            def progress(at: int) -> None:
                reached[part] = at

            result = check_chains(
                store,
                head,
                DIGEST,
                against=against,
                part=part,
                parts=parts,
                keep_heads=keep_heads,
                progress=progress,
                read=linked_reader(store, events=False, part=part, parts=parts),
                with_self_check=part == 0,
            )
        finally:
            store.close()
        sender.send(("ok", result))
    except EventStoreError as exc:
        sender.send(("error", exc))
    except Exception as exc:  # anything else still reaches the parent, in words
        sender.send(("error", StoreUnavailableError(f"The chain check failed: {exc!r}")))
    finally:
        sender.close()


def linked_reader(
    store: EventStore,
    *,
    links: bool = True,
    fields: FoldFields | None = None,
    events: bool = True,
    part: int = 0,
    parts: int = 1,
) -> LinkedPages | None:
    """Pages read as stored (``eventstore.canonical``), where the store can hand over its rows
    as stored; None elsewhere (the events are read as usual and hashed by the chain check).
    ``links``: hash each row as it is decoded, for the chain checks (with ``part`` of
    ``parts``, only the rows of the streams of that part: the others are checked elsewhere);
    ``fields``: give the page as a rebuild folds it (each payload just these fields), else
    (with ``events``) every event without metadata. Whole events are built as the careful
    paths ask for them."""
    if not isinstance(store, StoredRowReader):
        return None
    reader = store
    reading = StoredReading(CHAIN_TAG, COVERED_METADATA, (PREV_KEY, HASH_KEY))
    event_of = reading.event

    def linked(rows: list[StoredRow]) -> list[Link | None] | None:
        if not links:
            return None
        if parts == 1:
            return reading.links(rows)
        mine = [index for index, row in enumerate(rows) if part_of(row[1], parts) == part]
        found: list[Link | None] = [None] * len(rows)
        for index, link in zip(mine, reading.links([rows[i] for i in mine]), strict=True):
            found[index] = link
        return found

    def read(after: int, limit: int) -> LinkedPage:
        rows = reader.read_stored(after=after, limit=limit)
        return LinkedPage(
            rows,
            linked(rows),
            lambda index: event_of(rows[index]),
            reading.events(rows) if events and fields is None else None,
            None if fields is None else reading.fold_page(rows, fields),
        )

    return read


# ── the last outcome, per store ───────────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class LastVerification:
    """What the last verification of a store concluded, for the window's status bar."""

    store: str
    finished_at: str  #: ISO-8601
    problems: int
    summary: list[str]

    @property
    def ok(self) -> bool:
        return self.problems == 0

    @property
    def when(self) -> str:
        return self.finished_at.replace("T", " ")[:16]


def _file(data_directory: Path, store_url: str) -> Path:
    key = hashlib.sha256(redact_url(store_url).encode()).hexdigest()[:16]
    return data_directory / "verifications" / f"{key}.json"


def remember_verification(data_directory: Path, report: VerificationReport) -> None:
    """Keep the outcome (best effort: a folder that cannot be written costs only the warning)."""
    record: dict[str, Any] = {
        "store": report.store,
        "finishedAt": report.finished_at.isoformat(),
        "problems": report.problems,
        "summary": report.summary(),
    }
    path = _file(data_directory, report.store)
    try:
        make_private_dirs(path.parent)
        write_atomically(path, json.dumps(record, ensure_ascii=False).encode())
    except OSError as exc:
        _log.warning("Cannot remember the verification of %s: %s", report.store, exc)


def last_verification(data_directory: Path, store_url: str) -> LastVerification | None:
    """The outcome of the last verification of ``store_url`` here, or None."""
    path = _file(data_directory, store_url)
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
        return LastVerification(
            str(value["store"]),
            str(value["finishedAt"]),
            int(value["problems"]),
            [str(line) for line in value.get("summary", [])],
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        _log.warning("Ignoring the unreadable verification record %s: %s", path, exc)
        return None
