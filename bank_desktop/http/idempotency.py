"""``Idempotency-Key``: the header becomes the command id, and a key is bound to one request.

The store enforces idempotency per stream (each event records its command id and a hash of
the request): the same key and body again returns the first result without writing, the same
key with a different request on that stream is refused. A key reused for another account or
another endpoint would land on a different stream, where the store cannot see the first use;
this registry remembers, per process, which request each recent key was first used for.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

from bank_desktop.domain.errors import CommandIdReusedError

HEADER: Final = "Idempotency-Key"
#: Keys remembered per process (the store remembers them for ever, per stream).
CAPACITY: Final = 100_000


def request_fingerprint(operation: str, target: str, body: Mapping[str, Any]) -> str:
    """A stable hash of what a request asks for: 50 and 50.00 ask for the same."""
    parts = [operation, target]
    for key in sorted(body):
        value = body[key]
        if isinstance(value, Decimal):
            value = format(value.normalize(), "f")
        parts.append(f"{key}={value!r}")
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


class IdempotencyKeys:
    """Recently used keys and the request each was first used for (bounded, thread-safe)."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self._capacity = capacity
        self._lock = threading.Lock()
        self._keys: OrderedDict[str, str] = OrderedDict()

    def claim(self, key: str, fingerprint: str) -> None:
        """Bind ``key`` to this request, or raise CommandIdReusedError if it was bound to
        another one."""
        with self._lock:
            first = self._keys.get(key)
            if first is None:
                self._keys[key] = fingerprint
                while len(self._keys) > self._capacity:
                    self._keys.popitem(last=False)
                return
            self._keys.move_to_end(key)
        if first != fingerprint:
            raise CommandIdReusedError(key)
