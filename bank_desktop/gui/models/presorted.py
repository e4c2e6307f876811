"""A ``SortedList`` made from values already in order, and a mask read in another order.

``SortedList(values)`` sorts its values first: for 60,000 (name, row) entries picked in order
from a sorted table that is ~15 ms of comparisons that change nothing, most of a keystroke's
budget. :func:`sorted_list_of` lays ordered values out the way ``SortedList.update`` does
after its sort (sortedcontainers 2.x: sublists of ``_load`` values, each sublist's last value
in ``_maxes``); on a sortedcontainers without those internals it falls back to sorting.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter
from typing import Any

from sortedcontainers import SortedList

_LAID_OUT = all(hasattr(SortedList(), name) for name in ("_lists", "_maxes", "_load", "_len"))


def sorted_list_of(ordered: list[Any]) -> SortedList:
    """A ``SortedList`` of ``ordered``, which must already be in ascending order."""
    if not _LAID_OUT:  # pragma: no cover - another sortedcontainers layout
        return SortedList(ordered)
    made = SortedList()
    load = made._load
    made._lists = [ordered[at : at + load] for at in range(0, len(ordered), load)]
    made._maxes = [part[-1] for part in made._lists]
    made._len = len(ordered)
    return made


def picked(mask: Sequence[int], rows: Sequence[int]) -> bytes:
    """``mask[row]`` for each of ``rows``, in their order, in one C call (``itemgetter``)."""
    if len(rows) < 2:  # itemgetter of one index returns the value, not a tuple
        return bytes(mask[row] for row in rows)
    return bytes(itemgetter(*rows)(mask))
