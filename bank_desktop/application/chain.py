"""The hash chain of a stream: each event carries its predecessor's hash and its own.

The application computes both when it appends (:mod:`~bank_desktop.application.appending`),
so the chain works the same on every store, DeltaBase included. An event's hash is the
SHA-256 of its canonical encoding (docs/decisions/0008-canonical-event-encoding.md):

    ["bank-desktop/chain/1", prevHash, streamId, streamPosition, eventId, type, data, metadata]

as compact JSON: object keys sorted by code point, strings UTF-8 with only the escapes JSON
requires, numbers exact in plain notation without trailing zeros (``50.00`` → ``50``), and of
the metadata only :data:`COVERED_METADATA`. The first event of a stream has
:data:`GENESIS` as its predecessor. An event written before the chain existed (or by a writer
that does not chain) has no hash of its own: its place in the chain is taken by its *implied*
hash, the same digest computed from what is stored, so the first chained event after an
unchained prefix seals that prefix too.

This module is the reference: plain Python, written to be read. ``eventstore.canonical`` holds
a faster equivalent for bulk verification; tests prove the two agree byte for byte.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from json.encoder import encode_basestring
from typing import Any, Final

from bank_desktop.eventstore.port import NewEvent, RecordedEvent

#: The version tag that starts every canonical encoding (a new encoding gets a new tag).
CHAIN_TAG: Final = "bank-desktop/chain/1"
#: The predecessor of a stream's first event.
GENESIS: Final = "0" * 64
#: Metadata keys of the chain itself (not hashed: they are the chain).
PREV_KEY: Final = "prevHash"
HASH_KEY: Final = "hash"
#: The metadata that matters, and the only metadata the application may write: who acted
#: (clerk), which request (command id and its namespace, request hash), why (correlation and
#: causation), with which version, and for an approved request who asked and who approved.
#: Sorted by code point, as the encoding writes them. A key the application starts writing is
#: added here: since no event ever carried a key outside this list (the appender refuses
#: them), adding one changes no earlier event's hash.
COVERED_METADATA: Final = (
    "appVersion",
    "approvalId",
    "approvedBy",
    "causationId",
    "clerkId",
    "commandId",
    "commandScope",
    "correlationId",
    "requestHash",
    "requestedBy",
)
_ALLOWED_METADATA: Final = frozenset((*COVERED_METADATA, PREV_KEY, HASH_KEY))

#: (prev hash, stream id, stream position, event id, type, data, metadata) → hex digest
ChainDigest = Callable[[str, str, int, str, str, Any, Mapping[str, Any]], str]


class UncoveredMetadataError(TypeError):
    """The application tried to write a metadata key the chain does not cover."""


def canonical_text(  # noqa: PLR0917 - the fields of the encoding, in its order
    prev: str,
    stream_id: str,
    position: int,
    event_id: str,
    type_: str,
    data: Any,
    metadata: Mapping[str, Any],
) -> str:
    """The canonical encoding of one event in the chain (see the module docstring)."""
    covered = [(key, metadata[key]) for key in COVERED_METADATA if key in metadata]
    meta = ",".join(f"{encode_basestring(key)}:{_value(value)}" for key, value in covered)
    return (
        f"[{encode_basestring(CHAIN_TAG)},{encode_basestring(prev)},"
        f"{encode_basestring(stream_id)},{_integer(position)},{encode_basestring(event_id)},"
        f"{encode_basestring(type_)},{_value(data)},{{{meta}}}]"
    )


def event_digest(  # noqa: PLR0917 - positional: called once per event verified
    prev: str,
    stream_id: str,
    position: int,
    event_id: str,
    type_: str,
    data: Any,
    metadata: Mapping[str, Any],
) -> str:
    """SHA-256 (hex) of :func:`canonical_text`: an event's hash."""
    text = canonical_text(prev, stream_id, position, event_id, type_, data, metadata)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def number_text(value: Decimal) -> str:
    """An exact decimal in plain notation, no exponent, no trailing zeros: ``120.35``, ``50``."""
    if not value.is_finite():
        raise TypeError(f"{value} is not a JSON number")
    text = str(value)
    if "E" in text:
        text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _integer(value: int) -> str:
    if type(value) is not int:
        raise TypeError(f"a stream position must be an integer, not {type(value).__name__}")
    return str(value)


def _value(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return encode_basestring(value)
    if kind is Decimal:
        return number_text(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        items = sorted(value.items())
        if any(type(key) is not str for key, _ in items):
            raise TypeError("JSON object keys must be text")
        return "{" + ",".join(f"{encode_basestring(k)}:{_value(v)}" for k, v in items) + "}"
    if kind is list or kind is tuple:
        return "[" + ",".join(map(_value, value)) + "]"
    raise TypeError(f"a {kind.__name__} has no canonical JSON form")


# ── links ─────────────────────────────────────────────────────────────────────────────────


def stored_link(event: RecordedEvent) -> tuple[str, str] | None:
    """The (prevHash, hash) an event carries, or None for an unchained event (or one read
    without metadata, or whose chain fields are not text)."""
    if not event.has_metadata:
        return None
    metadata = event.metadata
    prev = metadata.get(PREV_KEY)
    own = metadata.get(HASH_KEY)
    if type(prev) is str and type(own) is str:
        return prev, own
    return None


def implied_hash(prev: str, event: RecordedEvent, digest: ChainDigest = event_digest) -> str:
    """The hash ``event`` has at its place in the chain after ``prev``, from what is stored."""
    metadata = event.metadata if event.has_metadata else {}
    return digest(
        prev,
        event.stream_id,
        event.stream_position,
        event.event_id,
        event.type,
        event.data,
        metadata,
    )


def head_after(
    prev: str, events: Sequence[RecordedEvent], digest: ChainDigest = event_digest
) -> str:
    """The chain's head after ``events`` (consecutive, in stream order) following ``prev``:
    each chained event's own hash, each unchained one's implied hash."""
    head = prev
    for event in events:
        link = stored_link(event)
        head = link[1] if link is not None else implied_hash(head, event, digest)
    return head


def chained(
    stream_id: str,
    first_position: int,
    prev: str,
    events: Sequence[NewEvent],
    digest: ChainDigest = event_digest,
) -> tuple[list[NewEvent], str]:
    """``events`` with their links added, the first at ``first_position`` after ``prev``;
    and the new head. Refuses metadata the chain does not cover (UncoveredMetadataError)."""
    out: list[NewEvent] = []
    head = prev
    for offset, event in enumerate(events):
        extra = set(event.metadata) - _ALLOWED_METADATA
        if extra:
            raise UncoveredMetadataError(
                f"Metadata {sorted(extra)} is not covered by the hash chain: add the key to "
                "COVERED_METADATA in bank_desktop/application/chain.py (and to the decision "
                "record 0007) before writing it."
            )
        own = digest(
            head,
            stream_id,
            first_position + offset,
            event.event_id,
            event.type,
            event.data,
            event.metadata,
        )
        metadata = {**event.metadata, PREV_KEY: head, HASH_KEY: own}
        out.append(NewEvent(event.type, event.data, metadata, event.event_id))
        head = own
    return out, head
