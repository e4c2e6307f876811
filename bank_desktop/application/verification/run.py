"""``verify_store``: one pass over every event, all checks fed from it, one report.

The pass reads the store in global order up to the head it had when verification began (a
live store keeps growing; what came later is for the next run), and hands each event to:

- the chain and position checks (:mod:`.chains`), and a seal's check when one is given
  (unless they run in other processes at the same time: :mod:`.chain_pass`);
- the read model, folded exactly as the window and ``serve`` fold it; at the saved snapshot's
  checkpoint the fold is compared with the snapshot (:mod:`.drift`);
- the auditor's money fold (:mod:`.money`), compared with the read model at the end.

It uses only the port's reads, so it runs on every store, and never writes to it. Where the
composition root can read the stored rows (``read``: SQLite, PostgreSQL, memory), each row is
read once: hashed as it is decoded (its link, for the chain checks) and given to the folds as
a rebuild folds it (``BulkFold`` over payloads of just the fields read, the money fold from the
same payloads); every event either path cannot take at a glance is built whole for the
careful path, so every way of reading finds the same. A store that fails half-way is reported
where it failed; the findings made so far still count.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from bank_desktop.application.bulk import collector_paused
from bank_desktop.application.chain import ChainDigest, event_digest
from bank_desktop.application.projections import ReadModel
from bank_desktop.application.projections.bulk_fold import BulkFold
from bank_desktop.application.verification.chain_pass import (
    ChainRunner,
    ChainVerifier,
    LinkedPage,
    LinkedPages,
    self_check,
)
from bank_desktop.application.verification.chains import (
    ChainSummary,
    merged,
    report_prefixes,
)
from bank_desktop.application.verification.drift import compare, load_snapshot
from bank_desktop.application.verification.findings import Finding, Findings
from bank_desktop.application.verification.money import MoneyCheck, MoneySummary
from bank_desktop.application.verification.seals import Seal
from bank_desktop.eventstore.errors import EventStoreError, StoreUnavailableError
from bank_desktop.eventstore.port import (
    EventStore,
    FoldPage,
    RecordedEvent,
    Snapshot,
    SnapshotStore,
)

#: Events read per page.
PAGE: Final = 5000
#: Called with (events verified, events to verify) after every page.
Progress = Callable[[int, int], None]
#: The projections' loggers: a damaged store would otherwise log a line per event it skips,
#: which the report says better, once.
_QUIET: Final = ("bank_desktop.application.projections",)


@dataclass(slots=True)
class VerificationReport:
    """Everything one verification found, with the figures an auditor reads first."""

    store: str
    head: int  #: the global position verified up to
    started_at: datetime
    finished_at: datetime
    events: int = 0
    chains: ChainSummary | None = None
    money: MoneySummary | None = None
    findings: list[Finding] = field(default_factory=list)
    problem_counts: dict[str, int] = field(default_factory=dict)
    notice_counts: dict[str, int] = field(default_factory=dict)
    omitted: int = 0  #: findings counted but not listed (beyond the limit per kind)
    seal: Seal | None = None  #: the seal made, when one was asked for
    sealed_against: Seal | None = None

    @property
    def problems(self) -> int:
        return sum(self.problem_counts.values())

    @property
    def ok(self) -> bool:
        return self.problems == 0

    def summary(self) -> list[str]:
        """The report's head, in sentences."""
        lines = [
            f"Verified {self.events:,} events up to position {self.head:,} of {self.store} "
            f"in {(self.finished_at - self.started_at).total_seconds():.1f} s."
        ]
        if self.chains is not None:
            lines.append(
                f"Chains: {self.chains.streams:,} streams, {self.chains.chained_events:,} "
                f"chained events, {self.chains.unchained_prefix_events:,} from before the chain."
            )
        if self.money is not None:
            from bank_desktop.domain import format_money

            m = self.money
            lines.append(
                f"Money: {m.accounts:,} accounts; openings {format_money(m.openings)} + deposits "
                f"{format_money(m.deposits)} − withdrawals {format_money(m.withdrawals)} − in "
                f"transfer {format_money(m.in_flight)} = balances {format_money(m.balances)}; "
                f"{m.transfers:,} transfers, {m.unsettled:,} not settled."
            )
        if self.sealed_against is not None:
            lines.append(
                f"Checked against the seal of {self.sealed_against.sealed_at} (position "
                f"{self.sealed_against.position:,})."
            )
        if self.ok:
            lines.append("No problems found.")
        else:
            kinds = ", ".join(f"{n:,} {k}" for k, n in sorted(self.problem_counts.items()))
            lines.append(f"{self.problems:,} problem(s) found: {kinds}.")
        if self.omitted:
            lines.append(f"({self.omitted:,} more findings of the same kinds are not listed.)")
        return lines

    def to_json(self) -> dict[str, Any]:
        chains = self.chains
        money = self.money
        return {
            "store": self.store,
            "ok": self.ok,
            "head": self.head,
            "events": self.events,
            "startedAt": self.started_at.isoformat(),
            "finishedAt": self.finished_at.isoformat(),
            "problems": self.problems,
            "problemCounts": self.problem_counts,
            "noticeCounts": self.notice_counts,
            "omitted": self.omitted,
            "chains": None
            if chains is None
            else {
                "streams": chains.streams,
                "chainedEvents": chains.chained_events,
                "unchainedPrefixEvents": chains.unchained_prefix_events,
                "unchainedStreams": chains.unchained_streams,
            },
            "money": None
            if money is None
            else {
                "accounts": money.accounts,
                "openings": str(money.openings),
                "deposits": str(money.deposits),
                "withdrawals": str(money.withdrawals),
                "inFlight": str(money.in_flight),
                "balances": str(money.balances),
                "transfers": money.transfers,
                "unsettled": money.unsettled,
            },
            "sealedAgainst": None
            if self.sealed_against is None
            else {
                "sealedAt": self.sealed_against.sealed_at,
                "globalPosition": self.sealed_against.position,
            },
            "findings": [finding.to_json() for finding in self.findings],
        }


