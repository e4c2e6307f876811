"""Seals: the chain heads of every stream and the global position, at a moment, kept elsewhere.

The hash chain shows an edit, a removal or an insertion, but not a stream rewritten from some
event to its end with every hash recomputed (the algorithm is public). A seal closes that: it
records, per stream, the position reached and the *computed* head (the digests of the
contents, chained), plus the global position and the id of the event there. Checked later
(``--against``), any change to any event up to those positions changes a head, and so does a
removed or inserted one. An auditor keeps the seal where whoever can write the store cannot.

The seal carries a digest of its own content, which catches a damaged or hand-edited seal file
(not a forged one: keep it somewhere safe).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from bank_desktop.application.chain import CHAIN_TAG
from bank_desktop.application.verification.chains import StreamChain
from bank_desktop.application.verification.findings import Findings
from bank_desktop.eventstore.port import RecordedEvent

SEAL_FORMAT: Final = "bank-desktop-seal/1"


class SealError(ValueError):
    """A seal file that cannot be used: not a seal, damaged, or of another format."""


@dataclass(frozen=True, slots=True)
class Seal:
    """The chain heads of a store at one global position."""

    store: str  #: the store as shown (no secrets)
    identity: str | None  #: the id of its first event
    position: int  #: the global position sealed
    event_id: str | None  #: the id of the event there
    sealed_at: str  #: ISO-8601 UTC
    streams: dict[str, tuple[int, str]]  #: stream id → (position, computed head)
    problems: int  #: problems the verification that made it found

    def _body(self) -> dict[str, Any]:
        return {
            "format": SEAL_FORMAT,
            "chain": CHAIN_TAG,
            "store": self.store,
            "storeIdentity": self.identity,
            "globalPosition": self.position,
            "eventId": self.event_id,
            "sealedAt": self.sealed_at,
            "problemsAtSeal": self.problems,
            "streams": {sid: [pos, head] for sid, (pos, head) in sorted(self.streams.items())},
        }

    def to_json(self) -> dict[str, Any]:
        body = self._body()
        return {**body, "digest": _digest(body)}

    @classmethod
    def from_json(cls, value: Any) -> Seal:
        """The seal a file held; SealError says what is wrong with it."""
        if not isinstance(value, dict) or value.get("format") != SEAL_FORMAT:
            raise SealError(f"it is not a Bank Desktop seal ({SEAL_FORMAT})")
        if value.get("chain") != CHAIN_TAG:
            raise SealError(f"it was made for another hash chain ({value.get('chain')!r})")
        body = {k: v for k, v in value.items() if k != "digest"}
        if value.get("digest") != _digest(body):
            raise SealError("its content does not match its digest: it was edited or damaged")
        try:
            streams = {
                str(sid): (int(entry[0]), str(entry[1]))
                for sid, entry in dict(value["streams"]).items()
            }
            position = int(value["globalPosition"])
            problems = int(value.get("problemsAtSeal", 0))
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise SealError(f"it is malformed ({exc})") from None
        return cls(
            str(value.get("store", "?")),
            None if value.get("storeIdentity") is None else str(value["storeIdentity"]),
            position,
            None if value.get("eventId") is None else str(value["eventId"]),
            str(value.get("sealedAt", "?")),
            streams,
            problems,
        )


def _digest(body: dict[str, Any]) -> str:
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class SealCheck:
    """Checks the events against a seal as they pass (global order), then what was missed.

    ``owns`` says which streams this check is for (when the streams are split between
    processes); ``whole_store``: this one also checks the store as a whole (its identity, its
    end, the event at the sealed position).
    """

    def __init__(
        self,
        seal: Seal,
        findings: Findings,
        *,
        owns: Callable[[str], bool] | None = None,
        whole_store: bool = True,
    ) -> None:
        self._seal = seal
        self._findings = findings
        self._owns = owns
        self._whole_store = whole_store
        self._reached: set[str] = set()
        self.at_position: str | None = None  #: the id of the event at the sealed position

    def note(self, event: RecordedEvent) -> None:
        """Every event (of any stream), for the event at the sealed position."""
        if event.global_position == self._seal.position:
            self.at_position = event.event_id

    def check(self, event: RecordedEvent, chain: StreamChain) -> None:
        """After ``chain`` took ``event`` (a stream this check owns): compare when it reaches
        its sealed position."""
        global_position = event.global_position
        if global_position > self._seal.position:
            return
        sealed = self._seal.streams.get(event.stream_id)
        position = event.stream_position
        if sealed is None or position > sealed[0]:
            self._findings.problem(
                "seal",
                f"this event is at global position {global_position:,}, before the seal "
                f"({self._seal.sealed_at}), which does not know it: it was inserted later",
                stream_id=event.stream_id,
                position=position,
                global_position=global_position,
            )
            return
        if position == sealed[0]:
            self._reached.add(event.stream_id)
            if chain.computed != sealed[1]:
                self._findings.problem(
                    "seal",
                    f"the stream up to here differs from when it was sealed "
                    f"({self._seal.sealed_at}): an event at or before this position was "
                    "changed, removed or added since",
                    stream_id=event.stream_id,
                    position=position,
                    global_position=global_position,
                )

    def finish(self, head: int, identity: str | None) -> None:
        seal = self._seal
        when = f"the seal ({seal.sealed_at})"
        if self._whole_store:
            self._finish_store(head, identity, when)
        for stream_id, (position, _) in seal.streams.items():
            if stream_id not in self._reached and (self._owns is None or self._owns(stream_id)):
                self._findings.problem(
                    "seal",
                    f"{when} recorded {position} event(s) in this stream; it has fewer now: "
                    "events were removed (or its last sealed one moved)",
                    stream_id=stream_id,
                    position=position,
                )

    def _finish_store(self, head: int, identity: str | None, when: str) -> None:
        seal = self._seal
        if seal.identity is not None and identity != seal.identity:
            self._findings.problem(
                "seal", f"the store's first event is not the one of {when}: another store"
            )
        if head < seal.position:
            self._findings.problem(
                "seal",
                f"the store ends at position {head:,}, before the position of {when} "
                f"({seal.position:,}): events were removed",
            )
        elif seal.event_id is not None and self.at_position != seal.event_id:
            self._findings.problem(
                "seal",
                f"the event at the sealed position is not the one {when} recorded",
                global_position=seal.position,
            )
