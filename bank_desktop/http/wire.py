"""Exact JSON out: responses encoded by msgspec with Decimals as JSON numbers, never floats."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
from starlette.responses import JSONResponse

from bank_desktop.domain.money import exact_cents


def _fallback(value: Any) -> Any:
    """Anything msgspec cannot encode natively goes out as text (never as a float)."""
    return str(value)


_encoder = msgspec.json.Encoder(decimal_format="number", enc_hook=_fallback)


def encode(content: Any) -> bytes:
    if isinstance(content, float):  # pragma: no cover - responses never carry floats
        raise TypeError("refusing to send a float")
    return _encoder.encode(content)


class ExactJSONResponse(JSONResponse):
    """JSON with Decimals as exact numbers (``120.00``, not ``120.0`` or ``"120.00"``)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return encode(content)


def money_out(amount: Decimal) -> Decimal:
    """An amount for a response: two places when that is exact, all its places otherwise
    (never rounded: an event delivered with a third decimal shows it)."""
    cents = exact_cents(amount)
    return amount if cents is None else cents
