"""``Idempotency-Key`` on every POST: the same key and body give the first result, once."""

from __future__ import annotations

from decimal import Decimal

from bank_desktop.eventstore import open_store
from tests.http.conftest import Server
from tests.http.test_walkthrough import exact


def events(server: Server) -> int:
    """Banking events in the store (a key's claim, ``request.claimed``, is not one)."""
    stored = server.store.read_all(limit=100_000, with_metadata=False)
    return sum(1 for event in stored if event.type != "request.claimed")


def test_open_with_the_same_key_opens_one_account(server: Server) -> None:
    key = {"Idempotency-Key": "open-7f3a"}
    first = server.post("/accounts", {"customerId": "c-1", "initialBalance": 100}, headers=key)
    again = server.post("/accounts", {"customerId": "c-1", "initialBalance": 100.00}, headers=key)
    assert first.status_code == again.status_code == 201
    assert exact(first) == exact(again)
    assert events(server) == 1
    other = server.post("/accounts", {"customerId": "c-2", "initialBalance": 100}, headers=key)
    assert other.status_code == 422
    assert "already used for a different request" in other.json()["error"]
    assert events(server) == 1


def test_a_retried_deposit_is_applied_once_and_answers_the_first_balance(server: Server) -> None:
    account = server.post("/accounts", {"customerId": "c", "initialBalance": 10}).json()
    path = f"/accounts/{account['accountId']}/deposit"
    key = {"Idempotency-Key": "dep-1"}
    first = server.post(path, {"amount": 5, "description": "cash"}, headers=key)
    server.post(path, {"amount": 1})  # another deposit in between
    retry = server.post(path, {"amount": 5.0, "description": "cash"}, headers=key)
    assert retry.status_code == 200
    assert exact(retry)["newBalance"] == exact(first)["newBalance"] == Decimal("15.00")
    shown = server.get(
        f"/accounts/{account['accountId']}", params={"after": retry.headers["X-Event-Position"]}
    )
    assert exact(shown)["balance"] == Decimal("16.00")  # 10 + 5 + 1, not + 5 again


def test_the_same_key_with_a_different_body_is_422(server: Server) -> None:
    account = server.post("/accounts", {"customerId": "c", "initialBalance": 10}).json()
    path = f"/accounts/{account['accountId']}"
    key = {"Idempotency-Key": "k-1"}
    assert server.post(f"{path}/deposit", {"amount": 5}, headers=key).status_code == 200
    assert server.post(f"{path}/deposit", {"amount": 6}, headers=key).status_code == 422
    assert server.post(f"{path}/withdraw", {"amount": 5}, headers=key).status_code == 422
    before = events(server)
    other = server.post("/accounts", {"customerId": "d", "initialBalance": 1}).json()
    assert events(server) == before + 1
    elsewhere = server.post(
        f"/accounts/{other['accountId']}/deposit", {"amount": 5}, headers=key
    )  # the same key on another account (another stream): still the same key
    assert elsewhere.status_code == 422
    assert events(server) == before + 1


def test_the_store_remembers_keys_across_servers(make_server: object, tmp_path: object) -> None:
    from pathlib import Path

    assert callable(make_server)
    assert isinstance(tmp_path, Path)
    url = f"sqlite://{tmp_path / 'bank.db'}"
    one: Server = make_server(open_store(url))
    two: Server = make_server(open_store(url))
    account = one.post("/accounts", {"customerId": "c"}).json()["accountId"]
    key = {"Idempotency-Key": "across-1"}
    first = one.post(f"/accounts/{account}/deposit", {"amount": 7}, headers=key)
    second = two.post(f"/accounts/{account}/deposit", {"amount": 7}, headers=key)
    assert exact(first) == exact(second)
    assert two.post(f"/accounts/{account}/deposit", {"amount": 8}, headers=key).status_code == 422
    row = two.get(f"/accounts/{account}", params={"after": second.headers["X-Event-Position"]})
    assert exact(row)["balance"] == Decimal("7.00")


def test_transfer_and_close_honour_the_key(server: Server) -> None:
    a = server.post("/accounts", {"customerId": "a", "initialBalance": 50}).json()["accountId"]
    b = server.post("/accounts", {"customerId": "b"}).json()["accountId"]
    key = {"Idempotency-Key": "tr-1"}
    body = {"toAccountId": b, "amount": 20}
    first = server.post(f"/accounts/{a}/transfer", body, headers=key)
    second = server.post(f"/accounts/{a}/transfer", body, headers=key)
    assert first.status_code == second.status_code == 200
    assert first.json()["transferId"] == second.json()["transferId"]
    changed = server.post(f"/accounts/{a}/transfer", {**body, "amount": 21}, headers=key)
    assert changed.status_code == 422
    after = second.headers["X-Event-Position"]
    assert exact(server.get(f"/accounts/{b}", params={"after": after}))["balance"] == 20
    server.post(f"/accounts/{b}/withdraw", {"amount": 20})
    close_key = {"Idempotency-Key": "close-1"}
    assert server.post(f"/accounts/{b}/close", {}, headers=close_key).status_code == 200
    assert server.post(f"/accounts/{b}/close", None, headers=close_key).status_code == 200
    assert (
        server.post(f"/accounts/{b}/close", {"reason": "x"}, headers=close_key).status_code == 422
    )


def test_a_bad_key_is_a_400_naming_the_header(server: Server) -> None:
    response = server.post("/accounts", {"customerId": "c"}, headers={"Idempotency-Key": "x" * 201})
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["error"]
    response = server.post("/accounts", {"customerId": "c"}, headers={"Idempotency-Key": "a\tb"})
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["error"]


def test_a_key_stays_bound_across_a_restart_and_across_endpoints(
    make_server: object, tmp_path: object
) -> None:
    from pathlib import Path

    assert callable(make_server)
    assert isinstance(tmp_path, Path)
    url = f"sqlite://{tmp_path / 'bank.db'}"
    one: Server = make_server(open_store(url))
    a = one.post("/accounts", {"customerId": "a", "initialBalance": 50}).json()["accountId"]
    b = one.post("/accounts", {"customerId": "b", "initialBalance": 20}).json()["accountId"]
    key = {"Idempotency-Key": "restart-1"}
    assert one.post(f"/accounts/{a}/deposit", {"amount": 7}, headers=key).status_code == 200
    restarted: Server = make_server(open_store(url))  # a fresh process: no memory of the key
    assert restarted.post(f"/accounts/{b}/deposit", {"amount": 7}, headers=key).status_code == 422
    transfer = {"toAccountId": a, "amount": 1}
    assert restarted.post(f"/accounts/{b}/transfer", transfer, headers=key).status_code == 422
    again = restarted.post(f"/accounts/{a}/deposit", {"amount": 7}, headers=key)
    assert again.status_code == 200
    row = restarted.get(f"/accounts/{b}", params={"after": again.headers["X-Event-Position"]})
    assert exact(row)["balance"] == Decimal("20.00")
    row = restarted.get(f"/accounts/{a}", params={"after": again.headers["X-Event-Position"]})
    assert exact(row)["balance"] == Decimal("57.00")
