"""Days and time zones as clerks and clients type them, for journals and "as of" views.

A day is ``YYYY-MM-DD``; a zone is an IANA name (``Europe/Zurich``), ``UTC``, or ``local``
(this machine's zone, the default: a clerk's "the 1st" is their own midnight to midnight).
Bad input is a ``ValidationError`` naming the field, like every other refusal.
"""

from __future__ import annotations

from datetime import UTC, date, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bank_desktop.domain.errors import ValidationError

LOCAL = "local"


def parse_day(text: str, field: str = "Date") -> date:
    try:
        return date.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        raise ValidationError(
            f"{field} must be a date like 2026-11-03 (got {str(text).strip()[:40]!r}).",
            {"field": field},
        ) from None


def parse_zone(name: str | None) -> tzinfo | None:
    """The zone ``name`` names; None for the machine's local zone (``local`` or nothing)."""
    if name is None or not name.strip() or name.strip().lower() == LOCAL:
        return None
    cleaned = name.strip()
    if cleaned.upper() in ("UTC", "Z"):
        return UTC
    try:
        return ZoneInfo(cleaned)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            f"Time zone {cleaned[:60]!r} is not known: use a name like Europe/Zurich, UTC or "
            "local.",
            {"field": "Time zone"},
        ) from None
