"""Chains and positions: every event in its place, and every hash what its content says.

Fed every event in global order (:meth:`ChainCheck.check`), it keeps per stream the position
reached, the chain's head (each chained event's stored hash, each unchained one's implied
hash) and the *computed* head (the digest chain of the contents alone, what seals record).
It finds:

- global positions that are missing (deleted events), repeated or out of order;
- stream positions that are missing, repeated or out of order;
- a chained event whose hash is not the digest of its content (the event was changed), or
  whose ``prevHash`` is not its predecessor's hash (the predecessor changed, or an event was
  removed or slipped in);
- an unchained event after the stream's chain began (written by something that does not
  chain, or its links were stripped); an unchained *prefix* is only a notice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from bank_desktop.application.chain import GENESIS, HASH_KEY, PREV_KEY, ChainDigest
from bank_desktop.application.verification.findings import Findings
from bank_desktop.eventstore.port import RecordedEvent, StoredRow

#: A chained event's (``prevHash``, ``hash``, the digest of its content) as computed when it
#: was read (``eventstore.canonical.stored_reading``), or None where the reader could not
#: vouch for the digest.
Link = tuple[str, str, str]

#: Up to this many streams with an unchained prefix are named one by one.
_NAMED_PREFIXES = 20


class StreamChain:
    """Where one stream's chain stands."""

    __slots__ = ("computed", "first_chained", "head", "position", "unchained")

    def __init__(self) -> None:
        self.position = 0
        self.head = GENESIS  #: the link the next event must name
        self.computed = GENESIS  #: the digest chain of the contents (what a seal records)
        self.first_chained = 0  #: the position of the first chained event (0: none yet)
        self.unchained = 0  #: events of the unchained prefix


@dataclass(frozen=True, slots=True)
class ChainSummary:
    streams: int
    chained_events: int
    unchained_prefix_events: int
    unchained_streams: int
    #: A few streams with an unchained prefix: (stream id, its length, where the chain begins).
    prefixes: tuple[tuple[str, int, int], ...] = ()


