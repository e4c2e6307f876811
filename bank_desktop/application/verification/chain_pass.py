"""The chain checks as a pass of their own, over all streams or one part of them.

Hashing every event is most of a verification's cost. On one core it rides along the read-model
pass (:mod:`.run`, one read of the store). Where the store can be opened again by another
process (SQLite, PostgreSQL) and there are cores to spare, the composition root runs
:func:`check_chains` in other processes instead, each for one part of the streams (split by a
stable hash of the stream id; each hashes only its own streams' rows), while the read-model
pass reads the rows for the folds alone; the parts' results are merged. Either way the same
checks find the same things.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from bank_desktop.application.bulk import collector_paused
from bank_desktop.application.chain import ChainDigest
from bank_desktop.application.verification.chains import ChainCheck, ChainSummary, Link
from bank_desktop.application.verification.findings import Finding, Findings
from bank_desktop.application.verification.seals import Seal, SealCheck
from bank_desktop.eventstore.errors import EventStoreError, StoreUnavailableError
from bank_desktop.eventstore.port import (
    EventStore,
    FoldPage,
    RecordedEvent,
    StoredRow,
    StoreSelfCheck,
)

#: Events read per page.
PAGE: Final = 5000


@dataclass(frozen=True, slots=True)
class LinkedPage:
    """Events read as stored, hashed as they were decoded: the rows, each one's link (when
    the chains are checked here), and each one's event as ``read_all`` delivers it, built when
    the careful path needs one; for the folds, either every event (without metadata) or the
    page as a rebuild folds it (``fold``: each payload just the fields the fold reads)."""

    rows: Sequence[StoredRow]
    links: Sequence[Link | None] | None
    event_at: Callable[[int], RecordedEvent]
    events: Sequence[RecordedEvent] | None = None
    fold: FoldPage | None = None


#: Reads the page after a global position, up to a limit (a composition root's reader).
LinkedPages = Callable[[int, int], LinkedPage]


def part_of(stream_id: str, parts: int) -> int:
    """Which of ``parts`` a stream belongs to: a hash that is the same in every process."""
    return zlib.crc32(stream_id.encode("utf-8", "surrogatepass")) % parts


@dataclass(slots=True)
class ChainsResult:
    """What the chain checks of one part found; picklable, to come back from a process."""

    findings: Findings
    summary: ChainSummary
    events: int  #: events of this part's streams checked
    heads: dict[str, tuple[int, str]] | None = None  #: stream → (position, computed head)


class ChainVerifier:
    """The chain, position and seal checks of one part of the streams (or of all of them)."""

    def __init__(
        self,
        digest: ChainDigest,
        *,
        against: Seal | None = None,
        part: int = 0,
        parts: int = 1,
    ) -> None:
        self.findings = Findings()
        self._chains = ChainCheck(self.findings, digest)
        self._part, self._parts = part, parts
        owns = None if parts == 1 else (lambda stream_id: part_of(stream_id, parts) == part)
        self._sealing = (
            None
            if against is None
            else SealCheck(against, self.findings, owns=owns, whole_store=part == 0)
        )
        self.events = 0
        self.identity: str | None = None  #: the id of the first event read

    def feed(self, page: Sequence[RecordedEvent]) -> None:
        """Check a page of events (in global order, following the previous page)."""
        if self.identity is None and page:
            self.identity = page[0].event_id
        check, sealing = self._chains.check, self._sealing
        whole, parts, part = self._part == 0, self._parts, self._part
        if whole:
            check_global = self._chains.check_global
            for event in page:
                check_global(event)
                if sealing is not None:
                    sealing.note(event)
        if sealing is None:  # the hot path: the chains only
            mine = page if parts == 1 else [e for e in page if part_of(e.stream_id, parts) == part]
            self.events += len(mine)
            self._chains.check_all(mine)
            return
        for event in page:
            if parts != 1 and part_of(event.stream_id, parts) != part:
                continue
            self.events += 1
            chain = check(event)
            sealing.check(event, chain)

    def feed_linked(self, page: LinkedPage) -> None:
        """:meth:`feed` for a page read as stored, each row with its link."""
        rows, links, event_at = page.rows, page.links, page.event_at
        assert links is not None, "a page read without its links"
        if self.identity is None and rows:
            self.identity = rows[0][3]
        chains, parts, part = self._chains, self._parts, self._part
        if self._sealing is not None:
            self._feed_sealed(page)
            return
        if part == 0:
            chains.check_order(rows, event_at)
        if parts == 1:
            self.events += len(rows)
            chains.check_rows(rows, links, event_at)
            return
        mine = [index for index, row in enumerate(rows) if part_of(row[1], parts) == part]
        self.events += len(mine)
        chains.check_rows(
            [rows[i] for i in mine],
            [links[i] for i in mine],
            lambda index: event_at(mine[index]),
        )

    def _feed_sealed(self, page: LinkedPage) -> None:
        """With a seal to check against, event by event (each stream compared as it passes)."""
        sealing = self._sealing
        assert sealing is not None
        chains, parts, part = self._chains, self._parts, self._part
        events = [page.event_at(index) for index in range(len(page.rows))]
        if part == 0:
            for event in events:
                chains.check_global(event)
                sealing.note(event)
        assert page.links is not None, "a page read without its links"
        for event, link in zip(events, page.links, strict=True):
            if parts != 1 and part_of(event.stream_id, parts) != part:
                continue
            self.events += 1
            sealing.check(event, chains.take(event, link))

    def result(self, head: int, *, keep_heads: bool) -> ChainsResult:
        """What was found, once every page up to ``head`` was fed."""
        if self._sealing is not None:
            self._sealing.finish(head, self.identity)
        heads = self._chains.heads() if keep_heads else None
        return ChainsResult(self.findings, self._chains.finish(), self.events, heads)


def self_check(store: EventStore) -> list[Finding]:
    """What the store finds wrong with itself (file damage, guards, privileges), as findings."""
    if not isinstance(store, StoreSelfCheck):
        return []
    return [Finding("store", text, problem) for problem, text in store.self_check()]


def check_chains(
    store: EventStore,
    head: int,
    digest: ChainDigest,
    *,
    against: Seal | None = None,
    part: int = 0,
    parts: int = 1,
    keep_heads: bool = False,
    progress: Callable[[int], None] | None = None,
    read: LinkedPages | None = None,
    with_self_check: bool = False,
) -> ChainsResult:
    """Read ``store`` up to ``head`` and run the chain checks of one part of its streams.

    ``read(after, limit)`` reads a page and its links (default ``store.read_all``, no links;
    a composition root may read the stored rows and hash them as it decodes them). A store
    that fails half-way is a finding (as in the read-model pass, which names it too); one
    that fails at once raises
    StoreUnavailableError. ``with_self_check``: also report what the store finds wrong with
    itself (the first part does, when the chains are checked in other processes)."""
    verifier = ChainVerifier(digest, against=against, part=part, parts=parts)
    if with_self_check:
        verifier.findings.extend(self_check(store))
    with collector_paused():
        after = _feed_all(store, read, head, verifier, progress)
    return verifier.result(after, keep_heads=keep_heads)


def _feed_all(
    store: EventStore,
    read: LinkedPages | None,
    head: int,
    verifier: ChainVerifier,
    progress: Callable[[int], None] | None,
) -> int:
    after = 0
    while after < head:
        try:
            reached = _feed_page(store, read, after, min(PAGE, head - after), verifier)
        except StoreUnavailableError:
            if after == 0:
                raise
            break
        except EventStoreError:
            break  # the read-model pass reports where the store could not be read
        if reached is None:
            break
        after = reached
        if progress is not None:
            progress(after)
    return after


def _feed_page(
    store: EventStore, read: LinkedPages | None, after: int, limit: int, verifier: ChainVerifier
) -> int | None:
    """Check the page after ``after``; the global position reached (None: nothing there)."""
    if read is None:
        events = store.read_all(after=after, limit=limit)
        if not events:
            return None
        verifier.feed(events)
        return events[-1].global_position
    page = read(after, limit)
    if not page.rows:
        return None
    verifier.feed_linked(page)
    return page.rows[-1][0]


class ChainRunner(Protocol):
    """Chain checks run elsewhere (other processes) while the read-model pass runs here."""

    def start(self, head: int) -> None:
        """Begin checking every event up to ``head``."""
        ...

    def reached(self) -> int:
        """The global position every part has checked up to (for progress)."""
        ...

    def results(self, progress: Callable[[int], None] | None = None) -> list[ChainsResult]:
        """Wait for every part (reporting how far they got); raises the store's error if one
        could not read it at all."""
        ...
