"""Argument checks every adapter applies the same way, so bad input fails alike everywhere."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from bank_desktop.eventstore.port import NewEvent

MAX_STREAM_ID_LENGTH: Final = 200


def check_stream_id(stream_id: str) -> None:
    if not isinstance(stream_id, str) or not stream_id:
        raise ValueError("Stream id must be a non-empty string.")
    if len(stream_id) > MAX_STREAM_ID_LENGTH:
        raise ValueError(f"Stream id is longer than {MAX_STREAM_ID_LENGTH} characters.")
    if "\x00" in stream_id:
        raise ValueError("Stream id must not contain NUL characters.")
    _check_encodable(stream_id, "Stream id")


def check_read_args(after: int, limit: int | None, *, limit_required: bool = False) -> None:
    if isinstance(after, bool) or not isinstance(after, int) or after < 0:
        raise ValueError(f"'after' must be a non-negative integer, got {after!r}.")
    if limit is None and limit_required:
        raise ValueError("'limit' must be a positive integer, got None.")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"'limit' must be a positive integer, got {limit!r}.")


MAX_EVENT_TYPE_LENGTH: Final = 100
MAX_EVENT_ID_LENGTH: Final = 100


def check_new_events(events: object) -> None:
    if not isinstance(events, list | tuple):
        raise TypeError("Events must be a list or tuple of NewEvent.")
    for event in events:
        if not isinstance(event, NewEvent):
            raise TypeError(f"Expected NewEvent, got {type(event).__name__}.")
        if not isinstance(event.type, str) or not event.type:
            raise ValueError("Event type must be a non-empty string.")
        if len(event.type) > MAX_EVENT_TYPE_LENGTH:
            raise ValueError(f"Event type is longer than {MAX_EVENT_TYPE_LENGTH} characters.")
        if not isinstance(event.data, Mapping) or not isinstance(event.metadata, Mapping):
            raise TypeError("Event data and metadata must be mappings.")
        if not isinstance(event.event_id, str) or not event.event_id:
            raise ValueError("Event id must be a non-empty string.")
        if len(event.event_id) > MAX_EVENT_ID_LENGTH:
            raise ValueError(f"Event id is longer than {MAX_EVENT_ID_LENGTH} characters.")
        if "\x00" in event.type or "\x00" in event.event_id:
            raise ValueError("Event types and ids must not contain NUL characters.")
        _check_encodable(event.type, "Event type")
        _check_encodable(event.event_id, "Event id")


def _check_encodable(text: str, what: str) -> None:
    """Lone surrogates cannot be stored as UTF-8: refuse them here, alike for every adapter,
    instead of as a driver error inside a write transaction."""
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(
                f"{what} contains characters that are not valid Unicode text."
            ) from None
