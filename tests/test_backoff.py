"""The one backoff policy: full jitter under an exponential ceiling, a cap, a bound."""

from __future__ import annotations

import random

import pytest

from bank_desktop.backoff import Backoff


def test_waits_are_full_jitter_under_a_doubling_capped_ceiling() -> None:
    policy = Backoff(base=0.1, cap=1.0, rng=random.Random(7))

    assert [policy.ceiling(n) for n in (1, 2, 3, 4, 5, 10_000)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    waits = [policy.delay(3) for _ in range(2_000)]
    assert min(waits) >= 0
    assert max(waits) <= 0.4
    assert min(waits) < 0.05  # full jitter: near zero happens, not only the upper half
    assert max(waits) > 0.35


def test_attempts_are_bounded_when_asked() -> None:
    assert Backoff(0.1, 1.0, max_attempts=3).gives_up_after(3)
    assert not Backoff(0.1, 1.0, max_attempts=3).gives_up_after(2)
    assert not Backoff(0.1, 1.0).gives_up_after(10**6)
    with pytest.raises(ValueError, match="at least one"):
        Backoff(0.1, 1.0, max_attempts=0)
