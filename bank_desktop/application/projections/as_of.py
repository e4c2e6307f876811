"""An account as of a date: its history and balance at the end of that day.

The end of a day is midnight after it in the given time zone (the machine's own when none is
given, as clerks read dates); lines count by the time they record (the clerk's machine's
clock), as in statements. Like a statement, the history is the run of lines in stream order up
to the last one before that moment, so a clock that stepped backwards cannot drop a line from
the middle and the balance always equals the last running balance shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import Literal

from bank_desktop.application.projections.ledger import LedgerEntry
from bank_desktop.domain.holds import Hold, active_holds, held_amount
from bank_desktop.domain.money import ZERO

AsOfStatus = Literal["not_opened", "open", "closed"]


def start_of_day(day: date, zone: tzinfo | None = None) -> datetime:
    """Midnight at the start of ``day`` in ``zone`` (None: this machine's local zone, with its
    daylight-saving rules for that date)."""
    midnight = datetime.combine(day, time())
    return midnight.astimezone() if zone is None else midnight.replace(tzinfo=zone)


def end_of_day(day: date, zone: tzinfo | None = None) -> datetime:
    """Midnight after ``day`` in ``zone`` (None: local): the moment "as of ``day``" means."""
    return start_of_day(day + timedelta(days=1), zone)


@dataclass(frozen=True, slots=True)
class AsOf:
    """An account as it stood at ``moment``."""

    account_id: str
    moment: datetime
    status: AsOfStatus
    balance: Decimal
    entries: tuple[LedgerEntry, ...]
    holds: tuple[Hold, ...]  #: active at ``moment``

    @property
    def available_balance(self) -> Decimal:
        return self.balance - held_amount(self.holds)


def as_of(account_id: str, entries: Sequence[LedgerEntry], moment: datetime) -> AsOf:
    """The account's lines, balance, status and active holds as of ``moment``."""
    last = next((i for i in range(len(entries) - 1, -1, -1) if entries[i].occurred_at < moment), -1)
    shown = tuple(entries[: last + 1])
    holds: dict[str, Hold] = {}
    status: AsOfStatus = "not_opened"
    for entry in shown:
        if entry.kind == "opened":
            status = "open"
        elif entry.kind == "closed":
            status = "closed"
        elif entry.kind == "hold_placed" and entry.hold_id and entry.hold_amount is not None:
            holds[entry.hold_id] = Hold(
                entry.hold_id,
                entry.hold_amount,
                entry.description.removeprefix("Hold: "),
                entry.occurred_at,
                entry.expires_at,
            )
        elif entry.kind == "hold_released" and entry.hold_id:
            holds.pop(entry.hold_id, None)
    balance = shown[-1].balance if shown else ZERO
    return AsOf(account_id, moment, status, balance, shown, active_holds(holds.values(), moment))