@contextmanager
def _projections_quiet() -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in _QUIET]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def verify_store(
    store: EventStore,
    *,
    snapshots: SnapshotStore | None = None,
    digest: ChainDigest = event_digest,
    against: Seal | None = None,
    seal: bool = False,
    findings: Sequence[Finding] = (),
    progress: Progress | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    chains: ChainRunner | None = None,
    read: LinkedPages | None = None,
) -> VerificationReport:
    """Verify ``store`` (see the module docstring); raises StoreUnavailableError only when it
    cannot be read at all. ``findings``: what the caller found about the store beforehand
    (what this computer remembers of it); ``digest``: the chain digest (the reference, or an
    equal faster one); ``seal``: also make a seal of what was verified; ``chains``: run the
    chain checks there (other processes) instead of in this pass (:mod:`.chain_pass`);
    ``read(after, limit)``: how this pass reads a page as stored (a composition root's
    reader: with each event's link computed as it was decoded when the chains are checked
    here, and the page as a rebuild folds it), instead of ``store.read_all``."""
    started = now()
    found = Findings()
    for finding in findings:
        found.add(finding)
    head = store.head_position()
    # The store's own check (a page check of a SQLite file: a second per 100 MB) runs beside
    # the pass, in C without the GIL; with the chains elsewhere, their first part does it.
    checking = ThreadPoolExecutor(1, "verify-self-check") if chains is None else None
    checked = checking.submit(self_check, store) if checking is not None else None
    local = ChainVerifier(digest, against=against) if chains is None else None
    verification = _Pass(store, found, load_snapshot(snapshots, found), local, read)
    if chains is not None:
        chains.start(head)
        progress = _slowest(progress, chains)
    try:
        with collector_paused(), _projections_quiet():
            verification.read(head, progress)
        if checked is not None:
            found.extend(checked.result())
    finally:
        if checking is not None:
            checking.shutdown(wait=True)
    model = verification.model
    if local is not None:
        parts = [local.result(model.checkpoint, keep_heads=seal)]
    else:
        assert chains is not None
        parts = chains.results(
            None if progress is None else lambda reached: progress(reached, head)
        )
    summary = merged([part.summary for part in parts])
    for part in parts:
        found.merge(part.findings)
    report_prefixes(summary, found)
    _history(model, found)
    money_summary = verification.money.finish(
        model, now=now(), read_stream=lambda stream_id: _read_whole(store, stream_id)
    )
    made = None
    if seal:
        heads = {sid: h for part in parts for sid, h in (part.heads or {}).items()}
        made = Seal(
            store.url,
            _identity(model, store),
            model.checkpoint,
            model.checkpoint_event_id,
            now().isoformat(timespec="seconds"),
            heads,
            found.problem_count,
        )
    return VerificationReport(
        store=store.url,
        head=model.checkpoint,
        started_at=started,
        finished_at=now(),
        events=verification.events,
        chains=summary,
        money=money_summary,
        findings=found.kept,
        problem_counts=dict(found.problems),
        notice_counts=dict(found.notices),
        omitted=found.omitted,
        seal=made,
        sealed_against=against,
    )


