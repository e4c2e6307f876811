"""Exact JSON for the adapters (not to be confused with ``application/event_codec.py``, which maps
domain events to stored ones): Decimals go out as JSON numbers and come back exact.

A number with a fraction or an exponent is decoded straight from its text into ``Decimal``
(never through ``float``), so ``120.35`` written by the seed's TypeScript service reads back as
exactly 120.35. Integers stay ``int``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

import msgspec

_log = logging.getLogger(__name__)

_encoder = msgspec.json.Encoder(decimal_format="number")
_decoder = msgspec.json.Decoder(float_hook=Decimal)


def encode_json(value: Mapping[str, Any], *, checked: bool = True) -> str:
    """Compact JSON text of plain JSON values (str, int, bool, None, finite Decimal, lists and
    string-keyed dicts); anything else (floats, NaN, dates, sets, bytes) is a TypeError, so
    nothing is written that would not read back exactly as it went in.

    ``checked=False`` skips that walk for data the application built itself (a projection
    snapshot of a million values), where it would cost a second for nothing.
    """
    if checked:
        _check_json(value, "$")
    try:
        return _encoder.encode(value if isinstance(value, dict) else dict(value)).decode()
    except (TypeError, msgspec.EncodeError) as exc:  # pragma: no cover - guarded above
        raise TypeError(f"Event payload is not JSON-compatible: {exc}") from exc


_SCALARS: Final = frozenset({str, int, bool, type(None)})


def encode_json_bytes(value: Mapping[str, Any]) -> bytes:
    """Compact JSON as bytes, unchecked: for data the application built itself (a projection
    snapshot), which may also hold datetimes (written as RFC 3339 with their offset). No text
    copy is made of it: at 20 MB, every copy of a snapshot is a copy the heap keeps."""
    return _encoder.encode(value)


def _check_json(value: Any, path: str) -> None:
    kind = type(value)
    if kind in _SCALARS:
        return
    if kind is Decimal:
        if not value.is_finite():
            raise TypeError(f"{path} is {value}, which JSON cannot carry")
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if type(key) is not str:
                raise TypeError(f"{path} has a non-string key {key!r}")
            item_kind = type(item)
            if item_kind in _SCALARS or (item_kind is Decimal and item.is_finite()):
                continue  # the common case, without a call per field
            _check_json(item, f"{path}.{key}")
        return
    if kind is list or kind is tuple:
        for index, item in enumerate(value):
            _check_json(item, f"{path}[{index}]")
        return
    hint = " (use Decimal for amounts)" if kind is float else ""
    raise TypeError(f"{path} is a {kind.__name__}, which events cannot carry{hint}")


def decode_json(text: str | bytes) -> Any:
    """Decode JSON with exact decimals; raises ValueError on malformed input."""
    try:
        return _decoder.decode(text)
    except msgspec.DecodeError as exc:
        raise ValueError(str(exc)) from exc


#: Decode with exact decimals; raises ValueError (msgspec.DecodeError) on bad input. The bound
#: method itself, not a wrapper: it runs once per event in every catch-up.
fast_decode: Callable[[str | bytes], Any] = _decoder.decode


def decode_payload(text: str | bytes, stream_id: str, position: int) -> Any:
    """Decode a stored payload; damaged bytes become ``None`` with a warning, never a crash."""
    try:
        return _decoder.decode(text)
    except msgspec.DecodeError as exc:
        _log.warning("Undecodable event payload at %s@%s: %s", stream_id, position, exc)
        return None


def decode_metadata(text: str | bytes, stream_id: str, position: int) -> Mapping[str, Any]:
    value = decode_payload(text, stream_id, position)
    if not isinstance(value, dict):
        if value is not None:
            _log.warning("Event metadata at %s@%s is not an object; ignored", stream_id, position)
        return {}
    return value


def utc_now() -> datetime:
    return datetime.now(UTC)


def format_timestamp(moment: datetime) -> str:
    """ISO-8601 UTC with microseconds, sortable as text."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
