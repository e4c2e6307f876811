"""Checks for values read back from a projection snapshot.

A snapshot file passes its digest check before it is decoded, but the digest only proves that
the bytes are the ones written, not that a writer (an earlier version, a tool, an edit with a
recomputed digest) put sensible values in them. Every value is checked on load, cheaply, so a
"NaN" or absurd balance is refused (and the model rebuilt from the store) instead of crashing
``accounts`` or every ``GET /accounts`` later. Each failure is a ValueError naming the value.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
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
    """An ISO-8601 time with its zone (as the projections write them)."""
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


def column_types(column: tuple[Any, ...]) -> set[type]:
    """The types of a column of values (C speed: 100,000 rows in about a millisecond)."""
    return set(map(type, column))


def amounts_plausible(column: tuple[Any, ...]) -> bool:
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


def revisions_plausible(column: tuple[Any, ...]) -> bool:
    return not column or (column_types(column) == {int} and min(column) >= 1)


def texts_plausible(column: tuple[Any, ...]) -> bool:
    return not column or (column_types(column) == {str} and all(column))
