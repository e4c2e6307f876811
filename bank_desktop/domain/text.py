"""Rules for the free-text fields clerks type: ids, descriptions and reasons.

Control characters are refused because they corrupt statements, logs and CSV exports.
"""

from __future__ import annotations

import unicodedata

from bank_desktop.domain.errors import ValidationError


def required_text(value: str, field: str, *, max_length: int) -> str:
    """Trimmed non-empty text without control characters, at most ``max_length`` long."""
    cleaned = optional_text(value, field, max_length=max_length)
    if cleaned is None:
        raise ValidationError(f"{field} is required.", {"field": field})
    return cleaned


def optional_text(value: str | None, field: str, *, max_length: int) -> str | None:
    """Like :func:`required_text`, but empty or missing text means "none given"."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be text.", {"field": field})
    cleaned = value.strip()
    if not cleaned:
        return None
    if len(cleaned) > max_length:
        raise ValidationError(
            f"{field} is too long: at most {max_length} characters.",
            {"field": field, "length": len(cleaned), "limit": max_length},
        )
    if any(unicodedata.category(ch) == "Cc" for ch in cleaned):
        raise ValidationError(f"{field} must not contain control characters.", {"field": field})
    return cleaned
