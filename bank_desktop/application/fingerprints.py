"""Fingerprints of requests: what a command asks for, as a short stable hash.

A command id names one request forever, so every event records the hash of the request it
was written for (``requestHash``), and a request claim records the hash of the stream and the
request its id was bound to. Both hashes are made here, the same way: the stored values are
compared with fresh ones across versions and processes, so this text must never change.
"""

from __future__ import annotations

import hashlib
from dataclasses import fields
from decimal import Decimal

_FIELDS: dict[type, tuple[str, ...]] = {}


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def command_fingerprint(command: object) -> str:
    """A stable hash of what a command asks for (its time excluded), for idempotency checks.

    Decimals are normalised (5.0 and 5.00 ask for the same), so only a real difference in the
    request makes a reused command id a conflict.
    """
    kind = type(command)
    names = _FIELDS.get(kind)
    if names is None:
        names = tuple(f.name for f in fields(command) if f.name != "at")  # type: ignore[arg-type]
        _FIELDS[kind] = names
    return _digest(
        str(getattr(command, "type", kind.__name__)),
        *(f"{name}={_canonical(getattr(command, name))}" for name in names),
    )


def claim_fingerprint(stream_id: str, command: object) -> str:
    """What a request id is bound to: the stream it acts on and the request (time excluded)."""
    return _digest(stream_id, command_fingerprint(command))


def _canonical(value: object) -> str:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return repr(value)
