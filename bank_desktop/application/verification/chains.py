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

from dataclasses import dataclass
from typing import Any

from bank_desktop.application.chain import GENESIS, HASH_KEY, PREV_KEY, ChainDigest
from bank_desktop.application.verification.findings import Findings
from bank_desktop.eventstore.port import RecordedEvent

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


class ChainCheck:
    """The chain and position checks over a store's events, in global order."""

    def __init__(self, findings: Findings, digest: ChainDigest) -> None:
        self._findings = findings
        self._digest = digest
        self.streams: dict[str, StreamChain] = {}
        self.last_global = 0
        self.chained_events = 0

    def check(self, event: RecordedEvent) -> StreamChain:  # noqa: PLR0912 - one pass, in order
        """Check one event (the next in global order); returns its stream's state after it."""
        findings = self._findings
        stream_id = event.stream_id
        position = event.stream_position
        global_position = event.global_position
        last = self.last_global
        if global_position != last + 1:
            if global_position <= last:
                findings.problem(
                    "position",
                    f"global position {global_position:,} comes after {last:,}: the store's "
                    "order is broken (an event repeated or moved)",
                    stream_id=stream_id,
                    position=position,
                    global_position=global_position,
                )
            else:
                missing = _span(last + 1, global_position - 1)
                findings.problem(
                    "position",
                    f"global position{missing} missing: {global_position - last - 1:,} "
                    "event(s) deleted",
                    global_position=global_position,
                )
        if global_position > last:
            self.last_global = global_position
        chain = self.streams.get(stream_id)
        if chain is None:
            chain = self.streams[stream_id] = StreamChain()
        gap = position != chain.position + 1
        if gap:
            if position <= chain.position:
                findings.problem(
                    "position",
                    f"stream position {position} repeated or out of order (after {chain.position})",
                    stream_id=stream_id,
                    position=position,
                    global_position=global_position,
                )
            else:
                findings.problem(
                    "position",
                    f"stream position{_span(chain.position + 1, position - 1)} missing: "
                    "event(s) deleted from this stream; the chain is broken here",
                    stream_id=stream_id,
                    position=position,
                    global_position=global_position,
                )
        metadata: Any = event.metadata
        data = event.data
        prev = metadata.get(PREV_KEY)
        own = metadata.get(HASH_KEY)
        digest = self._digest
        head = chain.head
        if type(prev) is str and type(own) is str:
            self.chained_events += 1
            if not chain.first_chained:
                chain.first_chained = position
            computed = digest(prev, stream_id, position, event.event_id, event.type, data, metadata)
            if computed != own:
                findings.problem(
                    "chain",
                    f"the event ({event.type}) does not match its hash: it was changed after "
                    "it was written",
                    stream_id=stream_id,
                    position=position,
                    global_position=global_position,
                )
            if prev != head and not gap:
                findings.problem(
                    "chain",
                    f"the link to position {position - 1} is broken (its prevHash is not the "
                    f"hash there): the event before it was changed, or this one does not "
                    "belong here",
                    stream_id=stream_id,
                    position=position,
                    global_position=global_position,
                )
            chain.computed = (
                computed
                if chain.computed == prev
                else digest(
                    chain.computed, stream_id, position, event.event_id, event.type, data, metadata
                )
            )
            chain.head = own
        else:
            implied = digest(head, stream_id, position, event.event_id, event.type, data, metadata)
            if chain.first_chained:
                findings.problem(
                    "chain",
                    f"the event ({event.type}) carries no hash, though the stream's chain "
                    f"begins at position {chain.first_chained}: written by something that "
                    "does not chain, or its hash was removed",
                    stream_id=stream_id,
                    position=position,
                    global_position=global_position,
                )
            else:
                chain.unchained += 1
            chain.computed = (
                implied
                if chain.computed == head
                else digest(
                    chain.computed, stream_id, position, event.event_id, event.type, data, metadata
                )
            )
            chain.head = implied
        chain.position = max(chain.position, position)
        return chain

    def finish(self) -> ChainSummary:
        """Notices of unchained prefixes (events from before the chain): one a stream when
        there are a few, one for the store otherwise."""
        prefixes = [(sid, c) for sid, c in self.streams.items() if c.unchained]
        events = sum(c.unchained for _, c in prefixes)
        if len(prefixes) > _NAMED_PREFIXES:
            self._findings.notice(
                "unchained",
                f"{events:,} event(s) in {len(prefixes):,} streams were written before the hash "
                "chain (unchained prefixes); each is sealed by the first chained event after it",
            )
        else:
            for stream_id, chain in prefixes:
                sealed = (
                    f"; sealed by the chain from position {chain.first_chained} on"
                    if chain.first_chained
                    else ""
                )
                self._findings.notice(
                    "unchained",
                    f"position{_span(1, chain.unchained)} written before the hash chain "
                    f"(unchained){sealed}",
                    stream_id=stream_id,
                )
        return ChainSummary(len(self.streams), self.chained_events, events, len(prefixes))


def _span(first: int, last: int) -> str:
    return f" {first:,}" if first == last else f"s {first:,}–{last:,}"
