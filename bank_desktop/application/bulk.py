"""Pausing Python's cyclic garbage collector while folding millions of events.

A rebuild allocates a few objects per event and keeps a row per account. Every time the
young generation fills up, the collector may decide to walk every live object, and with
hundreds of thousands of rows growing underneath it those walks cost a third of a rebuild.
The fold creates no reference cycles (reference counting frees every temporary), so the
collector has nothing to find there; it is paused for the duration and resumed afterwards.
Nested and concurrent pauses are counted, so the collector resumes only when the last ends.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _Pauses:
    """How many pauses are active, and whether the collector ran before the first one."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.depth = 0
        self.was_enabled = False


_pauses = _Pauses()


@contextmanager
def collector_paused() -> Iterator[None]:
    with _pauses.lock:
        if _pauses.depth == 0:
            _pauses.was_enabled = gc.isenabled()
            gc.disable()
        _pauses.depth += 1
    try:
        yield
    finally:
        with _pauses.lock:
            _pauses.depth -= 1
            if _pauses.depth == 0 and _pauses.was_enabled:
                gc.enable()
