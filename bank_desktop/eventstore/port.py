"""The event store port: the protocol every adapter implements and the envelope types it speaks.

Positions are 1-based and gap-free: a stream's first event is at stream position 1 and the
store's first event at global position 1, so "after=0" means "from the beginning" and the
position a writer last saw is simply the number of events it has read.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from bank_desktop.eventstore.errors import ConcurrencyError


class StreamState(enum.Enum):
    """Expectations about a stream that are not an exact position."""

    NO_STREAM = "no_stream"  #: the stream must not exist yet
    STREAM_EXISTS = "stream_exists"  #: the stream must have at least one event
    ANY = "any"  #: no check at all


NO_STREAM = StreamState.NO_STREAM
STREAM_EXISTS = StreamState.STREAM_EXISTS
ANY = StreamState.ANY

#: What a writer expects of the stream: the exact position it last saw, or a StreamState.
ExpectedPosition = int | StreamState


def expectation_met(expected: ExpectedPosition, actual: int) -> bool:
    """Whether a stream currently at ``actual`` (0 = no stream) satisfies ``expected``."""
    if expected is ANY:
        return True
    if expected is NO_STREAM:
        return actual == 0
    if expected is STREAM_EXISTS:
        return actual > 0
    return expected == actual


def new_event_id() -> str:
    """A random (version 4) UUID in its usual text form; a third of ``str(uuid.uuid4())``'s
    cost, which matters at thousands of appends a second."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    text = raw.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append. ``data`` and ``metadata`` must be JSON-compatible (Decimal allowed)."""

    type: str
    data: Mapping[str, Any]
    metadata: Mapping[str, Any] = field(default_factory=dict)
    event_id: str = field(default_factory=new_event_id)


class RecordedEvent:
    """An event as stored, with the positions and time the store assigned.

    ``data`` is the decoded JSON payload (numbers with a fraction arrive as exact ``Decimal``),
    or ``None`` when the stored bytes were not valid JSON: readers decide how to treat a
    damaged event instead of the store stalling every subscriber on it. ``metadata`` may be
    decoded on first access (adapters pass a zero-argument loader), and is absent altogether
    for events read with ``read_all(..., with_metadata=False)``: touching it then raises
    ``LookupError`` rather than pretending the event had none. Treat instances as immutable.

    ``db_role`` is the database role that appended the event, as the server recorded it (a
    client cannot choose it): PostgreSQL stores deployed with identity have it; it is None
    for every other store, and for events recorded before identity was deployed.
    """

    __slots__ = (
        "_created_at",
        "_metadata",
        "data",
        "db_role",
        "event_id",
        "global_position",
        "stream_id",
        "stream_position",
        "type",
    )

    def __init__(  # noqa: PLR0917 - positional on purpose: adapters build millions of these
        self,
        event_id: str,
        type: str,
        data: Any,
        stream_id: str,
        stream_position: int,
        global_position: int,
        created_at: datetime | str,
        metadata: Mapping[str, Any] | Callable[[], Mapping[str, Any]] | None,
        db_role: str | None = None,
    ) -> None:
        self.event_id = event_id
        self.type = type
        self.data = data
        self.stream_id = stream_id
        self.stream_position = stream_position
        self.global_position = global_position
        self._created_at = created_at
        self._metadata = metadata
        self.db_role = db_role

    @property
    def created_at(self) -> datetime:
        """When the store recorded the event (adapters may hand over ISO text, parsed here on
        first use: projections rebuilding millions of events never look at it)."""
        value = self._created_at
        if type(value) is str:
            value = self._created_at = datetime.fromisoformat(value)
        return value  # type: ignore[return-value]

    @property
    def has_metadata(self) -> bool:
        return self._metadata is not None

    @property
    def metadata(self) -> Mapping[str, Any]:
        value = self._metadata
        if callable(value):
            value = self._metadata = value()
        if value is None:
            raise LookupError(
                f"Event {self.event_id} was read without metadata "
                "(read_all(..., with_metadata=False))."
            )
        return value

    def _key(self) -> tuple[Any, ...]:
        return (
            self.event_id,
            self.type,
            self.data,
            dict(self.metadata) if self.has_metadata else None,
            self.stream_id,
            self.stream_position,
            self.global_position,
            self.created_at,
            self.db_role,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RecordedEvent):
            return NotImplemented
        return self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"RecordedEvent(type={self.type!r}, stream_id={self.stream_id!r}, "
            f"stream_position={self.stream_position}, global_position={self.global_position}, "
            f"event_id={self.event_id!r})"
        )


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What an append wrote: the stream's new position and the recorded events."""

    stream_id: str
    stream_position: int
    events: tuple[RecordedEvent, ...]

    @property
    def global_positions(self) -> tuple[int, ...]:
        return tuple(e.global_position for e in self.events)

    @property
    def last_global_position(self) -> int:
        return self.events[-1].global_position if self.events else 0


