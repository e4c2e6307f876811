"""Rules for the free-text fields clerks type: ids, descriptions and reasons.

Control characters, line separators and invisible format characters (Unicode category Cf) are
refused: they corrupt statements, logs and CSV exports; a bidirectional override can make "100"
display as "001"; a zero-width space, a BOM or a soft hyphen makes ``cust-1`` and ``cust-1``
with one of them two customers that look the same; tag characters hide whole words. Cf also
holds the zero-width joiners some scripts and emoji sequences use: ids and bank statements are
better off without them than with look-alikes.
"""

from __future__ import annotations

import unicodedata
from typing import Final

from bank_desktop.domain.errors import ValidationError

#: Control, line and paragraph separators, format (every bidi control is one), lone surrogates.
_REFUSED_CATEGORIES: Final = frozenset({"Cc", "Zl", "Zp", "Cf", "Cs"})
_BIDI_CONTROLS: Final = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


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
    # isprintable() is False for every refused character (and for some harmless ones such as
    # a no-break space): a cheap C check first, the precise one only when it fails.
    if not cleaned.isprintable():
        _refuse_hidden(cleaned, field)
    return cleaned


def _refuse_hidden(text: str, field: str) -> None:
    """Raise for the first refused character; a no-break space and the like pass."""
    for ch in text:
        category = unicodedata.category(ch)
        if category not in _REFUSED_CATEGORIES:
            continue
        if category == "Cf" and ch not in _BIDI_CONTROLS:
            raise ValidationError(
                f"{field} must not contain invisible formatting characters "
                f"(found U+{ord(ch):04X}, {unicodedata.name(ch, 'unnamed').lower()}).",
                {"field": field, "character": f"U+{ord(ch):04X}"},
            )
        raise ValidationError(f"{field} must not contain control characters.", {"field": field})
