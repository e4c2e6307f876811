"""Holds on an account's funds, and the available balance they leave.

A hold sets money aside (a cheque that has not cleared, a card authorisation) without moving
it: the ledger balance stays, the *available* balance drops. A hold counts until it is released
or, when it has an expiry, until that moment; whether it counts is always decided with a
moment passed in (the command's time, the time of a query), never the clock, so the rules
stay pure and tests deterministic.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from bank_desktop.domain.money import ZERO


@dataclass(frozen=True, slots=True)
class Hold:
    """One hold as placed; it lives in the account's state until it is released."""

    hold_id: str
    amount: Decimal
    reason: str
    placed_at: datetime
    expires_at: datetime | None = None

    def is_active(self, moment: datetime) -> bool:
        """Whether the hold still reduces the available balance at ``moment``."""
        return self.expires_at is None or moment < self.expires_at


def active_holds(holds: Iterable[Hold], moment: datetime) -> tuple[Hold, ...]:
    return tuple(hold for hold in holds if hold.is_active(moment))


def held_amount(holds: Iterable[Hold]) -> Decimal:
    return sum((hold.amount for hold in holds), ZERO)