@runtime_checkable
class EventStore(Protocol):
    """Append-only event storage with optimistic concurrency and a gap-free global order.

    Implementations are safe to share between threads. Every failure surfaces as an
    :class:`~bank_desktop.eventstore.errors.EventStoreError`; no driver exception escapes.
    """

    @property
    def url(self) -> str:
        """The store's URL with any secret masked: safe to show and log."""
        ...

    def append(
        self, stream_id: str, events: Sequence[NewEvent], expected: ExpectedPosition
    ) -> AppendResult:
        """Append atomically, or raise ``ConcurrencyError`` and write nothing."""
        ...

    def read_stream(
        self, stream_id: str, *, after: int = 0, limit: int | None = None
    ) -> list[RecordedEvent]:
        """Events of one stream with stream position > ``after``, in stream order."""
        ...

    def stream_position(self, stream_id: str) -> int:
        """The stream's current position; 0 when it does not exist."""
        ...

    def read_all(
        self,
        *,
        after: int = 0,
        limit: int = 1000,
        types: Collection[str] | None = None,
        with_metadata: bool = True,
    ) -> list[RecordedEvent]:
        """Up to ``limit`` events with global position > ``after``, in global order.

        A reader that has seen global position N never later finds a committed event below N.
        ``with_metadata=False`` lets an adapter skip loading metadata (projections rebuilding
        millions of events do not need it); adapters that get it for free may still attach it.
        """
        ...

    def head_position(self) -> int:
        """The highest committed global position; 0 for an empty store."""
        ...

    def wait_for_events(self, after: int, timeout: float) -> bool:
        """Block up to ``timeout`` seconds until an event beyond ``after`` may exist.

        Returns True when there may be news (callers then read), False on timeout. It is the
        adapter's cheapest way to notice other writers: a condition variable in memory, a
        change counter for SQLite, LISTEN/NOTIFY for PostgreSQL, a WebSocket for DeltaBase.
        """
        ...

    def close(self) -> None:
        """Release connections; the store must not be used afterwards."""
        ...


@runtime_checkable
class StoreWithNotices(Protocol):
    """Optional capability: things a clerk must be told about the store they are using
    (opened read-only, found damaged), as sentences; empty when all is well."""

    def notices(self) -> list[str]: ...


#: An event as stored, undecoded: global position, stream id, stream position, event id, type,
#: data JSON text, metadata JSON text, and when it was recorded (as ``RecordedEvent`` takes it).
StoredRow = tuple[int, str, int, str, str, str, str, datetime | str]


@runtime_checkable
class StoredRowReader(Protocol):
    """Optional capability: events as stored, their JSON undecoded, in global order.

    For verification, which decodes each event once for all its checks and hashes the
    metadata without building a dict of it.
    """

    def read_stored(self, *, after: int = 0, limit: int = 1000) -> list[StoredRow]:
        """Up to ``limit`` events with global position > ``after``, in global order."""
        ...


#: (prev hash, stream id, stream position, event id, type, data, metadata) → hex digest
ChainDigestFunction = Callable[[str, str, int, str, str, Any, Mapping[str, Any]], str]


@runtime_checkable
class ChainDigestSource(Protocol):
    """Optional capability: the application's hash-chain digest at C speed.

    The application defines the chain's encoding in plain Python and may not import the
    adapters' faster, byte-identical one (``eventstore.canonical``); a store that offers this
    hands it over, built from the reference's tag, covered metadata keys, link keys and
    digest (the fallback for what the fast path cannot write).
    """

    def chain_digest(
        self,
        tag: str,
        covered_keys: Sequence[str],
        link_keys: Sequence[str],
        reference: ChainDigestFunction,
    ) -> ChainDigestFunction:
        """A digest equal to ``reference`` for every event."""
        ...


#: What a fold reads of each event type's ``data``: the names of the fields its step reads. A
#: type mapped to ``()`` is read without its data (the fold only notes that it happened).
FoldFields = Mapping[str, tuple[str, ...]]

#: An event for a fold: global position, stream id, stream position, type, and its stored
#: data (JSON bytes or text: what the fold needs of it is in the page's payloads).
FoldRow = tuple[int, str, int, str, Any]


@dataclass(frozen=True, slots=True)
class FoldPage:
    """Events in global order for a fold, and beside each row its payload: for a type the
    FoldFields name with fields and data that is a JSON object, an object with one attribute
    per named field (None where the field is absent or null, as ``data.get(field)`` would
    say); None for a type mapped to ``()``; and for every other event (a type not named, data
    that is not a JSON object) the RecordedEvent itself, read without metadata, for the
    fold's careful path. ``last_event_id`` is the id of the last row's event (None when the
    page is empty): a fold's checkpoint names the event it stopped at."""

    rows: Sequence[FoldRow]
    payloads: Sequence[Any]
    last_event_id: str | None


@runtime_checkable
class FoldReader(Protocol):
    """Optional capability: events read only as far as a projection fold reads them.

    A rebuild folds millions of events and reads a few fields of each: the amount and time of
    a deposit, never its description, ids or metadata. A store that can decode just those
    fields (msgspec decodes a payload straight into a small struct of them) skips building a
    RecordedEvent, a dict of every field and the strings nobody reads for each event.
    ``bank_desktop.application.projections.catch_up`` uses it when present.
    """

    def read_for_fold(self, *, after: int, limit: int, fields: FoldFields) -> FoldPage:
        """Up to ``limit`` events with global position > ``after``, in global order."""
        ...


