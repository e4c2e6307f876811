"""Request claims: a client's request id names one request forever, across streams and processes.

Command handling remembers command ids per stream, which catches a repeat only on the stream
the id was first used on: the same ``--request-id`` or ``Idempotency-Key`` sent for a deposit
into another account, or for a transfer, would have been applied a second time. Before a
command with a client id runs, its id is therefore claimed in a stream of its own
(``request-<digest of the id>``): one ``request.claimed`` event, appended only if the stream
does not exist, that records which stream and which request the id was first used for. A
second use for the same request finds the same claim and goes on (the per-stream index then
replays the first result); a use for anything else is refused with ``CommandIdReusedError``,
in this process or any other, before or after a restart.

The claim is written together with the command's events, in one transaction on stores that
append to several streams at once (memory, SQLite, PostgreSQL: :class:`PendingClaim`, passed
to ``CommandHandler.execute(claim=...)``): one durable commit for a keyed command, and a
claim never exists without the events it was made for. It is made after the command was
decided, so a refused command writes nothing, not even a claim, and the clerk may correct the
input and send it again under the same id; and no money moves under an id that is not bound.
On DeltaBase, which has no atomic multi-stream append, the claim is a separate append just
before the events: a crash between the two leaves a claim whose request a retry with the same
id completes (and, when another writer changes the stream between the claim and the append and
the command decided again is then refused, the id stays bound to that refused request). Ids
the application generates itself are never claimed: they are fresh and unique, and nobody can
send them again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from bank_desktop.application.appending import ChainedAppender
from bank_desktop.application.errors import MalformedEventError
from bank_desktop.application.fingerprints import claim_fingerprint
from bank_desktop.application.ids import derived_digest
from bank_desktop.application.lru import LockedLru
from bank_desktop.domain.errors import CommandIdReusedError
from bank_desktop.eventstore.errors import ConcurrencyError
from bank_desktop.eventstore.port import NO_STREAM, AppendRequest, EventStore, NewEvent

#: The claim's event type; projections know it and ignore it.
CLAIM_EVENT_TYPE: Final = "request.claimed"
_CAPACITY: Final = 10_000


def claim_stream_id(command_id: str) -> str:
    """``request-`` and 26 base32 characters (130 bits) of the id's digest: no collisions."""
    return f"request-{derived_digest('request', command_id, 26)}"


class RequestClaims:
    """Claims client ids in the store; remembers the claims it has confirmed (bounded)."""

    def __init__(
        self,
        store: EventStore,
        *,
        capacity: int = _CAPACITY,
        appender: ChainedAppender | None = None,
    ) -> None:
        self._store = store
        self._appender = appender or ChainedAppender(store)
        self._confirmed: LockedLru[str, str] = LockedLru(capacity)

    def pending(
        self, command_id: str, stream_id: str, command: object, metadata: Mapping[str, Any]
    ) -> PendingClaim:
        """The claim of ``command_id`` for this request, to be written with its events."""
        fingerprint = claim_fingerprint(stream_id, command)
        event = NewEvent(
            CLAIM_EVENT_TYPE,
            {
                "requestId": command_id,
                "streamId": stream_id,
                "command": str(getattr(command, "type", type(command).__name__)),
                "requestHash": fingerprint,
            },
            {**metadata, "commandId": command_id},
        )
        request = AppendRequest(claim_stream_id(command_id), (event,), NO_STREAM)
        return PendingClaim(self, command_id, fingerprint, request)

    def binder(
        self, command_id: str, stream_id: str, command: object, metadata: Mapping[str, Any]
    ) -> Callable[[], None]:
        """:meth:`claim` for later: command handling calls it just before the first write."""
        return lambda: self.claim(command_id, stream_id, command, metadata)

    def claim(
        self, command_id: str, stream_id: str, command: object, metadata: Mapping[str, Any]
    ) -> None:
        """Bind ``command_id`` to this request in an append of its own, or raise
        CommandIdReusedError if it names another one (stores without multi-stream appends)."""
        self.pending(command_id, stream_id, command, metadata).write_alone()

    def bound_stream(self, command_id: str) -> str | None:
        """The stream ``command_id`` was claimed for, or None while it is unclaimed."""
        first = self._store.read_stream(claim_stream_id(command_id), limit=1)
        if not first:
            return None
        stream = first[0].data.get("streamId") if isinstance(first[0].data, dict) else None
        if not isinstance(stream, str):
            raise MalformedEventError(first[0], "field 'streamId' must be a string")
        return stream

    def _known(self, command_id: str) -> str | None:
        return self._confirmed.get(command_id)

    def _remember(self, command_id: str, fingerprint: str) -> None:
        self._confirmed.put(command_id, fingerprint)

    def _append_alone(self, request: AppendRequest) -> None:
        self._appender.append(request.stream_id, request.events, NO_STREAM)

    def _bound(self, command_id: str) -> str:
        """The fingerprint the stored claim of ``command_id`` binds it to."""
        claims = claim_stream_id(command_id)
        first = self._store.read_stream(claims, limit=1)
        if not first:  # pragma: no cover - a stream that exists has a first event
            raise ConcurrencyError(claims, NO_STREAM, 0)
        bound = first[0].data.get("requestHash") if isinstance(first[0].data, dict) else None
        if not isinstance(bound, str):
            raise MalformedEventError(first[0], "field 'requestHash' must be a string")
        return bound


@dataclass(frozen=True, slots=True)
class PendingClaim:
    """A client id's claim, made for one request and not yet known to be in the store.

    Command handling asks :meth:`to_write` once the command is decided, appends the request it
    returns in the same transaction as the events, then calls :meth:`written`; when that
    append conflicts on the claim's stream, :meth:`settle` finds out whom the id is bound to.
    """

    claims: RequestClaims
    command_id: str
    fingerprint: str
    request: AppendRequest

    def to_write(self) -> AppendRequest | None:
        """The claim to append, or None when this process saw the id bound to this very
        request already; CommandIdReusedError when it saw it bound to another one."""
        known = self.claims._known(self.command_id)
        if known is None:
            return self.request
        if known != self.fingerprint:
            raise CommandIdReusedError(self.command_id)
        return None

    def write_alone(self) -> None:
        """Append the claim on its own (stores without multi-stream appends: DeltaBase)."""
        request = self.to_write()
        if request is None:
            return
        try:
            self.claims._append_alone(request)
        except ConcurrencyError:
            self.settle()
        else:
            self.written()

    def written(self) -> None:
        """The claim is committed (claims are immutable: remembered, never re-read)."""
        self.claims._remember(self.command_id, self.fingerprint)

    def settle(self) -> None:
        """The id was claimed before (or a moment ago, by a twin of this request): go on if
        for this request, else raise CommandIdReusedError."""
        bound = self.claims._bound(self.command_id)
        self.claims._remember(self.command_id, bound)
        if bound != self.fingerprint:
            raise CommandIdReusedError(self.command_id)
