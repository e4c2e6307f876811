"""Balances: one row per account (customer, balance, open/closed, opened, last activity).

The seed's ``AccountBalanceReadModel`` as a pure fold. Each row keeps the stream position of
the last event applied to it (the seed's ``_revision``), so an event delivered twice, or a
webhook batch replayed out of order, changes nothing the second time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from bank_desktop.domain import accounts as acc


@dataclass(slots=True)
class AccountBalance:
    account_id: str
    customer_id: str
    balance: Decimal
    is_open: bool
    opened_at: datetime
    closed_at: datetime | None
    last_activity_at: datetime
    revision: int


class BalancesProjection:
    """Account rows in the order accounts were opened; lookups by id in O(1)."""

    def __init__(self) -> None:
        self._rows: dict[str, AccountBalance] = {}
        self._order: list[str] = []

    def __len__(self) -> int:
        return len(self._order)

    def __iter__(self) -> Iterator[AccountBalance]:
        rows = self._rows
        return (rows[account_id] for account_id in self._order)

    def get(self, account_id: str) -> AccountBalance | None:
        return self._rows.get(account_id)

    def at(self, index: int) -> AccountBalance:
        """The row at ``index`` in opening order (what a table model shows as row ``index``)."""
        return self._rows[self._order[index]]

    def index_of(self, account_id: str) -> int:
        return self._order.index(account_id)

    def total(self) -> Decimal:
        return sum((row.balance for row in self._rows.values()), Decimal("0.00"))

    def apply(self, event: acc.AccountEvent, stream_id: str, position: int) -> bool:
        """Apply one event of stream ``stream_id``; True when a row was added or changed."""
        row = self._rows.get(stream_id)
        if isinstance(event, acc.AccountOpened):
            if row is not None:
                return False
            self._rows[stream_id] = AccountBalance(
                account_id=event.account_id,
                customer_id=event.customer_id,
                balance=event.initial_balance,
                is_open=True,
                opened_at=event.opened_at,
                closed_at=None,
                last_activity_at=event.opened_at,
                revision=position,
            )
            self._order.append(stream_id)
            return True
        if row is None or row.revision >= position:
            return False
        row.revision = position
        match event:
            case acc.MoneyDeposited():
                row.balance += event.amount
                row.last_activity_at = event.deposited_at
            case acc.MoneyWithdrawn():
                row.balance -= event.amount
                row.last_activity_at = event.withdrawn_at
            case acc.AccountClosed():
                row.is_open = False
                row.closed_at = event.closed_at
                row.last_activity_at = event.closed_at
            case acc.WithdrawalRefused():
                return False
        return True

    def snapshot_state(self) -> list[list[Any]]:
        """Rows as lists (bump the read model's snapshot version when the layout changes)."""
        return [
            [
                r.account_id,
                r.customer_id,
                r.balance,
                r.is_open,
                r.opened_at.isoformat(),
                r.closed_at.isoformat() if r.closed_at else None,
                r.last_activity_at.isoformat(),
                r.revision,
            ]
            for r in self
        ]

    @classmethod
    def from_snapshot_state(cls, rows: list[list[Any]]) -> BalancesProjection:
        projection = cls()
        fromiso = datetime.fromisoformat
        for account_id, customer, balance, is_open, opened, closed, last, revision in rows:
            projection._rows[account_id] = AccountBalance(
                account_id,
                customer,
                Decimal(balance),
                bool(is_open),
                fromiso(opened),
                fromiso(closed) if closed else None,
                fromiso(last),
                int(revision),
            )
            projection._order.append(account_id)
        return projection
