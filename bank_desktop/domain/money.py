"""Exact money: one parser for everything a clerk or a client types, one formatter for display.

Amounts are ``Decimal`` values with two places (cents). Floats are refused outright, because a
float has already lost the exact value by the time it reaches us (0.1 + 0.2 != 0.3).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation, localcontext
from typing import Final

from bank_desktop.domain.errors import ValidationError

CENT: Final = Decimal("0.01")
ZERO: Final = Decimal("0.00")
#: The largest amount a single command may carry: one trillion minus a cent. Anything larger is
#: a typo or an attack, not a teller transaction.
MAX_AMOUNT: Final = Decimal("999999999999.99")
_MAX_TEXT_LENGTH: Final = 40

# Optional sign, optional "$", then either plain digits or correctly grouped thousands (never
# "0,123", which reads like a decimal comma), then an optional fraction. No exponents, no
# spaces inside, no other currency symbols.
_AMOUNT_TEXT: Final = re.compile(
    r"(?P<sign>[+-])?\$?(?P<whole>[1-9][0-9]{0,2}(?:,[0-9]{3})+|[0-9]+)?(?:\.(?P<frac>[0-9]*))?"
)

MoneyInput = str | Decimal | int


def parse_money(value: MoneyInput, *, field: str = "Amount") -> Decimal:
    """Turn clerk or client input into an exact two-place Decimal, or say clearly why not.

    The sign is kept: whether a negative or zero amount is acceptable is a business rule the
    decider states in its own words ("Deposit amount must be positive").
    """
    if isinstance(value, bool):
        raise TypeError(f"{field} must be text or a Decimal, not a bool")
    if isinstance(value, float):
        raise TypeError(
            f"{field} must be text or a Decimal, not a float: floats cannot hold cents exactly"
        )
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, Decimal):
        amount = value
    elif isinstance(value, str):
        amount = _parse_text(value, field)
    else:
        raise TypeError(f"{field} must be text or a Decimal, not {type(value).__name__}")
    return _checked(amount, field, shown=value)


def _parse_text(text: str, field: str) -> Decimal:
    cleaned = text.strip()
    if not cleaned:
        raise ValidationError(f"{field} is required.", {"field": field, "value": text})
    if len(cleaned) > _MAX_TEXT_LENGTH:
        raise ValidationError(
            f"{field} is too long to be an amount.", {"field": field, "value": text[:60]}
        )
    match = _AMOUNT_TEXT.fullmatch(cleaned)
    if match is None or not (match["whole"] or match["frac"]):
        raise ValidationError(
            f"{field} must be a number like 1,234.56 (got {cleaned!r}).",
            {"field": field, "value": text},
        )
    whole = (match["whole"] or "0").replace(",", "")
    digits = f"{match['sign'] or ''}{whole}.{match['frac'] or '0'}"
    return Decimal(digits)


def within_limit(amount: Decimal) -> bool:
    """Whether ``amount`` is finite and at most :data:`MAX_AMOUNT` in size, by comparison alone.

    This goes first wherever money arrives (commands, request bodies, the webhook, stored
    events): ``Decimal("1E+999999999")`` is a valid Decimal that any JSON number can spell,
    and ``abs()``, ``quantize()`` or a sum round it to the context and overflow. Comparisons
    are exact and never signal, so after this check every further step is safe.
    """
    return amount.is_finite() and -MAX_AMOUNT <= amount <= MAX_AMOUNT


def exact_cents(amount: Decimal) -> Decimal | None:
    """``amount`` written with exactly two places when that changes no digit, else None: the
    one test of "at most two decimals" (request bodies, the webhook, responses, statements).

    Never rounds, and safe for any finite Decimal: the context is as wide as the amount, so a
    quantize cannot overflow (run :func:`within_limit` first where the size matters).
    """
    if not amount.is_finite():
        return None
    with localcontext() as ctx:
        ctx.prec = max(40, len(amount.as_tuple().digits) + 4)
        try:
            cents = amount.quantize(CENT)
        except InvalidOperation:  # pragma: no cover - the precision above covers every digit
            return None
    return cents if cents == amount else None


def _checked(amount: Decimal, field: str, *, shown: object) -> Decimal:
    if not amount.is_finite():
        raise ValidationError(
            f"{field} must be a finite number.", {"field": field, "value": _shown(shown)}
        )
    if not amount:
        return ZERO  # zero with any exponent (0E+999999999): nothing to bound
    if not within_limit(amount):
        raise ValidationError(
            f"{field} is too large: the limit is {format_money(MAX_AMOUNT)}.",
            {"field": field, "value": _shown(shown), "limit": str(MAX_AMOUNT)},
        )
    cents = exact_cents(amount)
    if cents is None:
        raise ValidationError(
            f"{field} can have at most 2 decimal places (got {_shown(shown)}).",
            {"field": field, "value": _shown(shown)},
        )
    return cents + ZERO  # normalises -0.00 to 0.00


def _shown(value: object) -> str:
    """The input as a message may quote it: short, and never a conversion that can fail (an
    int of 5,000 digits refuses ``str()`` beyond Python's digit limit)."""
    if isinstance(value, int) and not -(10**40) < value < 10**40:
        return "a number of more than 40 digits"
    return str(value)[:60]


def format_money(amount: Decimal, currency: str = "$") -> str:
    """Format for clerks: ``$1,234.56``, ``-$5.00``; never rounds away a cent it was given."""
    sign = "-" if amount < 0 else ""
    magnitude = abs(amount)
    cents = exact_cents(magnitude)
    with localcontext() as ctx:
        ctx.prec = max(40, len(magnitude.as_tuple().digits) + 4)
        if cents is not None:
            return f"{sign}{currency}{cents:,.2f}"
        return f"{sign}{currency}{magnitude:,f}"
