"""Text as a search compares it: case- and accent-insensitive (``Zoë`` is found by ``zoe``).

Folding is NFKD decomposition without combining marks and zero-width (non-)joiners, then
``casefold``. Names are folded
once, when they enter an index, and ASCII text (most of it) takes a C-speed path, so an index
of 100,000 customers is built in a fraction of a second.
"""

from __future__ import annotations

import unicodedata
from typing import Final

from bank_desktop.domain.text import JOINERS

#: Every combining mark (accents, and the vowel signs of some scripts) mapped to nothing, so
#: ``str.translate`` strips them at C speed; built from the Unicode tables on first use.
_MARKS: dict[int, None] = {}
#: Where combining marks are: none below U+0300 or above the supplementary planes' scripts.
_MARK_RANGE: Final = range(0x300, 0x20000)


def fold(text: str) -> str:
    """``text`` as searches compare it: no accents, no case, single spaces."""
    if text.isascii():
        return " ".join(text.lower().split())
    if not _MARKS:
        _MARKS.update(dict.fromkeys(cp for cp in _MARK_RANGE if unicodedata.combining(chr(cp))))
        # The joiners say how a name in a joining script is drawn, not how it is spelled: a
        # clerk may type it with or without them.
        _MARKS.update(dict.fromkeys(map(ord, JOINERS)))
    bare = unicodedata.normalize("NFKD", text).translate(_MARKS)
    return " ".join(bare.casefold().split())


def terms(query: str) -> list[str]:
    """The words of a query, folded, longest first (the most selective is tried first)."""
    return sorted(set(fold(query).split()), key=len, reverse=True)
