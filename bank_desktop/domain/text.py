"""Rules for the free-text fields clerks type: ids, descriptions and reasons.

Control characters, line separators and invisible format characters (Unicode category Cf) are
refused: they corrupt statements, logs and CSV exports; a bidirectional override can make "100"
display as "001"; a zero-width space, a BOM or a soft hyphen makes ``cust-1`` and ``cust-1``
with one of them two customers that look the same; tag characters hide whole words. Cf also
holds the zero-width (non-)joiners that Persian, Arabic and the Indic scripts spell words with:
ids, descriptions and reasons are better off without them than with look-alikes, but a
customer's name or address written in those scripts needs them (``joiners=True``): there a
joiner is taken after a virama, or between two letters of a script that joins its letters,
never between Latin letters, beside a space or at either end.
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
#: Zero-width non-joiner and joiner.
JOINERS: Final = frozenset("\u200c\u200d")
#: Scripts whose letters join or form conjuncts: Arabic, Syriac, Thaana, NKo and the Arabic
#: extensions; the Indic scripts and Sinhala; Myanmar; Khmer; Mongolian; Arabic presentation
#: forms.
_JOINING_SCRIPTS: Final = (
    (0x0600, 0x08FF),
    (0x0900, 0x0DFF),
    (0x1000, 0x109F),
    (0x1780, 0x18AF),
    (0xFB50, 0xFDFF),
    (0xFE70, 0xFEFF),
)
_VIRAMA: Final = 9  # the canonical combining class of a virama (halant)


def required_text(value: str, field: str, *, max_length: int, joiners: bool = False) -> str:
    """Trimmed non-empty text without control characters, at most ``max_length`` long;
    ``joiners``: zero-width (non-)joiners where a joining script spells with them."""
    cleaned = optional_text(value, field, max_length=max_length, joiners=joiners)
    if cleaned is None:
        raise ValidationError(f"{field} is required.", {"field": field})
    return cleaned


def optional_text(
    value: str | None, field: str, *, max_length: int, joiners: bool = False
) -> str | None:
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
        _refuse_hidden(cleaned, field, joiners=joiners)
    return cleaned


def _refuse_hidden(text: str, field: str, *, joiners: bool) -> None:
    """Raise for the first refused character; a no-break space and the like pass."""
    for at, ch in enumerate(text):
        category = unicodedata.category(ch)
        if category not in _REFUSED_CATEGORIES:
            continue
        if joiners and ch in JOINERS and _joins(text, at):
            continue
        if category == "Cf" and ch not in _BIDI_CONTROLS:
            raise ValidationError(
                f"{field} must not contain invisible formatting characters "
                f"(found U+{ord(ch):04X}, {unicodedata.name(ch, 'unnamed').lower()}).",
                {"field": field, "character": f"U+{ord(ch):04X}"},
            )
        raise ValidationError(f"{field} must not contain control characters.", {"field": field})


def _joins(text: str, at: int) -> bool:
    """Whether the joiner at ``at`` sits where a joining script spells with one: after a
    virama, or between two letters (or marks) the first of which is of such a script."""
    if at == 0 or at == len(text) - 1:
        return False
    before, after = text[at - 1], text[at + 1]
    if not _letter_or_mark(after):
        return False
    if unicodedata.combining(before) == _VIRAMA:
        return True
    code = ord(before)
    return _letter_or_mark(before) and any(low <= code <= high for low, high in _JOINING_SCRIPTS)


def _letter_or_mark(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LM"
