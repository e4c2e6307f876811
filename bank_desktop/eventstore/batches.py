"""The parts of an append every adapter does the same way: encode, number, report.

An adapter takes its write lock, asks :func:`allocate` to check each request's expectation and
hand out positions, stores the rows its own way, and returns :func:`results`. Keeping this in
one place keeps the adapters' semantics identical (the contract suite checks them anyway).

A :class:`Write` is one caller's all-or-nothing part of a commit that may carry several
(:mod:`~bank_desktop.eventstore.group_commit`): its requests, perhaps a stream decided under
the lock, and, once committed or refused, its outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from bank_desktop.eventstore.errors import ConcurrencyError
from bank_desktop.eventstore.exact_json import encode_json
from bank_desktop.eventstore.port import (
    AppendRequest,
    AppendResult,
    DecideTail,
    RecordedEvent,
    expectation_met,
)
from bank_desktop.eventstore.validation import check_new_events, check_stream_id

#: event id, type, data as JSON text, metadata as JSON text
Encoded = tuple[str, str, str, str]
#: global position, stream id, stream position, event id, type, data JSON, metadata JSON
Row = tuple[int, str, int, str, str, str, str]


def encode_requests(requests: Sequence[AppendRequest]) -> list[list[Encoded]]:
    """Validate and encode before taking any lock: bad input fails without waiting."""
    encoded = []
    for request in requests:
        check_stream_id(request.stream_id)
        check_new_events(request.events)
        encoded.append(
            [
                (e.event_id, e.type, encode_json(e.data), encode_json(e.metadata))
                for e in request.events
            ]
        )
    return encoded


def allocate(
    requests: Sequence[AppendRequest],
    encoded: Sequence[Sequence[Encoded]],
    *,
    head: int,
    position_of: Callable[[str], int],
) -> tuple[list[Row], list[int]]:
    """Check every expectation and number every event; call it under the store's write lock.

    ``head`` is the store's last global position, ``position_of`` reads a stream's current
    position. Several requests may name one stream: each sees the ones before it. Raises
    ConcurrencyError (nothing numbered) on the first expectation that does not hold.
    Returns the rows to store and each request's new stream position.
    """
    rows: list[Row] = []
    heads: list[int] = []
    pending: dict[str, int] = {}
    for request, items in zip(requests, encoded, strict=True):
        stream_id = request.stream_id
        actual = pending[stream_id] if stream_id in pending else position_of(stream_id)
        if not expectation_met(request.expected, actual):
            raise ConcurrencyError(stream_id, request.expected, actual)
        for event_id, type_, data, metadata in items:
            head += 1
            actual += 1
            rows.append((head, stream_id, actual, event_id, type_, data, metadata))
        pending[stream_id] = actual
        heads.append(actual)
    return rows, heads


def results(
    requests: Sequence[AppendRequest],
    rows: Sequence[Row],
    heads: Sequence[int],
    at: datetime,
    *,
    db_role: str | None = None,
) -> list[AppendResult]:
    """The append's answer: per request, its new position and the recorded events (with the
    caller's own data and metadata objects, already known to be valid JSON); ``db_role``, the
    database role the store records on them, when it records one."""
    answers = []
    row_iter = iter(rows)
    for request, head in zip(requests, heads, strict=True):
        recorded = []
        for event in request.events:
            global_position, stream_id, stream_position, *_ = next(row_iter)
            recorded.append(
                RecordedEvent(
                    event.event_id,
                    event.type,
                    event.data,
                    stream_id,
                    stream_position,
                    global_position,
                    at,
                    event.metadata,
                    db_role,
                )
            )
        answers.append(AppendResult(request.stream_id, head, tuple(recorded)))
    return answers


class Write:
    """One caller's all-or-nothing part of a commit, and what became of it.

    ``requests`` are checked and written together; with ``decide``, the events after
    ``after`` in ``stream_id`` are read under the lock, ``decide(tail)`` names that stream's
    events, and ``requests`` are written with them only when there are some (a request id's
    claim goes with a command's events, never alone). ``outcome`` is the list of results, one
    per request written (the decided stream's last), or the exception that refused the write.
    """

    __slots__ = (
        "after",
        "decide",
        "encoded",
        "heads",
        "outcome",
        "planned",
        "requests",
        "rows",
        "stream_id",
    )

    def __init__(
        self,
        requests: Sequence[AppendRequest],
        *,
        decide: DecideTail | None = None,
        stream_id: str = "",
        after: int = 0,
    ) -> None:
        self.requests = requests
        self.encoded = encode_requests(requests)  # bad input fails before any lock is taken
        self.decide = decide
        self.stream_id = stream_id
        self.after = after
        self.planned: Sequence[AppendRequest] = requests
        self.rows: list[Row] = []
        self.heads: list[int] = []
        self.outcome: list[AppendResult] | BaseException | None = None

    @property
    def first_stream(self) -> str:
        """The stream whose position the write needs first ('' for none)."""
        if self.requests:
            return self.requests[0].stream_id
        return self.stream_id

    @property
    def action(self) -> str:
        """What the write does, for error messages."""
        first = self.stream_id or (self.requests[0].stream_id if self.requests else "")
        return f"append to {first or 'the store'}"

    def plan(
        self,
        head: int,
        position_of: Callable[[str], int],
        read_tail: Callable[[str, int], list[RecordedEvent]],
    ) -> list[Row]:
        """Decide (if asked), check every expectation and number the rows after ``head``;
        under the store's write lock. Raises what refuses the write (nothing numbered)."""
        requests, encoded = self.requests, self.encoded
        if self.decide is not None:
            stream_id = self.stream_id
            tail = read_tail(stream_id, self.after)
            at = self.after + len(tail)
            decided = AppendRequest(stream_id, list(self.decide(tail)), at)
            if decided.events:
                requests = [*requests, decided]
                encoded = [*encoded, *encode_requests([decided])]
            else:
                requests, encoded = [decided], [[]]
            stored = position_of

            def position_of(sid: str) -> int:
                return at if sid == stream_id else stored(sid)

        self.planned = requests
        self.rows, self.heads = allocate(requests, encoded, head=head, position_of=position_of)
        return self.rows

    def committed(self, at: datetime, *, db_role: str | None = None) -> None:
        if self.outcome is None:
            self.outcome = results(self.planned, self.rows, self.heads, at, db_role=db_role)

    def refused(self, error: BaseException) -> None:
        if self.outcome is None:
            self.outcome = error

    def result(self) -> list[AppendResult]:
        """The results, or raise what refused the write."""
        outcome = self.outcome
        if isinstance(outcome, BaseException):
            raise outcome
        if outcome is None:  # pragma: no cover - every commit settles every write
            raise RuntimeError("the write was never committed")
        return outcome


def settle(write: Write, error: BaseException) -> None:
    """Record ``error`` on a write that has no outcome yet (a shared commit that failed)."""
    write.refused(error)
