"""One status for one kind of mistake (documented in bank_desktop/http/errors.py):

* 400: the request is wrong: not JSON, not an object, a field missing or of the wrong type or
  format, an invalid amount of any kind, a bad query parameter or header, or a business rule
  refused it (the seed answers 400 for all of these);
* 422: an ``Idempotency-Key`` already used for a different request (as the IETF draft on the
  header says), and nothing else.

An amount used to be 422 when it had three decimals or was a string, and 400 when it was
negative or zero; a client could not tell "fix this field" from "fix this field".
"""

from __future__ import annotations

import pytest
from starlette.routing import Route

from tests.http.conftest import Server

BAD_DEPOSITS = [
    b'{"amount": 1.005}',
    b'{"amount": "10"}',
    b'{"amount": true}',
    b'{"amount": null}',
    b'{"amount": 1e400}',
    b'{"amount": 1000000000000}',
    b'{"amount": -5}',
    b'{"amount": 0}',
    b'{"amount": 0.00}',
    b"{}",
    b'{"amount": 5, "description": 7}',
    b"[]",
    b'"text"',
    b"12",
    b"{",
    b"",
]


@pytest.fixture
def account(server: Server) -> str:
    return str(
        server.post("/accounts", {"customerId": "c", "initialBalance": 10}).json()["accountId"]
    )


@pytest.mark.parametrize("raw", BAD_DEPOSITS)
def test_every_invalid_amount_or_body_is_400(server: Server, account: str, raw: bytes) -> None:
    response = server.post(f"/accounts/{account}/deposit", raw)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"]
    assert isinstance(body["details"], dict)


def test_bad_fields_queries_and_headers_are_400(server: Server, account: str) -> None:
    for body in (
        {"customerId": ""},
        {"customerId": "   "},
        {"customerId": "x" * 65},
        {"customerId": 7},
        {"customerId": "c", "initialBalance": -1},
        {"customerId": "c", "initialBalance": 0.001},
    ):
        assert server.post("/accounts", body).status_code == 400, body
    assert server.post(f"/accounts/{account}/withdraw", {"amount": 11}).status_code == 400
    transfer = f"/accounts/{account}/transfer"
    assert server.post(transfer, {"toAccountId": "", "amount": 1}).status_code == 400
    assert server.post(transfer, {"amount": 1}).status_code == 400
    for query in ("limit=-1", "after=x", "offset=-3", "limit=abc"):
        assert server.get(f"/accounts?{query}").status_code == 400, query
    assert server.get(f"/accounts/{account}/transactions?limit=0").status_code == 400
    assert server.get("/accounts", headers={"X-Wait-For-Position": "x"}).status_code == 400
    long_key = {"Idempotency-Key": "k" * 201}
    assert (
        server.post(f"/accounts/{account}/deposit", {"amount": 1}, headers=long_key).status_code
        == 400
    )


def test_a_reused_idempotency_key_is_the_one_422(server: Server, account: str) -> None:
    key = {"Idempotency-Key": "key-1"}
    assert (
        server.post(f"/accounts/{account}/deposit", {"amount": 1}, headers=key).status_code == 200
    )
    reused = server.post(f"/accounts/{account}/deposit", {"amount": 2}, headers=key)
    assert reused.status_code == 422


def test_the_openapi_document_says_the_same(server: Server) -> None:
    document = server.get("/openapi.json").json()
    deposit = document["paths"]["/accounts/{account_id}/deposit"]["post"]["responses"]
    assert "Idempotency-Key" in deposit["422"]["description"]
    assert "amount" in deposit["400"]["description"]
    listing = document["paths"]["/accounts"]["get"]["responses"]
    assert "422" not in listing
    assert {"Link", "X-Total-Count"} <= set(listing["200"]["headers"])


def test_the_fast_money_routes_answer_as_the_documented_ones(server: Server, account: str) -> None:
    """Deposits and withdrawals are served by plain routes ahead of FastAPI's (serve's hot
    path): every answer is the one the documented FastAPI routes give."""
    fast = server.app.router.routes[:2]
    assert all(type(route) is Route for route in fast)
    assert [getattr(route, "path", None) for route in fast] == [
        "/accounts/{account_id}/deposit",
        "/accounts/{account_id}/withdraw",
    ]
    requests: list[tuple[str, str, bytes | None, dict[str, str]]] = [  # each round nets zero
        ("POST", f"/accounts/{account}/deposit", b'{"amount": 1.5}', {}),
        ("POST", f"/accounts/{account}/withdraw", b'{"amount": 1.5, "description": "x"}', {}),
        ("POST", f"/accounts/{account}/withdraw", b'{"amount": 9999}', {}),
        ("POST", "/accounts/account-nobody/deposit", b'{"amount": 1}', {}),
        ("POST", f"/accounts/{account}/deposit", b'{"amount": 1.005}', {}),
        ("POST", f"/accounts/{account}/deposit", b"{", {}),
        ("POST", f"/accounts/{account}/deposit", b'{"amount": 1}', {"Content-Type": "text/plain"}),
        ("POST", f"/accounts/{account}/deposit", b'{"amount": 1}', {"Idempotency-Key": "k" * 201}),
        ("POST", f"/accounts/{account}/deposit", b'{"amount": 1}', {"X-Clerk-Id": "x" * 65}),
        ("POST", f"/accounts/{account}%20/deposit", b'{"amount": 1}', {}),
        ("GET", f"/accounts/{account}/deposit", None, {}),
        ("PUT", f"/accounts/{account}/withdraw", b"{}", {}),
    ]

    def answers() -> list[tuple[int, object, str | None]]:
        found = []
        for method, path, body, headers in requests:
            sent = {"Content-Type": "application/json", **headers} if body is not None else {}
            response = server.client.request(method, path, content=body, headers=sent)
            found.append((response.status_code, response.json(), response.headers.get("allow")))
        return found

    through_fast = answers()
    routes = server.app.router.routes
    for route in fast:
        routes.remove(route)
    try:
        assert answers() == through_fast
    finally:
        routes[0:0] = fast
    assert [status for status, _, _ in through_fast] == [
        200, 200, 400, 404, 400, 400, 415, 400, 400, 400, 405, 405,
    ]  # fmt: skip
