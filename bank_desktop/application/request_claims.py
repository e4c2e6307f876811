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

The claim is written after the command was decided and before its events are appended
(``CommandHandler.execute(before_write=...)``), so a refused command writes nothing, not even
a claim, and the clerk may correct the input and send it again under the same id; and no money
moves under an id that is not bound. A crash between the claim and the events leaves a claim
whose request a retry with the same id completes. (Only when another writer changes the stream
between the claim and the append, and the command decided again is then refused, does a claim
stay behind for a refused request; the id remains bound to it.) Ids the application generates
itself are never claimed: they are fresh and unique, and nobody can send them again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from bank_desktop.application.appending import ChainedAppender
from bank_desktop.application.errors import MalformedEventError
from bank_desktop.application.fingerprints import claim_fingerprint
from bank_desktop.application.ids import derived_digest
from bank_desktop.application.lru import LockedLru
from bank_desktop.domain.errors import CommandIdReusedError
from bank_desktop.eventstore.errors import ConcurrencyError
from bank_desktop.eventstore.port import NO_STREAM, EventStore, NewEvent

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

    def binder(
        self, command_id: str, stream_id: str, command: object, metadata: Mapping[str, Any]
    ) -> Callable[[], None]:
        """:meth:`claim` for later: command handling calls it just before the first write."""
        return lambda: self.claim(command_id, stream_id, command, metadata)

    def claim(
        self, command_id: str, stream_id: str, command: object, metadata: Mapping[str, Any]
    ) -> None:
        """Bind ``command_id`` to this request, or raise CommandIdReusedError if it names
        another one. Claims are immutable, so a confirmed one is remembered and not re-read."""
        fingerprint = claim_fingerprint(stream_id, command)
        known = self._confirmed.get(command_id)
        if known is None:
            known = self._claim(command_id, stream_id, command, fingerprint, metadata)
            self._confirmed.put(command_id, known)
        if known != fingerprint:
            raise CommandIdReusedError(command_id)

    def bound_stream(self, command_id: str) -> str | None:
        """The stream ``command_id`` was claimed for, or None while it is unclaimed."""
        first = self._store.read_stream(claim_stream_id(command_id), limit=1)
        if not first:
            return None
        stream = first[0].data.get("streamId") if isinstance(first[0].data, dict) else None
        if not isinstance(stream, str):
            raise MalformedEventError(first[0], "field 'streamId' must be a string")
        return stream

    def _claim(
        self,
        command_id: str,
        stream_id: str,
        command: object,
        fingerprint: str,
        metadata: Mapping[str, Any],
    ) -> str:
        """Append the claim; when the id was claimed before, the fingerprint it was bound to."""
        claims = claim_stream_id(command_id)
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
        try:
            self._appender.append(claims, [event], NO_STREAM)
        except ConcurrencyError:
            pass  # claimed before (or a moment ago, by a twin of this request): compare
        else:
            return fingerprint
        first = self._store.read_stream(claims, limit=1)
        if not first:  # pragma: no cover - a stream that exists has a first event
            raise ConcurrencyError(claims, NO_STREAM, 0)
        bound = first[0].data.get("requestHash") if isinstance(first[0].data, dict) else None
        if not isinstance(bound, str):
            raise MalformedEventError(first[0], "field 'requestHash' must be a string")
        return bound
