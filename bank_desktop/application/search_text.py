"""Text as a search compares it: case- and accent-insensitive (``Zoë`` is found by ``zoe``).

Folding is NFKD decomposition without combining marks, then ``casefold``. Names are folded
once, when they enter an index, and ASCII text (most of it) takes a C-speed path, so an index
of 100,000 customers is built in a fraction of a second.
"""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """``text`` as searches compare it: no accents, no case, single spaces."""
    if text.isascii():
        return " ".join(text.lower().split())
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.casefold().split())


def terms(query: str) -> list[str]:
    """The words of a query, folded, longest first (the most selective is tried first)."""
    return sorted(set(fold(query).split()), key=len, reverse=True)
