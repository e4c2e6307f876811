"""Time for events, at the millisecond precision the wire format keeps."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def wire_precision(moment: datetime) -> datetime:
    """Truncate to whole milliseconds in UTC, so state folded from stored events (which keep
    milliseconds) equals state evolved in memory from the decided events."""
    if moment.tzinfo is not UTC:
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        moment = moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond - moment.microsecond % 1000)
