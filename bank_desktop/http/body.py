"""Exact JSON in: request bodies read with a size limit and parsed without floats.

A number with a fraction or an exponent becomes a ``Decimal`` straight from its text
(``float_hook``), so ``0.1`` is 0.1 and ``12345678901234567.89`` keeps its cents; integers of
any size stay ``int``. A key given twice in one object is refused (400): parsers disagree on
which one wins (most take the last, some the first), so ``{"amount": 1, "amount": 1000}``
means different things to a proxy that checked it and to us.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, Final

import msgspec
from starlette.requests import ClientDisconnect, Request

from bank_desktop.http.errors import ApiError

#: Largest command body accepted (a command is a few short fields).
COMMAND_BODY_LIMIT: Final = 64 * 1024
#: Largest webhook body accepted (a batch of events).
WEBHOOK_BODY_LIMIT: Final = 16 * 1024 * 1024

_decoder = msgspec.json.Decoder(float_hook=Decimal)


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> None:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise _DuplicateKeyError(key)
        seen.add(key)


def _nothing(_: str) -> None:
    return None


#: Walks a body msgspec accepted, only to see every object's keys (its values are dropped).
_key_checker = json.JSONDecoder(
    object_pairs_hook=_unique_keys,
    parse_float=_nothing,
    parse_int=_nothing,
    parse_constant=_nothing,
)


def require_json(request: Request) -> None:
    """Commands must say ``Content-Type: application/json``.

    Besides being honest, this is what keeps a web page the clerk happens to visit from
    posting deposits to a local ``serve``: a browser sends such a body cross-site only after a
    CORS preflight, which this API never grants (a ``text/plain`` form post needs none).
    """
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        shown = media_type or "none"
        raise ApiError(
            415,
            f"Send the body as JSON with 'Content-Type: application/json' (got {shown}).",
            {"contentType": shown},
        )


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refusing more than ``limit`` bytes before reading them all."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"Request body is larger than {limit:,} bytes.", {"limit": limit})
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise ApiError(
                    413, f"Request body is larger than {limit:,} bytes.", {"limit": limit}
                )
            chunks.append(chunk)
    except ClientDisconnect:
        raise ApiError(400, "The client disconnected while sending the body.") from None
    return b"".join(chunks)


def decode_body(raw: bytes, *, empty: Any = msgspec.UNSET) -> Any:
    """Parse a JSON body exactly; ``empty`` is what an empty body means (else it is an error)."""
    if not raw.strip():
        if empty is not msgspec.UNSET:
            return empty
        raise ApiError(400, "Request body is empty; expected a JSON object.")
    try:
        value = _decoder.decode(raw)
    except msgspec.DecodeError as exc:
        raise ApiError(400, f"Request body is not valid JSON: {exc}.") from None
    except RecursionError:
        raise ApiError(400, "Request body is nested too deeply.") from None
    if b"{" in raw:
        _refuse_duplicate_keys(raw)
    return value


def _refuse_duplicate_keys(raw: bytes) -> None:
    try:
        _key_checker.decode(raw.decode("utf-8"))
    except _DuplicateKeyError as exc:
        shown = exc.key if len(exc.key) <= 100 else exc.key[:100] + "…"
        raise ApiError(
            400,
            f"Request body gives the key {shown!r} more than once in one object; give each "
            "key once.",
            {"duplicateKey": shown},
        ) from None
    except (ValueError, RecursionError):  # msgspec read it: nothing else to refuse here
        raise ApiError(400, "Request body is nested too deeply.") from None
