"""Checks for values read back from a projection snapshot.

A snapshot file passes its digest check before it is decoded, but the digest only proves that
the bytes are the ones written, not that a writer (an earlier version, a tool, an edit with a
recomputed digest) put sensible values in them. Every value is checked on load, cheaply, so a
"NaN" or absurd balance is refused (and the model rebuilt from the store) instead of crashing
``accounts`` or every ``GET /accounts`` later. Each failure is a ValueError naming the value.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from operator import attrgetter
from typing import Any, Final

#: Larger than any balance a bank keeps (10^21 major units) and small enough to add safely.
_MAX_ADJUSTED_EXPONENT: Final = 20
_fromiso = datetime.fromisoformat


def amount(value: Any, what: str) -> Decimal:
    """A finite, reasonably sized number as Decimal (JSON numbers decode to Decimal or int)."""
    kind = type(value)
    if kind is Decimal:
        if value.is_finite() and value.adjusted() <= _MAX_ADJUSTED_EXPONENT:
            return value  # type: ignore[no-any-return]
    elif kind is int and abs(value) < 10**_MAX_ADJUSTED_EXPONENT:
        return Decimal(value)
    raise ValueError(f"{what} is {value!r}, not an amount")


def text(value: Any, what: str) -> str:
    if type(value) is not str or not value:
        raise ValueError(f"{what} is {value!r}, not a non-empty text")
    return value


def optional_text(value: Any, what: str) -> str | None:
    if value is not None and type(value) is not str:
        raise ValueError(f"{what} is {value!r}, not a text")
    return value


def moment(value: Any, what: str) -> datetime:
    """An ISO-8601 time with its zone (as the projections write them), or such a datetime (a
    snapshot's state taken in memory, not read back from JSON)."""
    if type(value) is datetime and value.tzinfo is not None:
        return value
    if type(value) is str:
        try:
            parsed = _fromiso(value)
        except ValueError:
            pass
        else:
            if parsed.tzinfo is not None:
                return parsed
    raise ValueError(f"{what} is {value!r}, not a time with its zone")


def revision(value: Any, what: str) -> int:
    if type(value) is not int or value < 1:
        raise ValueError(f"{what} is {value!r}, not a stream position")
    return value


def flag(value: Any, what: str) -> bool:
    if type(value) is not bool:
        raise ValueError(f"{what} is {value!r}, not true or false")
    return value


def column_types(column: Sequence[Any]) -> set[type]:
    """The types of a column of values (C speed: 100,000 rows in about a millisecond)."""
    return set(map(type, column))


def amounts_plausible(column: Sequence[Any]) -> bool:
    """Whether every value of a column passes :func:`amount`, checked at C speed: this runs
    on every start, over every balance, where a call per value would cost a tenth of a second."""
    if not column:
        return True
    kinds = column_types(column)
    if not kinds <= {Decimal, int}:
        return False
    values = column if kinds == {Decimal} else tuple(map(Decimal, column))
    if not all(map(Decimal.is_finite, values)):
        return False
    limit = Decimal(10) ** (_MAX_ADJUSTED_EXPONENT + 1)
    return bool(-limit < min(values) and max(values) < limit)


def revisions_plausible(column: Sequence[Any]) -> bool:
    return not column or (column_types(column) == {int} and min(column) >= 1)


def texts_plausible(column: Sequence[Any]) -> bool:
    return not column or (column_types(column) == {str} and all(column))


# ── columns ───────────────────────────────────────────────────────────────────────────────
# Snapshots keep a table as columns: each a list of the values the rows already hold, so a save
# makes a handful of big lists and nothing per row (100,000 small lists and 300,000 time texts
# made and dropped at once would leave the heap in holes the window never gives back).

_MINUTE: Final = timedelta(minutes=1)


def times_for_json(values: list[datetime | None]) -> list[Any]:
    """A column of times as the JSON encoder may take it: the datetimes themselves when every
    zone is a whole number of minutes (the encoder writes no seconds of an offset), else
    ISO texts for the values whose zone is not."""
    zones = set(map(_ZONE, filter(None, values)))
    if all(_minute_offset(zone) for zone in zones):
        return values
    return [v if v is None or _minute_offset(v.tzinfo) else v.isoformat() for v in values]


def _minute_offset(zone: tzinfo | None) -> bool:
    offset = zone.utcoffset(None) if type(zone) is timezone else None
    return offset is not None and offset % _MINUTE == timedelta(0)


_ZONE: Final = attrgetter("tzinfo")


def columns(state: Any, names: tuple[str, ...], table: str) -> list[list[Any]]:
    """The named columns of a snapshot table, all lists of one length; ValueError if not."""
    if type(state) is not dict or set(state) != set(names):
        raise ValueError(f"the {table} are not the columns {', '.join(names)}")
    found = [state[name] for name in names]
    if any(type(column) is not list for column in found) or len(set(map(len, found))) > 1:
        raise ValueError(f"the {table} columns are not lists of one length")
    return found


def moments(column: list[Any]) -> list[datetime]:
    """ISO times with their zones, parsed at C speed (datetimes kept: a state taken in memory);
    TypeError/ValueError if one is not."""
    try:
        parsed = list(map(_fromiso, column))
    except TypeError:
        parsed = [value if type(value) is datetime else _fromiso(value) for value in column]
    if None in set(map(_ZONE, parsed)):
        raise ValueError("a time has no zone")
    return parsed


def optional_moments(column: list[Any]) -> list[datetime | None]:
    """Like :func:`moments`, with None kept."""
    parsed = [
        value if value is None or type(value) is datetime else _fromiso(value) for value in column
    ]
    if any(value is not None and value.tzinfo is None for value in parsed):
        raise ValueError("a time has no zone")
    return parsed
