"""Colleagues at other desks for the window's dual-control tests: an admin, two supervisors
and a teller, each a ``BankService`` on its own connection to the window's store."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from bank_desktop.application import BankService
from bank_desktop.domain import ApprovalRequired
from bank_desktop.eventstore import EventStore, open_store

WINDOW_CLERK = "clerk-7"  #: the clerk the ``make_window`` fixture opens the window as


class Desks:
    """Colleagues at other desks, on their own connection to the window's store; the
    approval limit is $5,000.00."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.admin = self.clerk("admin-1")
        self.admin.grant_role("admin-1", "admin")
        self.admin.grant_role("sup-1", "supervisor")
        self.admin.grant_role("sup-2", "supervisor")
        self.admin.set_approval_limit("5000")
        self.sup = self.clerk("sup-1")
        self.sup2 = self.clerk("sup-2")
        self.teller = self.clerk("teller-1")

    def clerk(self, clerk_id: str) -> BankService:
        return BankService(self.store, clerk_id=clerk_id)

    def request(self, call: Callable[[], object]) -> str:
        """Run ``call``, which must be held for approval; the request's id."""
        with pytest.raises(ApprovalRequired) as raised:
            call()
        return raised.value.approval_id


def other_desks(store_url: str) -> Iterator[Desks]:
    """For a fixture: the desks on ``store_url``, their store closed afterwards."""
    store = open_store(store_url)
    try:
        yield Desks(store)
    finally:
        store.close()
