"""Appending to DeltaBase so that nothing is ever doubled or lost.

One ``POST`` per attempt. When an attempt's outcome is unknown (a timeout after sending, a
connection dropped mid-answer, a 429 or 5xx that may have come after the write), the stream is
read before anything is sent again and searched for our events: by our event ids (carried in
the metadata, as DeltaBase assigns its own ``eventId``), or else by the ``commandId`` in the
metadata and the event types. Found: that is the result. Not found: the next attempt carries an
exact expected version (``any`` becomes the position just seen), so a first attempt that is
still on its way cannot land a second copy: whichever comes second gets a 409, and a 409 after
a doubtful attempt is checked the same way. A confirmed append (2xx) is never sent again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import httpx

from bank_desktop.eventstore.deltabase._http import (
    RETRYABLE_STATUS,
    DeltaBaseHttp,
    NotSent,
    Unanswered,
)
from bank_desktop.eventstore.deltabase._wire import (
    ProtocolError,
    append_body,
    conflict_position,
    decode_body,
    expect_object,
    position_from_version,
    recorded_event,
)
from bank_desktop.eventstore.errors import (
    ConcurrencyError,
    EventStoreError,
    StoreUnavailableError,
)
from bank_desktop.eventstore.port import (
    ANY,
    NO_STREAM,
    STREAM_EXISTS,
    AppendResult,
    ExpectedPosition,
    NewEvent,
    RecordedEvent,
    StreamState,
    expectation_met,
)

_log = logging.getLogger("bank_desktop.eventstore.deltabase")


class StreamReader(Protocol):
    """What the appender needs of the store: its (retrying) stream reads."""

    def read_stream(
        self, stream_id: str, *, after: int = 0, limit: int | None = None
    ) -> list[RecordedEvent]: ...

    def stream_position(self, stream_id: str) -> int: ...


class Appender:
    """Appends through ``http``, reading the stream through ``store`` when in doubt."""

    def __init__(self, http: DeltaBaseHttp, store: StreamReader) -> None:
        self._http = http
        self._settings = http.settings
        self._store = store

    def append(
        self, stream_id: str, events: Sequence[NewEvent], expected: ExpectedPosition
    ) -> AppendResult:
        """Append non-empty ``events``; see the module docstring for how doubt is settled."""
        http, settings = self._http, self._settings
        body = append_body(events, expected, settings)  # TypeError before any IO
        action = f"save events to {stream_id}"
        path = http.append_path(stream_id)
        floor = expected if isinstance(expected, int) else 0  # ours cannot land below this
        converted = False  # sending an exact version in place of ANY / STREAM_EXISTS
        uncertain = False  # an earlier attempt may have been written
        reason = ""
        for attempt in range(1, settings.max_attempts + 1):
            if attempt > 1:
                http.backoff(attempt - 1)
            try:
                response = http.send("POST", path, action=action, content=body)
            except NotSent as exc:
                reason = exc.reason
                continue  # nothing reached the server: plainly send again
            except Unanswered as exc:
                reason = exc.reason
            else:
                status = response.status_code
                if status in (200, 201):
                    return self._written(stream_id, events, response, action)
                if status == 409:
                    step = self._conflict(
                        stream_id, events, expected, floor, response, uncertain or converted
                    )
                    if isinstance(step, AppendResult):
                        return step
                    floor, body = step  # others wrote meanwhile; ANY goes on after them
                    continue
                if status not in RETRYABLE_STATUS:
                    raise http.failure(response, action)
                reason = http.status_reason(response)
            # The outcome is unknown: look before sending anything again.
            uncertain = True
            found, observed = self._look_for(stream_id, events, floor, action)
            if found is not None:
                _log.info("DeltaBase: the append to %s had been saved (%s)", stream_id, reason)
                return found
            floor, body = self._resend(stream_id, events, expected, observed)
            converted = isinstance(expected, StreamState) and expected is not NO_STREAM
        return self._give_up(stream_id, events, floor, action, reason, uncertain)

    def _conflict(  # noqa: PLR0917 - a private step of append
        self,
        stream_id: str,
        events: Sequence[NewEvent],
        expected: ExpectedPosition,
        floor: int,
        response: httpx.Response,
        retrying: bool,
    ) -> AppendResult | tuple[int, bytes]:
        """A 409: a ConcurrencyError, unless an earlier attempt of ours is what conflicted."""
        if not retrying:
            told = conflict_position(_json_or_none(response), self._settings)
            actual = told if told is not None else self._store.stream_position(stream_id)
            raise ConcurrencyError(stream_id, expected, actual)
        found, observed = self._look_for(stream_id, events, floor, f"save events to {stream_id}")
        if found is not None:
            return found
        return self._resend(stream_id, events, expected, observed)

    def _give_up(  # noqa: PLR0917 - a private step of append
        self,
        stream_id: str,
        events: Sequence[NewEvent],
        floor: int,
        action: str,
        reason: str,
        uncertain: bool,
    ) -> AppendResult:
        settings, mask = self._settings, self._http.mask
        if not uncertain:
            raise StoreUnavailableError(
                f"DeltaBase at {settings.host} could not be reached to save the events for "
                f"{stream_id} after {settings.max_attempts} attempts ({mask(reason)}); "
                "nothing was saved. Check the network connection and try again."
            )
        found, _ = self._look_for(stream_id, events, floor, action)
        if found is not None:
            return found
        raise StoreUnavailableError(
            f"DeltaBase at {settings.host} did not confirm saving the events for {stream_id} "
            f"after {settings.max_attempts} attempts ({mask(reason)}). Repeating the same "
            "request later will not save it twice."
        )

    def _resend(
        self,
        stream_id: str,
        events: Sequence[NewEvent],
        expected: ExpectedPosition,
        observed: int,
    ) -> tuple[int, bytes]:
        """The next attempt's floor and body: an exact version, or a ConcurrencyError."""
        if expected is ANY or (expected is STREAM_EXISTS and observed > 0):
            exact: ExpectedPosition = observed
        elif expectation_met(expected, observed):
            exact = expected
        else:
            raise ConcurrencyError(stream_id, expected, observed)
        return observed, append_body(events, exact, self._settings)

    def _written(
        self, stream_id: str, events: Sequence[NewEvent], response: httpx.Response, action: str
    ) -> AppendResult:
        """The result of an append DeltaBase confirmed: its envelopes, else the stream re-read.

        A confirmed append is never sent again, whatever its answer looked like.
        """
        version: Any = None
        try:
            body = expect_object(decode_body(response.content, action), action)
            raw = body.get("events")
            if isinstance(raw, list) and len(raw) == len(events):
                recorded = [
                    recorded_event(item, self._settings, f"events[{i}] ({action})")
                    for i, item in enumerate(raw)
                ]
                if [r.event_id for r in recorded] != [e.event_id for e in events]:
                    _log.warning(
                        "DeltaBase did not keep the event ids sent to %s; check the setting "
                        "event_id_metadata_key",
                        stream_id,
                    )
                return AppendResult(stream_id, recorded[-1].stream_position, tuple(recorded))
            version = body.get("nextExpectedStreamVersion")
        except ProtocolError as exc:
            _log.warning("DeltaBase: %s; looking the events up instead", self._http.mask(str(exc)))
        floor = 0
        if isinstance(version, int) and not isinstance(version, bool):
            floor = max(0, position_from_version(version, self._settings) - len(events))
        found, _ = self._look_for(stream_id, events, floor, action)
        if found is None:
            raise EventStoreError(
                f"DeltaBase confirmed saving the events for {stream_id} but does not show them "
                "when asked: check the DeltaBase settings (event_id_metadata_key)."
            )
        return found

    def _look_for(
        self, stream_id: str, events: Sequence[NewEvent], floor: int, action: str
    ) -> tuple[AppendResult | None, int]:
        """Our events in the stream after ``floor`` (if there), and the stream's position."""
        try:
            while True:
                recorded = self._store.read_stream(stream_id, after=floor)
                if recorded:
                    observed = recorded[-1].stream_position
                    break
                # Nothing after the floor: how far is the stream? (It may be shorter.) If it
                # grew meanwhile, read again, so that what we search is what we observed.
                observed = self._store.stream_position(stream_id)
                if observed <= floor:
                    break
        except StoreUnavailableError as exc:
            raise StoreUnavailableError(
                f"Could not confirm whether the events for {stream_id} were saved: {exc} "
                "Repeating the same request will not save it twice."
            ) from exc
        run = _locate(recorded, events)
        if run is None:
            return None, observed
        return AppendResult(stream_id, run[-1].stream_position, tuple(run)), observed


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return decode_body(response.content, "a conflict")
    except ProtocolError:
        return None


