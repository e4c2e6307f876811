"""The seed tutorial's curl walkthrough, and the endpoints it promised, over real HTTP."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import msgspec

from tests.http.conftest import Server

_exact = msgspec.json.Decoder(float_hook=Decimal)


def exact(response: httpx.Response) -> Any:
    """The body with numbers as Decimal: the test sees exactly what was sent."""
    return _exact.decode(response.content)


def test_the_seed_walkthrough(server: Server) -> None:
    opened = server.post("/accounts", {"customerId": "cust-123", "initialBalance": 100})
    assert opened.status_code == 201
    body = exact(opened)
    account = body["accountId"]
    assert body["balance"] == Decimal("100.00")
    assert body["message"] == "Account opened successfully"
    assert b'"balance":100.00' in opened.content  # a JSON number with two decimals

    deposit = server.post(f"/accounts/{account}/deposit", {"amount": 50, "description": "Paycheck"})
    assert deposit.status_code == 200
    assert exact(deposit)["newBalance"] == Decimal("150.00")

    overdraft = server.post(f"/accounts/{account}/withdraw", {"amount": 200})
    assert overdraft.status_code == 400
    assert overdraft.json()["error"].startswith("Insufficient funds")
    assert "Balance: $150.00, Requested: $200.00" in overdraft.json()["error"]

    withdrawal = server.post(
        f"/accounts/{account}/withdraw", {"amount": 30, "description": "Coffee"}
    )
    assert withdrawal.status_code == 200
    assert exact(withdrawal)["newBalance"] == Decimal("120.00")
    position = withdrawal.headers["X-Event-Position"]

    shown = server.get(f"/accounts/{account}", params={"after": position})
    assert shown.status_code == 200
    row = exact(shown)
    assert row["balance"] == Decimal("120.00")
    assert row["customerId"] == "cust-123"
    assert row["isOpen"] is True
    assert row["openedAt"].endswith("Z")
    assert row["lastTransactionAt"] >= row["openedAt"]
    assert "closedAt" not in row
    assert int(shown.headers["X-Read-Position"]) >= int(position)

    listed = server.get("/accounts")
    assert listed.status_code == 200
    assert [r["accountId"] for r in exact(listed)] == [account]
    assert exact(listed)[0]["balance"] == Decimal("120.00")

    unknown = server.get("/accounts/account-does-not-exist")
    assert unknown.status_code == 404
    assert unknown.json()["error"]


def test_transfer_close_and_the_ledger(server: Server) -> None:
    a = server.post("/accounts", {"customerId": "alice", "initialBalance": 100}).json()
    b = server.post("/accounts", {"customerId": "bob"}).json()
    assert b["balance"] == 0
    moved = server.post(
        f"/accounts/{a['accountId']}/transfer",
        {"toAccountId": b["accountId"], "amount": 40.25, "description": "Rent"},
        headers={"X-Clerk-Id": "clerk-9"},
    )
    assert moved.status_code == 200, moved.text
    transfer = exact(moved)
    assert transfer["transferId"].startswith("transfer-")
    assert transfer["amount"] == Decimal("40.25")
    assert transfer["status"] == "completed"
    after = moved.headers["X-Event-Position"]

    ledger = server.get(f"/accounts/{b['accountId']}/transactions", params={"after": after})
    assert ledger.status_code == 200
    page = exact(ledger)
    assert [e["type"] for e in page["entries"]] == ["opened", "transfer_in"]
    entry = page["entries"][1]
    assert entry["amount"] == Decimal("40.25")
    assert entry["balance"] == Decimal("40.25")
    assert entry["clerkId"] == "clerk-9"
    assert entry["counterpartyAccountId"] == a["accountId"]
    assert entry["transferId"] == transfer["transferId"]
    assert entry["position"] == 2
    assert entry["globalPosition"] > 0
    source = exact(server.get(f"/accounts/{a['accountId']}", params={"after": after}))
    assert source["balance"] == Decimal("59.75")

    # A transfer the source cannot cover is refused by the domain, nothing moves
    refused = server.post(
        f"/accounts/{b['accountId']}/transfer", {"toAccountId": a["accountId"], "amount": 1000}
    )
    assert refused.status_code == 400
    assert "Insufficient funds" in refused.json()["error"]
    missing = server.post(
        f"/accounts/{a['accountId']}/transfer", {"toAccountId": "account-nope", "amount": 1}
    )
    assert missing.status_code == 404

    # Close: refused at a non-zero balance, then done at zero
    not_zero = server.post(f"/accounts/{b['accountId']}/close", {"reason": "moving"})
    assert not_zero.status_code == 400
    assert "non-zero balance" in not_zero.json()["error"]
    emptied = server.post(f"/accounts/{b['accountId']}/withdraw", {"amount": 40.25})
    assert exact(emptied)["newBalance"] == Decimal("0.00")
    closed = server.post(f"/accounts/{b['accountId']}/close")  # no body at all
    assert closed.status_code == 200, closed.text
    assert closed.json()["isOpen"] is False
    row = server.get(
        f"/accounts/{b['accountId']}", params={"after": closed.headers["X-Event-Position"]}
    ).json()
    assert row["isOpen"] is False
    assert row["closedAt"]
    again = server.post(f"/accounts/{b['accountId']}/deposit", {"amount": 5})
    assert again.status_code == 400
    assert "closed" in again.json()["error"]


def test_ledger_pages(server: Server) -> None:
    account = server.post("/accounts", {"customerId": "c", "initialBalance": 1}).json()
    for cents in range(1, 8):
        server.post(f"/accounts/{account['accountId']}/deposit", {"amount": cents / 100})
    seen: list[Any] = []
    offset: int | None = 0
    while offset is not None:
        page = exact(
            server.get(
                f"/accounts/{account['accountId']}/transactions",
                params={"limit": 3, "offset": offset},
            )
        )
        assert page["total"] == 8
        seen += page["entries"]
        offset = page["nextOffset"]
    assert [e["position"] for e in seen] == list(range(1, 9))
    assert seen[-1]["balance"] == Decimal("1.28")
    assert server.get("/accounts/account-nope/transactions").status_code == 404
    assert server.get(f"/accounts/{account['accountId']}/transactions?limit=0").status_code == 400


def test_amounts_are_exact_and_never_rounded(server: Server) -> None:
    account = server.post("/accounts", {"customerId": "c"}).json()["accountId"]
    path = f"/accounts/{account}/deposit"
    big = server.post(path, b'{"amount": 123456789012.34}')
    assert big.status_code == 200
    assert b'"newBalance":123456789012.34' in big.content  # through a float it would not be
    tenth = server.post(path, b'{"amount": 0.1}')
    assert b'"newBalance":123456789012.44' in tenth.content
    for raw, field_text in [
        (b'{"amount": 1.005}', "at most 2 decimal places"),
        (b'{"amount": "10"}', "not a string"),
        (b'{"amount": true}', "not a boolean"),
        (b'{"amount": null}', "JSON number"),
        (b'{"amount": 1e400}', "at most"),
        (b'{"amount": 1000000000000}', "at most"),
        (b"{}", "is required"),
        (b'{"amount": 5, "description": 7}', "description"),
    ]:
        response = server.post(path, raw)
        assert response.status_code == 400, (raw, response.text)
        body = response.json()
        assert field_text in body["error"], body
        assert body["details"]["errors"][0]["field"] in ("amount", "description")
    assert server.post(path, b'{"amount": 1.500}').status_code == 200  # 1.50 exactly
    assert server.post(path, b'{"amount": -5}').status_code == 400  # a business rule
    assert server.post(path, b'{"amount": 0}').json()["error"] == "Deposit amount must be positive."


def test_bad_input_never_gets_a_500(server: Server) -> None:
    account = server.post("/accounts", {"customerId": "c"}).json()["accountId"]
    path = f"/accounts/{account}/deposit"
    cases: list[tuple[bytes, int]] = [
        (b"", 400),
        (b"{", 400),
        (b"not json", 400),
        (b"[" * 60_000, 400),
        (b"[]", 400),
        (b'"text"', 400),
        (b"12", 400),
        (b"\xff\xfe", 400),
        (b'{"amount": NaN}', 400),
        (b'{"amount": Infinity}', 400),
    ]
    for raw, status in cases:
        response = server.post(path, raw, headers={"Content-Type": "application/json"})
        assert response.status_code == status, (raw[:20], response.text)
        assert response.headers["content-type"] == "application/json"
        assert response.json()["error"]
    too_big = server.post(path, b'{"amount": 1, "description": "' + b"x" * 70_000 + b'"}')
    assert too_big.status_code == 413
    assert server.post("/accounts", {"customerId": ""}).status_code == 400
    assert server.post("/accounts", {"customerId": "   "}).status_code == 400  # domain: required
    assert server.post("/accounts", {"customerId": "x" * 65}).status_code == 400
    assert server.post("/accounts", {"customerId": "a\u202eb"}).status_code == 400
    bad_clerk = server.post(path, {"amount": 1}, headers={"X-Clerk-Id": "a\tb"})
    assert bad_clerk.status_code == 400
    assert "X-Clerk-Id" in bad_clerk.json()["error"]
    assert server.get("/accounts?limit=-1").status_code == 400
    assert server.get("/accounts?after=x").status_code == 400
    assert server.get("/nowhere").status_code == 404
    assert server.client.delete("/accounts").status_code == 405


def test_commands_must_be_sent_as_json(server: Server) -> None:
    """A page the clerk visits cannot post a "simple" cross-site request to a local serve."""
    account = server.post("/accounts", {"customerId": "c", "initialBalance": 5}).json()
    path = f"/accounts/{account['accountId']}"
    for content_type in ("text/plain", "application/x-www-form-urlencoded", ""):
        response = server.client.post(
            f"{path}/withdraw", content=b'{"amount": 5}', headers={"Content-Type": content_type}
        )
        assert response.status_code == 415, content_type
        assert "application/json" in response.json()["error"]
    assert server.client.post(f"{path}/close").status_code == 415
    assert server.client.options(f"{path}/withdraw").status_code == 405  # no CORS preflight
    assert server.post(f"{path}/withdraw", {"amount": 5}).status_code == 200
    charset = server.post(
        f"{path}/deposit",
        b'{"amount": 1}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert charset.status_code == 200


def test_read_your_writes_waits_for_the_position(make_server: Any) -> None:
    server: Server = make_server(idle_wait=0.5, wait_timeout=2.0)
    account = server.post("/accounts", {"customerId": "c", "initialBalance": 1})
    for amount in range(1, 6):
        written = server.post(
            f"/accounts/{account.json()['accountId']}/deposit", {"amount": amount}
        )
        position = written.headers["X-Event-Position"]
        row = server.get(
            f"/accounts/{account.json()['accountId']}",
            headers={"X-Wait-For-Position": position},
        )
        assert row.status_code == 200
        assert exact(row)["balance"] == exact(written)["newBalance"]
    beyond = server.get("/accounts", params={"after": 10_000})
    assert beyond.status_code == 400
    assert "beyond" in beyond.json()["error"]


def test_store_unavailable_is_a_503(server: Server) -> None:
    account = server.post("/accounts", {"customerId": "c"}).json()["accountId"]

    from bank_desktop.eventstore import StoreUnavailableError

    original = server.store.append

    def failing(*args: Any, **kwargs: Any) -> Any:
        raise StoreUnavailableError("the disk is on fire")

    server.store.append = failing  # type: ignore[method-assign]
    try:
        response = server.post(f"/accounts/{account}/deposit", {"amount": 5})
    finally:
        server.store.append = original  # type: ignore[method-assign]
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert "unavailable" in response.json()["error"]


def test_openapi_and_docs(server: Server) -> None:
    document = server.get("/openapi.json").json()
    paths = document["paths"]
    for path in (
        "/accounts",
        "/accounts/{account_id}",
        "/accounts/{account_id}/deposit",
        "/accounts/{account_id}/withdraw",
        "/accounts/{account_id}/transfer",
        "/accounts/{account_id}/close",
        "/accounts/{account_id}/transactions",
        "/api/projections/balances/events",
    ):
        assert path in paths
    schemas = document["components"]["schemas"]
    assert schemas["MoneyRequest"]["properties"]["amount"]["type"] == "number"
    balance = schemas["AccountReadModel"]["properties"]["balance"]  # null: history unreadable
    assert [option["type"] for option in balance["anyOf"]] == ["number", "null"]
    assert server.get("/docs").status_code == 200


def test_a_conflict_the_retries_cannot_absorb_is_a_409(server: Server) -> None:
    account = server.post("/accounts", {"customerId": "c"}).json()["accountId"]

    from bank_desktop.eventstore import ConcurrencyError

    original, original_decided = server.store.append, server.store.append_decided  # type: ignore[attr-defined]

    def racing(stream_id: str, *args: Any, **kwargs: Any) -> Any:
        raise ConcurrencyError(stream_id, 1, 2)

    # Both the optimistic append and the locked one keep losing (a store in trouble).
    server.store.append = racing  # type: ignore[method-assign]
    server.store.append_decided = racing  # type: ignore[attr-defined]
    try:
        response = server.post(f"/accounts/{account}/deposit", {"amount": 5})
    finally:
        server.store.append = original  # type: ignore[method-assign]
        server.store.append_decided = original_decided  # type: ignore[attr-defined]
    assert response.status_code == 409
    assert "try again" in response.json()["error"]
    assert response.json()["details"]["streamId"] == account
