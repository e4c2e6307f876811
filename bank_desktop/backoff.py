"""One backoff policy for every retry: exponential, capped, with full jitter, and bounded.

Command handling after a conflict, DeltaBase's requests and its live feed's reconnections, the
subscription runner after a store failure, SQLite's switch to WAL while another process holds
the file, and the window's attempts to open a store all wait the same way: the n-th retry
waits a random time between 0 and ``min(cap, base * 2**(n-1))`` ("full jitter": clients that
failed together spread out instead of colliding again in lockstep), and a policy with
``max_attempts`` says when to give up. It sits beside ``config.py`` so that both the event store
adapters and the application layer use it (``eventstore/`` must not import ``application/``).
Emmett's ``asyncRetry`` is the model: one policy with one options object, not a formula per
module; ``stamina`` and ``tenacity`` were not taken, as every caller here needs the delay, not a
decorator around a call (the subscription waits on a stop event, the window on a Qt timer).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Backoff:
    """How long to wait before each retry, and how many attempts to make."""

    base: float  #: seconds: the largest first wait
    cap: float  #: seconds: no wait is longer
    #: Attempts in all, the first included; None: retry for as long as the caller runs.
    max_attempts: int | None = None
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.base < 0 or self.cap < 0:
            raise ValueError("Backoff base and cap must not be negative.")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError("A backoff allows at least one attempt.")

    def ceiling(self, retry: int) -> float:
        """The longest wait before retry number ``retry`` (1 for the first retry)."""
        exponent = min(max(retry, 1) - 1, 62)  # 2**62 seconds is beyond any cap
        return min(self.cap, self.base * float(2**exponent))

    def delay(self, retry: int) -> float:
        """A wait before retry number ``retry`` (1 for the first): uniform in [0, ceiling]."""
        return self.rng.uniform(0, self.ceiling(retry))

    def gives_up_after(self, attempts: int) -> bool:
        """Whether ``attempts`` attempts made so far are all this policy allows."""
        return self.max_attempts is not None and attempts >= self.max_attempts
