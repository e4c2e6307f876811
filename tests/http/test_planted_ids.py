"""Issue 11, item 1 over the REST API: an ``Idempotency-Key`` can never take a transfer's step.

The attack as reported: two 0.01 deposits keyed ``<transfer id>:credit`` (on the target) and
``<transfer id>:refund`` (on the source), then the transfer: it debited $200, failed the credit
and the refund, and answered 422 "nothing was changed". Now such keys are refused as reserved
(a 400 naming the key) and the transfer completes.
"""

from __future__ import annotations

from decimal import Decimal

from bank_desktop.application import BankService
from bank_desktop.application.ids import transfer_id_for
from tests.http.conftest import Server
from tests.http.test_walkthrough import exact


def test_keys_of_a_transfers_steps_are_refused_and_the_transfer_completes(server: Server) -> None:
    source = server.post("/accounts", {"customerId": "a", "initialBalance": 300}).json()
    target = server.post("/accounts", {"customerId": "b", "initialBalance": 0}).json()
    src, dst = source["accountId"], target["accountId"]
    transfer_id = transfer_id_for("pay-rent-1")
    for account, step in ((dst, "credit"), (src, "refund"), (src, "debit")):
        planted = server.post(
            f"/accounts/{account}/deposit",
            {"amount": 0.01},
            headers={"Idempotency-Key": f"{transfer_id}:{step}"},
        )
        assert planted.status_code == 400, planted.text
        assert "reserved" in planted.json()["error"]
    response = server.post(
        f"/accounts/{src}/transfer",
        {"toAccountId": dst, "amount": 200},
        headers={"Idempotency-Key": "pay-rent-1"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["transferId"] == transfer_id
    after = {"after": response.headers["X-Event-Position"]}
    assert exact(server.get(f"/accounts/{src}", params=after))["balance"] == Decimal("100.00")
    assert exact(server.get(f"/accounts/{dst}", params=after))["balance"] == Decimal("200.00")
    assert BankService(server.store).recover().failed == {}
