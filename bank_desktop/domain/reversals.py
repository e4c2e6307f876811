"""What the account decider needs to know about a transaction a clerk wants to reverse.

A reversal corrects a deposit or withdrawal keyed by mistake without editing or deleting it:
the opposite seed event is recorded with ``reversesEventId``. The transaction itself is an
event in the store, immutable once written, so the application looks it up by its event id
and hands its facts to the decider in the command (:class:`ReversalTarget`). The one fact that
can change, whether it has been reversed already, lives in the account's state, so two clerks
reversing the same line at the same moment cannot both succeed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Final

DEPOSITED: Final = "money.deposited"
WITHDRAWN: Final = "money.withdrawn"


@dataclass(frozen=True, slots=True)
class ReversalTarget:
    """A stored event of an account stream, as the decider judges whether it may be reversed.

    ``event_type`` is the stored type (anything, not only deposits and withdrawals: the
    decider says why another kind cannot be reversed); ``transfer_id`` marks a transfer leg
    (or a transfer's refund), ``reverses_event_id`` a reversal itself.
    """

    event_id: str
    event_type: str
    account_id: str
    amount: Decimal
    occurred_at: datetime | None = None
    transfer_id: str | None = None
    reverses_event_id: str | None = None
    is_refund: bool = False

    @property
    def label(self) -> str:
        """How a clerk names the transaction in a message."""
        return {DEPOSITED: "deposit", WITHDRAWN: "withdrawal"}.get(
            self.event_type, f"{self.event_type} event"
        )