class ChainCheck:
    """The chain and position checks over a store's events, in global order."""

    def __init__(self, findings: Findings, digest: ChainDigest) -> None:
        self._findings = findings
        self._digest = digest
        #: Where each stream's chain stands (see also ``_clean``).
        self.streams: dict[str, StreamChain] = {}
        #: Streams chained from their first event with nothing wrong so far, checked from
        #: links (:meth:`check_rows`): stream → [position, head], the head also the computed
        #: head. The everyday stream costs two items set in place here instead of a
        #: StreamChain's fields; the first event that needs more moves its stream to
        #: ``streams`` for good.
        self._clean: dict[str, list[Any]] = {}
        self.last_global = 0
        self.chained_events = 0

    def _chain(self, stream_id: str) -> StreamChain:
        """The stream's state as a StreamChain (made, or moved from ``_clean``)."""
        chain = self.streams.get(stream_id)
        if chain is None:
            chain = self.streams[stream_id] = StreamChain()
            clean = self._clean.pop(stream_id, None)
            if clean is not None:
                chain.position, chain.head = clean[0], clean[1]
                chain.computed = chain.head
                chain.first_chained = 1
        return chain

    def heads(self) -> dict[str, tuple[int, str]]:
        """Each stream's position and computed head (what a seal records)."""
        heads = {sid: (c.position, c.computed) for sid, c in self.streams.items()}
        heads.update((sid, (state[0], state[1])) for sid, state in self._clean.items())
        return heads

    def check(self, event: RecordedEvent) -> StreamChain:
        """Check one event (the next of its stream in global order); returns its stream's
        state after it.

        The hot loop of a verification: an event in its place whose hash and link are right
        costs one digest and a few comparisons; anything else goes to the slow paths below.
        """
        stream_id = event.stream_id
        position = event.stream_position
        chain = self.streams.get(stream_id) or self._chain(stream_id)
        gap = position != chain.position + 1 and self._stream_gap(event, chain)
        metadata: Any = event.metadata
        prev = metadata.get(PREV_KEY)
        own = metadata.get(HASH_KEY)
        if type(prev) is str and type(own) is str:
            self.chained_events += 1
            computed = self._digest(
                prev, stream_id, position, event.event_id, event.type, event.data, metadata
            )
            if computed == own and prev == chain.head and prev == chain.computed:
                chain.head = chain.computed = own
                if not chain.first_chained:
                    chain.first_chained = position
            else:
                self._wrong_link(event, chain, computed, prev, own, gap=gap)
        else:
            self._unchained(event, chain)
        if position > chain.position:  # noqa: PLR1730 - cheaper than max() in the hot loop
            chain.position = position
        return chain

    def check_all(self, events: Iterable[RecordedEvent]) -> None:
        """:meth:`check` for many events: an event in its place whose link and hash are right
        costs one digest here; everything else goes through :meth:`check`."""
        streams = self.streams
        digest = self._digest
        careful = self.check
        chained = 0
        for event in events:
            stream_id = event.stream_id
            chain = streams.get(stream_id) or self._chain(stream_id)
            position = event.stream_position
            metadata: Any = event.metadata
            prev = metadata.get(PREV_KEY)
            own = metadata.get(HASH_KEY)
            kind = event.type
            if (
                position == chain.position + 1
                and type(own) is str
                and prev == chain.head
                and prev == chain.computed
                and own
                == digest(prev, stream_id, position, event.event_id, kind, event.data, metadata)
            ):
                chain.head = chain.computed = own
                chain.position = position
                if not chain.first_chained:
                    chain.first_chained = position
                chained += 1
            else:
                careful(event)
        self.chained_events += chained

    def check_rows(
        self,
        rows: Sequence[StoredRow],
        links: Sequence[Link | None],
        event_at: Callable[[int], RecordedEvent],
    ) -> None:
        """:meth:`check_all` for stored rows whose digest was computed as they were read (see
        :data:`Link`). A row without a link, or whose link is not right in its place, goes
        through :meth:`check` as its event (``event_at(index)``), the digest computed again
        the careful way: both paths find the same."""
        streams = self.streams
        clean = self._clean
        in_clean, in_streams = clean.get, streams.get
        careful = self.check
        chained = 0
        index = -1
        for row, link in zip(rows, links, strict=True):
            index += 1
            if link is not None:
                stream_id = row[1]
                state = in_clean(stream_id)
                if state is not None:  # the everyday event: its stream's next, all right
                    if link[0] == state[1] and link[1] == link[2] and row[2] == state[0] + 1:
                        state[0] = row[2]
                        state[1] = link[1]
                        chained += 1
                        continue
                else:
                    chain = in_streams(stream_id)
                    if chain is None:  # a new stream
                        if row[2] == 1 and link[0] == GENESIS and link[1] == link[2]:
                            clean[stream_id] = [1, link[1]]
                            chained += 1
                            continue
                    elif (
                        row[2] == chain.position + 1
                        and link[2] == link[1]
                        and link[0] == chain.head
                        and link[0] == chain.computed
                    ):
                        chain.head = chain.computed = link[1]
                        chain.position = row[2]
                        if not chain.first_chained:
                            chain.first_chained = row[2]
                        chained += 1
                        continue
            careful(event_at(index))
        self.chained_events += chained

    def check_order(
        self, rows: Sequence[StoredRow], event_at: Callable[[int], RecordedEvent]
    ) -> None:
        """:meth:`check_global` for stored rows."""
        last = self.last_global
        for index, row in enumerate(rows):
            if row[0] == last + 1:
                last += 1
            else:
                self.last_global = last
                self._global_gap(event_at(index))
                last = self.last_global
        self.last_global = last

    def take(self, event: RecordedEvent, link: Link | None) -> StreamChain:
        """:meth:`check` for one event whose link was computed as it was read (the seal
        check's loop, which compares each stream's chain as it passes)."""
        chain = self._chain(event.stream_id)
        position = event.stream_position
        if (
            link is None
            or position != chain.position + 1
            or link[2] != link[1]
            or link[0] != chain.head
            or link[0] != chain.computed
        ):
            return self.check(event)
        chain.head = chain.computed = link[1]
        chain.position = position
        if not chain.first_chained:
            chain.first_chained = position
        self.chained_events += 1
        return chain

    def _where(self, event: RecordedEvent) -> dict[str, Any]:
        return {
            "stream_id": event.stream_id,
            "position": event.stream_position,
            "global_position": event.global_position,
        }

    def check_global(self, event: RecordedEvent) -> None:
        """The store's order: global positions strictly increasing, none missing. (Apart
        from :meth:`check`: when the streams are split between processes, one does this.)"""
        if event.global_position == self.last_global + 1:
            self.last_global += 1
        else:
            self._global_gap(event)

    def _global_gap(self, event: RecordedEvent) -> None:
        at, last = event.global_position, self.last_global
        if at <= last:
            self._findings.problem(
                "position",
                f"global position {at:,} comes after {last:,}: the store's order is broken (an "
                "event repeated or moved)",
                **self._where(event),
            )
            return
        self._findings.problem(
            "position",
            f"global position{_span(last + 1, at - 1)} missing: {at - last - 1:,} event(s) deleted",
            global_position=at,
        )
        self.last_global = at

    def _stream_gap(self, event: RecordedEvent, chain: StreamChain) -> bool:
        position = event.stream_position
        if position <= chain.position:
            message = (
                f"stream position {position} repeated or out of order (after {chain.position})"
            )
        else:
            message = (
                f"stream position{_span(chain.position + 1, position - 1)} missing: event(s) "
                "deleted from this stream; the chain is broken here"
            )
        self._findings.problem("position", message, **self._where(event))
        return True

    def _wrong_link(
        self,
        event: RecordedEvent,
        chain: StreamChain,
        computed: str,
        prev: str,
        own: str,
        *,
        gap: bool,
    ) -> None:
        """A chained event whose hash, link or computed head is not the expected one."""
        position = event.stream_position
        if computed != own:
            self._findings.problem(
                "chain",
                f"the event ({event.type}) does not match its hash: it was changed after it was "
                "written",
                **self._where(event),
            )
        if prev != chain.head and not gap:
            self._findings.problem(
                "chain",
                f"the link to position {position - 1} is broken (its prevHash is not the hash "
                "there): the event before it was changed, or this one does not belong here",
                **self._where(event),
            )
        chain.computed = (
            computed if chain.computed == prev else self._implied(chain.computed, event)
        )
        chain.head = own
        if not chain.first_chained:
            chain.first_chained = position

    def _unchained(self, event: RecordedEvent, chain: StreamChain) -> None:
        implied = self._implied(chain.head, event)
        if chain.first_chained:
            self._findings.problem(
                "chain",
                f"the event ({event.type}) carries no hash, though the stream's chain begins at "
                f"position {chain.first_chained}: written by something that does not chain, or "
                "its hash was removed",
                **self._where(event),
            )
        else:
            chain.unchained += 1
        chain.computed = (
            implied if chain.computed == chain.head else self._implied(chain.computed, event)
        )
        chain.head = implied

    def _implied(self, prev: str, event: RecordedEvent) -> str:
        metadata = event.metadata if event.has_metadata else {}
        return self._digest(
            prev,
            event.stream_id,
            event.stream_position,
            event.event_id,
            event.type,
            event.data,
            metadata,
        )

    def finish(self) -> ChainSummary:
        """The summary, with the unchained prefixes (a few named, all counted)."""
        named: list[tuple[str, int, int]] = []
        events = streams = 0
        for stream_id, chain in self.streams.items():
            if chain.unchained:
                events += chain.unchained
                streams += 1
                if len(named) <= _NAMED_PREFIXES:
                    named.append((stream_id, chain.unchained, chain.first_chained))
        return ChainSummary(
            len(self.streams) + len(self._clean),
            self.chained_events,
            events,
            streams,
            tuple(named),
        )


