"""The parts of an append every adapter does the same way: encode, number, report.

An adapter takes its write lock, asks :func:`allocate` to check each request's expectation and
hand out positions, stores the rows its own way, and returns :func:`results`. Keeping this in
one place keeps the adapters' semantics identical (the contract suite checks them anyway).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from bank_desktop.eventstore.errors import ConcurrencyError
from bank_desktop.eventstore.exact_json import encode_json
from bank_desktop.eventstore.port import (
    AppendRequest,
    AppendResult,
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
