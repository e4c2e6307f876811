"""Which of many short search keys contain a word, found at C speed.

A Python loop over 100,000 keys costs ~10 ms a word. The keys are joined instead into one
text (a newline between keys: folded keys hold no line breaks), so a word's occurrences are
found by one regular-expression scan, and each occurrence is mapped back to its key by
bisecting the keys' start offsets. A word found in most keys ("a") makes many occurrences to
map: past an eighth of the keys the scan gives up and tests every key with ``str.__contains__``
through ``map``, which costs the same whatever the word. Narrowing an earlier answer tests only
the keys in it.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import deque
from collections.abc import Iterable, Sequence
from itertools import compress, islice, repeat
from operator import contains
from typing import Final

SEPARATOR: Final = "\n"


class KeyScan:
    """Rows (indices) of a list of keys that contain a word.

    It reads the list it is given: rows appended to it are joined in on the next scan;
    after a key changes in place, :meth:`invalidate` has the text joined afresh.
    """

    def __init__(self, keys: list[str]) -> None:
        self._keys = keys
        self._text = ""
        self._starts: list[int] = []  #: where each joined key starts in ``_text``

    @property
    def keys(self) -> list[str]:
        """The list this scan reads (the caller's own, not a copy)."""
        return self._keys

    @property
    def is_current(self) -> bool:
        """Whether the joined text covers every key: the next scan joins nothing first."""
        return len(self._starts) == len(self._keys)

    def prepare(self) -> KeyScan:
        """Join the keys now (a loading worker does, so that a clerk's first keystroke does
        not pay ~0.1 s for 100k keys); returns the scan."""
        self._joined()
        return self

    def invalidate(self) -> None:
        self._text, self._starts = "", []

    def _joined(self) -> tuple[str, list[int]]:
        keys, starts = self._keys, self._starts
        if len(starts) != len(keys):
            if len(starts) > len(keys):  # the list was replaced or shrunk: start again
                self.invalidate()
                starts = self._starts
            added = keys[len(starts) :]
            offset = len(self._text)
            for key in added:
                starts.append(offset)
                offset += len(key) + 1
            self._text += "".join(key + SEPARATOR for key in added)
        return self._text, starts

    def rows_with(self, word: str) -> list[int]:
        """Every row whose key contains ``word``, ascending."""
        keys = self._keys
        if not word or SEPARATOR in word:
            return list(compress(range(len(keys)), map(contains, keys, repeat(word))))
        text, starts = self._joined()
        limit = len(starts) // 8 + 1
        offsets = [m.start() for m in islice(re.finditer(re.escape(word), text), limit)]
        if len(offsets) == limit:  # in many keys: testing each key is cheaper
            return list(compress(range(len(keys)), map(contains, keys, repeat(word))))
        # Occurrences come in text order, so their rows ascend; ``dict.fromkeys`` drops
        # the repeats of a key found more than once, keeping that order.
        after = dict.fromkeys(map(bisect_right, repeat(starts), offsets))
        return list(map((-1).__add__, after))

    def rows_with_among(self, word: str, rows: Iterable[int]) -> list[int]:
        """Those of ``rows`` (kept in their order) whose key contains ``word``."""
        keys = self._keys
        chosen = list(rows)
        return list(compress(chosen, map(contains, map(keys.__getitem__, chosen), repeat(word))))


def mark(mask: bytearray, rows: Iterable[int]) -> bytearray:
    """``mask`` with a 1 at each of ``rows`` (at C speed: no Python loop per row)."""
    deque(map(mask.__setitem__, rows, repeat(1)), maxlen=0)
    return mask


def union(first: bytes | bytearray, second: bytes | bytearray) -> bytearray:
    """Two masks of the same length or-ed byte by byte (as two big integers: C speed)."""
    size = len(first)
    either = int.from_bytes(first, "little") | int.from_bytes(second, "little")
    return bytearray(either.to_bytes(size, "little"))


def intersection(first: bytes | bytearray, second: bytes | bytearray) -> bytearray:
    """Two masks of the same length and-ed byte by byte (C speed, as :func:`union`)."""
    size = len(first)
    both = int.from_bytes(first, "little") & int.from_bytes(second, "little")
    return bytearray(both.to_bytes(size, "little"))


def rows_of(mask: Sequence[int]) -> list[int]:
    """The rows a mask marks, ascending."""
    return list(compress(range(len(mask)), mask))