def _locate(
    recorded: Sequence[RecordedEvent], events: Sequence[NewEvent]
) -> list[RecordedEvent] | None:
    """Our events, in order, among ``recorded``: by event id, else by command id and types."""
    ids = [e.event_id for e in events]
    for start, event in enumerate(recorded):
        if event.event_id == ids[0]:
            run = list(recorded[start : start + len(ids)])
            if [e.event_id for e in run] != ids:
                raise EventStoreError(
                    f"DeltaBase holds only part of an append to {event.stream_id} "
                    f"(event {ids[0]} without the rest): the store needs checking."
                )
            return run
    # A command id is only ours in its namespace: a client's event that carries the text of
    # an internal step's id (``commandScope`` absent) is not that step.
    command = _command_of(events[0].metadata)
    if command[0] is None:
        return None
    types = [e.type for e in events]
    for start, event in enumerate(recorded):
        if _command_of(event.metadata) == command and event.type == types[0]:
            run = list(recorded[start : start + len(types)])
            if [e.type for e in run] == types and all(
                _command_of(e.metadata) == command for e in run
            ):
                return run
    return None


def _command_of(metadata: Mapping[str, Any]) -> tuple[str | None, object]:
    command_id = metadata.get("commandId")
    return (command_id if isinstance(command_id, str) else None), metadata.get("commandScope")
