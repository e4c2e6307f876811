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
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from bank_desktop.application.chain import CHAIN_TAG, COVERED_METADATA, event_digest
from bank_desktop.application.verification import (
    Finding,
    Progress,
    Seal,
    VerificationReport,
    verify_store,
)
from bank_desktop.eventstore import (
    StoreDamagedError,
    known_store_problem,
    open_snapshot_store,
    open_store_for_verification,
    redact_url,
)
from bank_desktop.eventstore.canonical import fast_digest
from bank_desktop.private_files import make_private_dirs, write_atomically

_log = logging.getLogger(__name__)

#: The chain digest through msgspec: equal to the reference, faster (eventstore/canonical.py).
DIGEST: Final = fast_digest(CHAIN_TAG, COVERED_METADATA, event_digest)


def run_verification(
    url: str,
    data_directory: Path,
    *,
    against: Seal | None = None,
    seal: bool = False,
    progress: Progress | None = None,
) -> VerificationReport:
    """Verify the store ``url`` names and remember the outcome. Raises ``EventStoreError``
    when the store cannot be opened at all (unavailable, or not a Bank Desktop store); a store
    too damaged to open is a report with that one problem."""
    started = datetime.now(UTC)
    try:
        store = open_store_for_verification(url)
    except StoreDamagedError as exc:
        report = VerificationReport(
            store=redact_url(url),
            head=0,
            started_at=started,
            finished_at=datetime.now(UTC),
            findings=[Finding("store", f"the store cannot be opened: {exc}")],
            problem_counts={"store": 1},
        )
        remember_verification(data_directory, report)
        return report
    try:
        problem = known_store_problem(store, data_directory)
        report = verify_store(
            store,
            snapshots=open_snapshot_store(store, data_directory),
            digest=DIGEST,
            against=against,
            seal=seal,
            findings=[] if problem is None else [Finding("store", problem)],
            progress=progress,
        )
    finally:
        store.close()
    remember_verification(data_directory, report)
    return report


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