@runtime_checkable
class StoreSelfCheck(Protocol):
    """Optional capability: what a store can tell about itself that its events cannot show
    (a damaged file, append-only guards removed), for ``bank-desktop verify``."""

    def self_check(self) -> list[tuple[bool, str]]:
        """Findings as (is it a problem, what, as a sentence without the store's name);
        empty when all is well. Notices (False) inform; problems (True) fail verification."""
        ...


@dataclass(frozen=True, slots=True)
class AppendRequest:
    """One stream's part of a multi-stream append."""

    stream_id: str
    events: Sequence[NewEvent]
    expected: ExpectedPosition


@runtime_checkable
class MultiStreamAppender(Protocol):
    """Optional capability: append to several streams in one all-or-nothing transaction.

    Stores with real transactions (memory, SQLite, PostgreSQL) offer it; bulk loaders use it
    when present and fall back to one append per stream otherwise. Business processes do not
    depend on it (transfers are a process exactly so that DeltaBase, which lacks it, works).
    """

    def append_many(self, requests: Sequence[AppendRequest]) -> list[AppendResult]:
        """Check every expectation, then write all streams, or raise and write nothing."""
        ...


@runtime_checkable
class BatchAppender(Protocol):
    """Optional capability: several independent writes in one durable commit.

    Each inner sequence is one write, checked and written all or nothing as by
    ``append_many``, in order (a write sees those before it); a write whose expectation does
    not hold gets its ``ConcurrencyError`` in the answer and writes nothing, and the others go
    ahead. SQLite and PostgreSQL also batch concurrent ``append`` calls this way on their own
    (group commit); this method makes a batch explicit.
    """

    def append_batch(
        self, batch: Sequence[Sequence[AppendRequest]]
    ) -> list[list[AppendResult] | ConcurrencyError]:
        """Per write, its results (one per request) or the conflict that refused it."""
        ...


#: Given the events appended after the caller's position, the events to append (or none).
DecideTail = Callable[[list["RecordedEvent"]], Sequence[NewEvent]]


@runtime_checkable
class DecidingAppender(Protocol):
    """Optional capability: decide and append under the store's write lock.

    Optimistic appends lose, under contention, to every writer queued ahead of them for the
    lock (each finds the stream moved by those before it). A store that serialises writers
    anyway (SQLite, PostgreSQL here, memory) can instead read the stream's tail, let the
    caller decide on it, and append at exactly that position, all under the lock: no conflict
    is possible. ``decide`` must be quick and pure (it runs while other writers wait); an
    exception from it aborts the transaction and writes nothing.
    """

    def append_decided(
        self,
        stream_id: str,
        after: int,
        decide: DecideTail,
        *,
        also: Sequence[AppendRequest] = (),
    ) -> AppendResult:
        """Append what ``decide(tail)`` returns, ``tail`` being the events after ``after``.

        ``also``: requests to other streams written in the same transaction when ``decide``
        returns events (a request id's claim): checked first, all or nothing, and left out
        when it returns none. Returns the decided stream's result.
        """
        ...


@runtime_checkable
class BackwardReader(Protocol):
    """Optional capability: read the history newest first, filtered where an index answers.

    An audit view pages backwards from the newest event; a store that can do it in one
    indexed query per page (memory, SQLite, PostgreSQL) offers this, and
    ``bank_desktop.application.history`` falls back to forward pages for one that cannot
    (DeltaBase). ``event_type`` and ``stream_id`` are answered by indexes;
    ``metadata_equals=(key, value)`` (e.g. the clerk) keeps events whose metadata has that
    top-level string value, checked exactly on the decoded metadata.
    """

    def read_backwards(
        self,
        *,
        before: int | None = None,
        limit: int = 100,
        event_type: str | None = None,
        stream_id: str | None = None,
        metadata_equals: tuple[str, str] | None = None,
    ) -> list[RecordedEvent]:
        """Up to ``limit`` matching events with global position < ``before`` (None: the
        newest), newest first."""
        ...


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A projection's state as of a global position, so a restart need not replay history.

    A snapshot is a cache, never a source of truth: before trusting it a reader checks it
    against the store. ``store_identity`` is the id of the store's first event (a random
    UUID, so it tells stores apart, and a copy of a store from the original), and
    ``checkpoint_event_id`` the id of the event at ``checkpoint``: together they catch a
    snapshot of another store, and of a store that was reset or restored to an older state.
    """

    name: str
    version: int
    checkpoint: int
    checkpoint_event_id: str | None
    state: Any
    store_identity: str | None = None


class SnapshotStore(Protocol):
    """Where projections keep their snapshots; writes are atomic (all or nothing)."""

    def save(self, snapshot: Snapshot) -> None: ...

    def load(self, name: str) -> Snapshot | None:
        """The last saved snapshot, or None when there is none (or only one an earlier version
        wrote). Raises ``SnapshotDamagedError`` when one exists but fails its integrity check:
        the caller rebuilds, and says why."""
        ...
