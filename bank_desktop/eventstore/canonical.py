"""The hash chain's canonical encoding at C speed, for verifying a million events.

``bank_desktop.application.chain`` defines the encoding in plain Python and uses it for every
append (a few microseconds beside a commit's fsync). Verification hashes every event of the
store, where that costs seconds; :func:`fast_digest` writes the same bytes through msgspec
(keys sorted by code point, the same string escapes), with each ``Decimal`` in its exact
plain text. The composition roots of verification (``bank-desktop verify``, the window) build
it from the reference's tag, covered keys and digest, which also serves as the fallback for
what msgspec cannot write (a lone surrogate in damaged data); the application never imports
this module. ``tests/eventstore/test_canonical.py`` proves the two agree on any JSON value.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

import msgspec

#: (prev hash, stream id, stream position, event id, type, data, metadata) → hex digest
Digest = Callable[[str, str, int, str, str, Any, Mapping[str, Any]], str]

_encoder: Final = msgspec.json.Encoder(order="sorted")


def number_text(value: Decimal) -> str:
    """An exact decimal in plain notation, no exponent, no trailing zeros: ``120.35``, ``50``."""
    if not value.is_finite():
        raise TypeError(f"{value} is not a JSON number")
    text = str(value)
    if "E" in text:
        text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _canonical(value: Any) -> Any:
    kind = type(value)
    if kind is Decimal:
        return msgspec.Raw(number_text(value).encode())
    if kind is dict:
        return {key: _canonical(item) for key, item in value.items()}
    if kind is list or kind is tuple:
        return [_canonical(item) for item in value]
    if kind is float:
        raise TypeError("a float has no canonical JSON form")
    return value


def _data(data: Any) -> Any:
    """``data`` ready for the encoder: copied only when it holds a Decimal or a container."""
    if type(data) is not dict:
        return _canonical(data)
    for item in data.values():
        kind = type(item)
        if kind is Decimal or kind is dict or kind is list or kind is float:
            return {key: _canonical(value) for key, value in data.items()}
    return data


def fast_digest(tag: str, covered_keys: Sequence[str], reference: Digest) -> Digest:
    """A digest equal to ``reference`` (``application.chain.event_digest``, whose ``tag`` and
    ``covered_keys`` are given), computed through msgspec; ``reference`` computes what
    msgspec cannot."""
    keys = tuple(covered_keys)
    encode = _encoder.encode
    sha256 = hashlib.sha256

    def digest(  # noqa: PLR0917 - positional: called once per event verified
        prev: str,
        stream_id: str,
        position: int,
        event_id: str,
        type_: str,
        data: Any,
        metadata: Mapping[str, Any],
    ) -> str:
        covered = {key: metadata[key] for key in keys if key in metadata}
        try:
            for item in covered.values():
                if type(item) is not str:
                    covered = {key: _canonical(value) for key, value in covered.items()}
                    break
            if type(position) is not int:
                raise TypeError("a stream position must be an integer")
            text = encode((tag, prev, stream_id, position, event_id, type_, _data(data), covered))
        except (TypeError, ValueError, UnicodeEncodeError, msgspec.EncodeError):
            return reference(prev, stream_id, position, event_id, type_, data, metadata)
        return sha256(text).hexdigest()

    return digest
