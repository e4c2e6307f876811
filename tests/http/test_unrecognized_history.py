"""Issue 11, item 7 over the REST API: an account whose history this version cannot read is
shown with ``balance: null`` and the reason, never with a number that ignores part of it."""

from __future__ import annotations

from decimal import Decimal

from bank_desktop.eventstore import NewEvent
from tests.http.conftest import Server


def test_reads_mark_the_account_and_commands_are_refused(server: Server) -> None:
    account = server.post("/accounts", {"customerId": "a", "initialBalance": 100}).json()
    account_id = account["accountId"]
    server.post(f"/accounts/{account_id}/deposit", {"amount": 5})
    data = {"accountId": account_id, "amount": Decimal(90), "withdrawnAt": "2026-11-02T09:00Z"}
    event = NewEvent("money.withdrawn.v2", data, {"commandId": "x"})
    position = server.store.append(account_id, [event], 2).last_global_position
    after = {"after": str(position)}

    one = server.get(f"/accounts/{account_id}", params=after).json()
    assert one["balance"] is None
    assert "money.withdrawn.v2" in one["balanceUnknown"]
    (listed,) = list(server.get("/accounts", params=after).json())
    assert listed["balance"] is None
    ledger = server.get(f"/accounts/{account_id}/transactions", params=after).json()
    assert ledger["balance"] is None
    assert "money.withdrawn.v2" in ledger["balanceUnknown"]

    refused = server.post(f"/accounts/{account_id}/withdraw", {"amount": 50})
    assert refused.status_code == 400
    assert "money.withdrawn.v2" in refused.json()["error"]
