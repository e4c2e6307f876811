"""Issue 11, item 1 over the REST API: an ``Idempotency-Key`` can never take a transfer's step.

The attack as reported: two 0.01 deposits keyed ``<transfer id>:credit`` (on the target) and
``<transfer id>:refund`` (on the source), then the transfer: it debited $200, failed the credit
and the refund, and answered 422 "nothing was changed". Now such keys are refused as reserved
(a 400 naming the key) and the transfer completes.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from bank_desktop.application import BankService
from bank_desktop.application.ids import transfer_id_for
from bank_desktop.eventstore import StoreUnavailableError, open_store
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


class _CreditFails:
    """The store, except that appends to one account fail (the credit of a transfer)."""

    def __init__(self, inner: Any, stream_id: str | None = None) -> None:
        self.inner, self.stream_id = inner, stream_id

    def append(self, stream_id: str, events: Any, expected: Any) -> Any:
        if stream_id == self.stream_id:
            raise StoreUnavailableError("DeltaBase did not answer; nothing was saved.")
        return self.inner.append(stream_id, events, expected)

    def __getattr__(self, name: str) -> Any:
        if name in ("append_decided", "append_many"):
            raise AttributeError(name)
        return getattr(self.inner, name)


def test_a_transfer_stopped_after_its_debit_never_answers_nothing_was_saved(
    make_server: Callable[..., Server],
) -> None:
    store = _CreditFails(open_store("memory://"))
    server = make_server(store)
    src = server.post("/accounts", {"customerId": "a", "initialBalance": 300}).json()["accountId"]
    dst = server.post("/accounts", {"customerId": "b", "initialBalance": 0}).json()["accountId"]
    store.stream_id = dst
    key = {"Idempotency-Key": "pay-rent-2"}
    body = {"toAccountId": dst, "amount": 200}
    stopped = server.post(f"/accounts/{src}/transfer", body, headers=key)
    assert stopped.status_code == 503, stopped.text
    assert "nothing was" not in stopped.text.lower()
    assert transfer_id_for("pay-rent-2") in stopped.json()["error"]
    store.stream_id = None  # the store is back: the same request finishes the same transfer
    again = server.post(f"/accounts/{src}/transfer", body, headers=key)
    assert again.status_code == 200, again.text
    after = {"after": again.headers["X-Event-Position"]}
    assert exact(server.get(f"/accounts/{src}", params=after))["balance"] == Decimal("100.00")
    assert exact(server.get(f"/accounts/{dst}", params=after))["balance"] == Decimal("200.00")


def test_an_interrupted_transfer_answers_as_the_failure_it_met() -> None:
    from datetime import UTC, datetime

    from bank_desktop.application import MalformedEventError, TransferInterruptedError
    from bank_desktop.eventstore.port import RecordedEvent
    from bank_desktop.http.errors import status_of

    unavailable = TransferInterruptedError("t", "a", StoreUnavailableError("down"))
    assert status_of(unavailable) == 503
    damaged = RecordedEvent("e", "money.deposited", {}, "b", 2, 9, datetime.now(UTC), {})
    malformed = TransferInterruptedError("t", "a", MalformedEventError(damaged, "no amount"))
    assert status_of(malformed) == 500  # retrying will not help: IT must look
