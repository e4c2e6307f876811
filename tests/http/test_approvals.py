"""Approvals over the API, as in the window: 202 with a URL to poll for a request above the
limit, supervisors decide, the roles and the limit apply to every clerk's token."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from bank_desktop.application import BankService
from tests.http.conftest import Server
from tests.http.test_walkthrough import exact


class Bank:
    """A secured server and its staff: an admin (another desk), tokens for a teller and two
    supervisors, a limit of $5,000.00."""

    def __init__(self, server: Server) -> None:
        self.server = server
        admin = BankService(server.store, clerk_id="admin-1")
        admin.grant_role("admin-1", "admin")
        admin.grant_role("sup-1", "supervisor")
        admin.grant_role("sup-2", "supervisor")
        admin.set_approval_limit("5000")
        self.admin = admin
        self.auth = {
            clerk: {"Authorization": f"Bearer {admin.issue_token(clerk)}"}
            for clerk in ("teller-1", "sup-1", "sup-2")
        }

    def post(self, clerk: str, path: str, body: Any = None, **headers: str) -> Any:
        return self.server.post(path, body, headers={**self.auth[clerk], **headers})

    def get(self, clerk: str, path: str) -> Any:
        return self.server.get(path, headers=self.auth[clerk])

    def account(self, balance: str) -> str:
        opened = self.post(
            "teller-1", "/accounts", {"customerId": "c", "initialBalance": Decimal(balance)}
        )
        assert opened.status_code == 201, opened.text
        return str(opened.json()["accountId"])


@pytest.fixture
def bank(make_server: Callable[..., Server]) -> Bank:
    return Bank(make_server(open=False))


def test_above_the_limit_answers_202_and_a_supervisor_approves(bank: Bank) -> None:
    account = bank.account("10000")
    held = bank.post(
        "teller-1", f"/accounts/{account}/withdraw", {"amount": 6000}, **{"Idempotency-Key": "w-1"}
    )
    assert held.status_code == 202, held.text
    body = held.json()
    approval_id = body["approvalId"]
    assert body["status"] == "pending"
    assert body["url"] == f"/approvals/{approval_id}"
    assert held.headers["Location"] == body["url"]
    assert "Sent for approval" in body["message"]

    polled = bank.get("teller-1", body["url"])
    assert polled.status_code == 200
    assert polled.json()["status"] == "requested"
    assert exact(polled)["amount"] == Decimal("6000.00")
    queue = bank.get("sup-1", "/approvals").json()
    assert [(r["approvalId"], r["requestedBy"], r["kind"], r["accountId"]) for r in queue] == [
        (approval_id, "teller-1", "withdrawal", account)
    ]

    assert bank.post("teller-1", f"/approvals/{approval_id}/approve").status_code == 403
    approved = bank.post("sup-1", f"/approvals/{approval_id}/approve")
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "executed"
    assert approved.json()["approvedBy"] == "sup-1"
    assert exact(approved)["newBalance"] == Decimal("4000.00")
    assert "X-Event-Position" in approved.headers
    assert bank.get("sup-1", "/approvals").json() == []

    again = bank.post(
        "teller-1", f"/accounts/{account}/withdraw", {"amount": 6000}, **{"Idempotency-Key": "w-1"}
    )
    assert again.status_code == 200
    assert exact(again)["newBalance"] == Decimal("4000.00")
    twice = bank.post("sup-2", f"/approvals/{approval_id}/approve")
    assert twice.status_code == 400
    assert "carried out" in twice.json()["error"]


def test_a_rejection_and_its_reason(bank: Bank) -> None:
    source, target = bank.account("9000"), bank.account("0")
    held = bank.post(
        "teller-1",
        f"/accounts/{source}/transfer",
        {"toAccountId": target, "amount": 7000},
        **{"Idempotency-Key": "t-1"},
    )
    assert held.status_code == 202
    approval_id = held.json()["approvalId"]
    missing = bank.post("sup-1", f"/approvals/{approval_id}/reject", {})
    assert missing.status_code == 400
    assert missing.json()["details"]["errors"][0]["field"] == "reason"
    rejected = bank.post("sup-1", f"/approvals/{approval_id}/reject", {"reason": "Call first"})
    assert rejected.status_code == 200
    assert (rejected.json()["status"], rejected.json()["rejectedBy"]) == ("rejected", "sup-1")
    repeat = bank.post(
        "teller-1",
        f"/accounts/{source}/transfer",
        {"toAccountId": target, "amount": 7000},
        **{"Idempotency-Key": "t-1"},
    )
    assert repeat.status_code == 400
    assert "rejected by sup-1: Call first" in repeat.json()["error"]


def test_permissions_then_existence(bank: Bank) -> None:
    unknown = "approval-aaaaaaaaaaaa"
    assert bank.post("teller-1", f"/approvals/{unknown}/approve").status_code == 403
    assert bank.post("sup-1", f"/approvals/{unknown}/approve").status_code == 404
    assert bank.get("teller-1", f"/approvals/{unknown}").status_code == 404
    account = bank.account("10000")
    held = bank.post("sup-1", f"/accounts/{account}/withdraw", {"amount": 5000.01})
    assert held.status_code == 202  # the limit applies to supervisors too
    own = bank.post("sup-1", f"/approvals/{held.json()['approvalId']}/approve")
    assert own.status_code == 403
    assert "four eyes" in own.json()["error"]


def test_an_approval_the_rules_refuse_when_it_runs(bank: Bank) -> None:
    account = bank.account("10000")
    held = bank.post("teller-1", f"/accounts/{account}/withdraw", {"amount": 6000})
    bank.post("teller-1", f"/accounts/{account}/withdraw", {"amount": 4500})
    failed = bank.post("sup-1", f"/approvals/{held.json()['approvalId']}/approve")
    assert failed.status_code == 400
    assert failed.json()["details"]["status"] == "failed"
    assert "Insufficient funds" in failed.json()["error"]
    assert bank.get("sup-1", held.json()["url"]).json()["status"] == "failed"


def test_open_mode_holds_requests_above_the_limit_too(server: Server) -> None:
    admin = BankService(server.store, clerk_id="admin-1")
    admin.grant_role("admin-1", "admin")
    admin.grant_role("sup-1", "supervisor")
    admin.set_approval_limit("100")
    account = server.post("/accounts", {"customerId": "c", "initialBalance": 500}).json()[
        "accountId"
    ]
    held = server.post(f"/accounts/{account}/withdraw", {"amount": 200})
    assert held.status_code == 202
    approved = server.post(
        f"/approvals/{held.json()['approvalId']}/approve", headers={"X-Clerk-Id": "sup-1"}
    )
    assert approved.status_code == 200


def test_serve_carries_out_an_approval_its_approver_left_unfinished(
    make_server: Callable[..., Server],
) -> None:
    import time

    from bank_desktop.domain import ApprovalRequired
    from bank_desktop.eventstore import open_store

    store = open_store("memory://")
    admin = BankService(store, clerk_id="admin-1")
    admin.grant_role("admin-1", "admin")
    admin.grant_role("sup-1", "supervisor")
    admin.set_approval_limit("100")
    teller = BankService(store, clerk_id="teller-1")
    account = teller.open_account("c", "500")
    with pytest.raises(ApprovalRequired) as held:
        teller.withdraw(account, "200")

    class Crash(Exception):
        pass

    def die(_: str, step: str) -> None:
        if step == "approved":
            raise Crash

    with pytest.raises(Crash):
        BankService(store, clerk_id="sup-1", on_approval_step=die).approve(held.value.approval_id)
    make_server(store, open=False, recovery_interval=0.05)
    deadline = time.monotonic() + 20
    position = store.head_position()
    while teller.get_approval(held.value.approval_id).status != "executed":
        assert time.monotonic() < deadline, "serve never carried out the approved request"
        store.wait_for_events(position, 0.5)  # woken by serve's writes
        position = store.head_position()
    assert teller.get_account(account).balance == Decimal("300.00")
