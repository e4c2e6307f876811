"""A bounded map shared between threads: the least recently used entry goes first.

Caches of the application keep a few thousand things at most (stream states, confirmed request
claims, ledgers, services per clerk) and are read from request threads, workers and the GUI
thread at once. ``lock`` is reentrant, so a caller may hold it around several steps (a ledger
topped up in place) while the methods take it too.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class LockedLru(Generic[K, V]):
    """At most ``capacity`` entries; :meth:`get` and :meth:`put` make an entry the newest."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.lock = threading.RLock()
        self._entries: OrderedDict[K, V] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[K]:
        """The keys, oldest first (a copy: safe while entries come and go)."""
        with self.lock:
            return iter(list(self._entries))

    def get(self, key: K) -> V | None:
        with self.lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def peek(self, key: K) -> V | None:
        """The entry without making it the newest."""
        with self.lock:
            return self._entries.get(key)

    def put(self, key: K, value: V, *, keep: Callable[[V], bool] | None = None) -> V:
        """Store ``value`` unless ``keep(current)`` says the entry there is to stay; returns
        what the entry now holds. The oldest entries beyond the capacity go."""
        with self.lock:
            current = self._entries.get(key)
            if current is None or keep is None or not keep(current):
                self._entries[key] = current = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)
            return current

    def pop(self, key: K) -> V | None:
        with self.lock:
            return self._entries.pop(key, None)