def _slowest(progress: Progress | None, chains: ChainRunner) -> Progress | None:
    """Progress of the read-model pass held back to where the chain checks are."""
    if progress is None:
        return None
    report = progress

    def both(done: int, total: int) -> None:
        report(min(done, chains.reached()), total)

    return both


class _Pass:
    """The one read of the store here, and everything fed from it."""

    def __init__(
        self,
        store: EventStore,
        found: Findings,
        snapshot: Snapshot | None,
        chains: ChainVerifier | None,
        read: LinkedPages | None,
    ) -> None:
        self.store = store
        self.read_linked = read
        self.found = found
        self.chains = chains
        self.money = MoneyCheck(found)
        self.model = ReadModel()
        self._bulk = BulkFold(self.model, self._whole)
        self._current: LinkedPage | None = None
        self._indexes: dict[int, int] | None = None  #: the current page's rows by position
        self.snapshot = snapshot
        self.events = 0

    def read(self, head: int, progress: Progress | None) -> None:
        """Every event up to ``head``, page by page; a store failing half-way is a finding."""
        self._compare_at(0)
        after = 0
        while after < head:
            page = self._page(after, head)
            if not page:
                break
            if isinstance(page, LinkedPage):
                self._fold_linked(page)
                after = page.rows[-1][0]
                self.events += len(page.rows)
            else:
                self.money.fold(page)
                self._apply(page)
                after = page[-1].global_position
                self.events += len(page)
            if progress is not None:
                progress(after, head)
        if self.snapshot is not None:  # beyond the store's end
            compare(self.snapshot, self.model, self.found, _identity(self.model, self.store))

    def _page(self, after: int, head: int) -> Sequence[RecordedEvent] | LinkedPage:
        """The page after ``after``, its chains checked when they are checked here."""
        limit = min(PAGE, head - after)
        try:
            page = self._read(after, limit)
        except StoreUnavailableError:
            if after == 0:
                raise
            self.found.problem(
                "store",
                f"the store became unavailable during verification after position {after:,}: "
                "the rest was not verified",
            )
            return []
        except EventStoreError as exc:
            self.found.problem(
                "store",
                f"the events after position {after:,} cannot be read ({exc}); the rest was not "
                "verified",
                global_position=after + 1,
            )
            return []
        if not (page.rows if isinstance(page, LinkedPage) else page):
            self.found.problem(
                "position",
                f"the store said its last event is at position {head:,}, but nothing follows "
                f"position {after:,}",
            )
            return []
        return page

    def _read(self, after: int, limit: int) -> Sequence[RecordedEvent] | LinkedPage:
        chains = self.chains
        if self.read_linked is not None:
            linked = self.read_linked(after, limit)
            if chains is not None:
                chains.feed_linked(linked)
            if linked.fold is not None:
                return linked
            if linked.events is not None:
                return linked.events
            return [linked.event_at(index) for index in range(len(linked.rows))]
        if chains is None:  # checked elsewhere: no metadata needed here
            return self.store.read_all(after=after, limit=limit, with_metadata=False)
        events = self.store.read_all(after=after, limit=limit)
        chains.feed(events)
        return events

    def _fold_linked(self, linked: LinkedPage) -> None:
        """The money fold and the read model's (as a rebuild folds: ``BulkFold``) over a page
        read as stored, stopping at the snapshot's checkpoint to compare."""
        fold, rows = linked.fold, linked.rows
        assert fold is not None
        self._current, self._indexes = linked, None
        self.money.fold_rows(fold.rows, fold.payloads, linked.event_at)
        model = self.model
        if model.checkpoint == 0 and model.store_identity is None:  # as ReadModel.apply does
            model.store_identity = next((row[3] for row in rows if row[0] == 1), None)
        snapshot = self.snapshot
        if snapshot is None or not snapshot.checkpoint <= rows[-1][0]:
            self._bulk.fold(fold)
            return
        cut = sum(1 for row in rows if row[0] <= snapshot.checkpoint)
        self._bulk.fold(
            FoldPage(fold.rows[:cut], fold.payloads[:cut], rows[cut - 1][3] if cut else None)
        )
        self._compare_at(snapshot.checkpoint)
        self._bulk.fold(FoldPage(fold.rows[cut:], fold.payloads[cut:], fold.last_event_id))

    def _whole(self, global_position: int) -> RecordedEvent:
        """An event of the page being folded, whole (BulkFold's careful path)."""
        linked = self._current
        assert linked is not None
        if self._indexes is None:
            self._indexes = {row[0]: index for index, row in enumerate(linked.rows)}
        index = self._indexes.get(global_position)
        if index is None:
            raise LookupError(f"no event at global position {global_position} in this page")
        return linked.event_at(index)

    def _apply(self, page: Sequence[RecordedEvent]) -> None:
        """Fold the page into the read model, stopping at the snapshot's checkpoint to compare."""
        snapshot = self.snapshot
        if snapshot is None or not snapshot.checkpoint <= page[-1].global_position:
            self.model.apply(page)
            return
        cut = sum(1 for e in page if e.global_position <= snapshot.checkpoint)
        self.model.apply(page[:cut])
        self._compare_at(snapshot.checkpoint)
        self.model.apply(page[cut:])

    def _compare_at(self, checkpoint: int) -> None:
        if self.snapshot is not None and self.snapshot.checkpoint == checkpoint:
            identity = _identity(self.model, self.store) if checkpoint else None
            compare(self.snapshot, self.model, self.found, identity)
            self.snapshot = None


def _identity(model: ReadModel, store: EventStore) -> str | None:
    if model.store_identity is not None:
        return model.store_identity
    first = store.read_all(limit=1, with_metadata=False)
    return first[0].event_id if first else None


def _history(model: ReadModel, found: Findings) -> None:
    """Accounts whose history the read model could not fully apply (an event of a type this
    version does not know, or a malformed one): their balance is unknown."""
    for row in model.balances:
        if row.unrecognized is not None:
            found.problem(
                "history",
                f"the history cannot be read: {row.unrecognized}; its balance is unknown",
                stream_id=row.account_id,
            )
    unknown = model.unknown_types
    if unknown:
        kinds = ", ".join(f"{name!r} ×{count:,}" for name, count in sorted(unknown.items()))
        found.notice(
            "history",
            f"events of types the read model does not fold (left as they are): {kinds}",
        )


def _read_whole(store: EventStore, stream_id: str) -> list[RecordedEvent]:
    out: list[RecordedEvent] = []
    while True:
        page = store.read_stream(stream_id, after=out[-1].stream_position if out else 0, limit=PAGE)
        out.extend(page)
        if len(page) < PAGE:
            return out
