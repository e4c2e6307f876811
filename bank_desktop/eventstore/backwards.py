"""What the adapters' newest-first reads (``BackwardReader``) share: argument checks, and the
metadata filter's text prefilter and exact check.

Metadata is stored as JSON text and has no index. The adapters narrow rows in SQL with a
substring test on the value as JSON writes it (cheap, and safe on a damaged row, where a JSON
function would raise), then keep only events whose decoded metadata holds exactly that value.
"""

from __future__ import annotations

import json

from bank_desktop.eventstore.port import RecordedEvent
from bank_desktop.eventstore.validation import check_stream_id

#: "No upper bound" for ``before``: above any global position a store will reach.
NEWEST = 2**62


def check_backwards_args(
    before: int | None,
    limit: int,
    stream_id: str | None,
    metadata_equals: tuple[str, str] | None,
) -> int:
    """Validate the arguments; returns ``before`` as a number (``NEWEST`` for None)."""
    if before is not None and (isinstance(before, bool) or not isinstance(before, int)):
        raise ValueError(f"'before' must be a positive integer or None, got {before!r}.")
    if before is not None and before < 1:
        raise ValueError(f"'before' must be a positive integer or None, got {before!r}.")
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"'limit' must be a positive integer, got {limit!r}.")
    if stream_id is not None:
        check_stream_id(stream_id)
    if metadata_equals is not None:
        key, value = metadata_equals
        if not isinstance(key, str) or not isinstance(value, str) or not key:
            raise ValueError("'metadata_equals' must be a (key, value) pair of strings.")
    return NEWEST if before is None else before


def metadata_needle(value: str) -> str:
    """The text ``value`` is stored as inside JSON metadata (with its quotes)."""
    return json.dumps(value, ensure_ascii=False)


def metadata_matches(event: RecordedEvent, metadata_equals: tuple[str, str] | None) -> bool:
    """Whether ``event``'s metadata has ``key`` equal to ``value`` (always, with no filter)."""
    if metadata_equals is None:
        return True
    key, value = metadata_equals
    try:
        return event.metadata.get(key) == value
    except (LookupError, AttributeError):  # not loaded, or damaged (not a mapping)
        return False
