"""Why a ledger line is there: who, when, under which request, who approved it, and how it is
linked.

The clerk's "why" view for any line of an account's ledger: the clerk who acted, the time,
the request id it was written for (what ``--request-id`` or an ``Idempotency-Key`` named, or
the transfer's own step), the transfer it belongs to, and for a reversal the line it
reverses, for a reversed line the reversal that undid it. Built from the ledger alone, so the
window, the command line and ``serve`` explain a line the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from bank_desktop.application.projections.ledger import Ledger, LedgerEntry, LedgerView
from bank_desktop.domain.errors import TransactionNotFoundError
from bank_desktop.domain.money import format_money


@dataclass(frozen=True, slots=True)
class Explanation:
    """One line of a ledger and what it is linked to."""

    entry: LedgerEntry
    reverses: LedgerEntry | None  #: the line this reversal undoes
    reversed_by: LedgerEntry | None  #: the reversal that undid this line

    @property
    def clerk_id(self) -> str | None:
        return self.entry.clerk_id

    @property
    def occurred_at(self) -> datetime:
        return self.entry.occurred_at

    @property
    def request_id(self) -> str | None:
        return self.entry.request_id

    def lines(self) -> list[str]:
        """The explanation as short sentences, for the CLI and plain-text views."""
        entry = self.entry
        shown = [
            f"{describe(entry)}",
            f"Who: {entry.clerk_id or 'not recorded'}",
            f"When: {entry.occurred_at.isoformat()}",
            f"Request: {entry.request_id or 'not recorded'}",
            f"Event: {entry.event_id} (position {entry.stream_position} of "
            f"{entry.account_id}, {entry.global_position} in the store)",
        ]
        if entry.correlation_id and entry.correlation_id != entry.request_id:
            shown.append(f"Part of: {entry.correlation_id}")
        if entry.approved_by or entry.requested_by:
            shown.append(
                f"Approval: requested by {entry.requested_by or 'not recorded'}, approved by "
                f"{entry.approved_by or 'not recorded'}"
            )
        if entry.transfer_id:
            shown.append(
                f"Transfer: {entry.transfer_id} "
                f"({'from' if entry.amount > 0 else 'to'} {entry.counterparty_account_id})"
            )
        if entry.reverses_event_id is not None:
            target = describe(self.reverses) if self.reverses else "a line not in this ledger"
            shown.append(f"Reverses: {target} ({entry.reverses_event_id})")
        if self.reversed_by is not None:
            shown.append(f"Reversed by: {describe(self.reversed_by)} ({self.reversed_by.event_id})")
        return shown


def describe(entry: LedgerEntry) -> str:
    """``deposit of $500.00 on 2026-11-02 09:00 by clerk-7: Paycheck``."""
    amount = entry.hold_amount if entry.hold_amount is not None else abs(entry.amount)
    kind = entry.kind.replace("_", " ")
    by = f" by {entry.clerk_id}" if entry.clerk_id else ""
    return (
        f"{kind} of {format_money(amount)} on {entry.occurred_at:%Y-%m-%d %H:%M}{by}: "
        f"{entry.description}"
    )


def explain(
    entries: Sequence[LedgerEntry], reversed_by: Mapping[str, str], event_id: str
) -> Explanation:
    """The explanation of the line ``event_id``; TransactionNotFoundError if not there."""
    by_id = {entry.event_id: entry for entry in entries}
    entry = by_id.get(event_id)
    if entry is None:
        account = entries[0].account_id if entries else "this account"
        raise TransactionNotFoundError(account, event_id)
    reverses = by_id.get(entry.reverses_event_id) if entry.reverses_event_id else None
    undone = reversed_by.get(event_id)
    return Explanation(entry, reverses, by_id.get(undone) if undone else None)


def explain_line(ledger: Ledger | LedgerView, event_id: str) -> Explanation:
    """:func:`explain` on a ledger, or a ledger's view taken for another thread."""
    return explain(ledger.entries, ledger.reversed_by, event_id)