def merged(summaries: list[ChainSummary]) -> ChainSummary:
    """One summary of the parts of the streams checked apart."""
    return ChainSummary(
        sum(s.streams for s in summaries),
        sum(s.chained_events for s in summaries),
        sum(s.unchained_prefix_events for s in summaries),
        sum(s.unchained_streams for s in summaries),
        tuple(p for s in summaries for p in s.prefixes)[: _NAMED_PREFIXES + 1],
    )


def report_prefixes(summary: ChainSummary, findings: Findings) -> None:
    """Notices of unchained prefixes (events from before the chain): one a stream when there
    are a few, one for the store otherwise."""
    if summary.unchained_streams > _NAMED_PREFIXES:
        findings.notice(
            "unchained",
            f"{summary.unchained_prefix_events:,} event(s) in {summary.unchained_streams:,} "
            "streams were written before the hash chain (unchained prefixes); each is sealed by "
            "the first chained event after it",
        )
        return
    for stream_id, unchained, first_chained in summary.prefixes:
        sealed = f"; sealed by the chain from position {first_chained} on" if first_chained else ""
        findings.notice(
            "unchained",
            f"position{_span(1, unchained)} written before the hash chain (unchained){sealed}",
            stream_id=stream_id,
        )


def _span(first: int, last: int) -> str:
    return f" {first:,}" if first == last else f"s {first:,}–{last:,}"
