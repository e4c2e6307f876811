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

_FIELDS: dict[type, tuple[str, tuple[str, ...]]] = {}


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


#: The last command hashed and its fingerprint: a keyed command is hashed for its events and
#: again for its claim. (One tuple, swapped whole: safe between threads.)
_last: tuple[object, str] = (None, "")


def command_fingerprint(command: object) -> str:
    """A stable hash of what a command asks for (its time excluded), for idempotency checks.

    Decimals are normalised (5.0 and 5.00 ask for the same), so only a real difference in the
    request makes a reused command id a conflict.
    """
    global _last  # noqa: PLW0603 - a one-entry cache
    last = _last
    if last[0] is command:
        return last[1]
    kind = type(command)
    known = _FIELDS.get(kind)
    if known is None:
        names = tuple(f.name for f in fields(command) if f.name != "at")  # type: ignore[arg-type]
        known = _FIELDS[kind] = (str(getattr(command, "type", kind.__name__)), names)
    type_name, names = known
    parts = [type_name]
    for name in names:
        value = getattr(command, name)
        shown = format(value.normalize(), "f") if type(value) is Decimal else _canonical(value)
        parts.append(f"{name}={shown}")
    fingerprint = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]
    _last = (command, fingerprint)
    return fingerprint


def claim_fingerprint(stream_id: str, command: object) -> str:
    """What a request id is bound to: the stream it acts on and the request (time excluded)."""
    return _digest(stream_id, command_fingerprint(command))


def _canonical(value: object) -> str:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return repr(value)
