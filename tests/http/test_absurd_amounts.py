"""Absurd amounts (issue 11, item 8): an exponent such as ``1E+999999999`` is a valid JSON
number and a valid Decimal, but ``abs()`` or any sum overflows on it. Every place money arrives
bounds it by comparison first, so the answer is a 4xx naming the field, never a 500."""

from __future__ import annotations

from typing import Any

import pytest

from tests.http.conftest import AUTH, Server
from tests.http.events import History, envelope
from tests.http.test_webhook import PATH, _json

ABSURD = [b"1E+999999999", b"-1E+999999999", b"1E-999999999", b"9" * 5000, b"1" + b"0" * 60000]


def _open(server: Server) -> str:
    response = server.post("/accounts", {"customerId": "c-1", "initialBalance": 100})
    assert response.status_code == 201, response.text
    account: str = response.json()["accountId"]
    return account


@pytest.mark.parametrize("number", ABSURD, ids=lambda n: n[:16].decode())
def test_commands_answer_422_for_absurd_amounts(server: Server, number: bytes) -> None:
    account = _open(server)
    other = _open(server)
    before = server.store.head_position()
    bodies: list[tuple[str, bytes]] = [
        ("/accounts", b'{"customerId": "c-2", "initialBalance": ' + number + b"}"),
        (f"/accounts/{account}/deposit", b'{"amount": ' + number + b"}"),
        (f"/accounts/{account}/withdraw", b'{"amount": ' + number + b"}"),
        (
            f"/accounts/{account}/transfer",
            b'{"toAccountId": "' + other.encode() + b'", "amount": ' + number + b"}",
        ),
    ]
    for path, body in bodies:
        response = server.post(path, body)
        # 422 names the field; an integer beyond what the JSON decoder takes is already a 400
        assert response.status_code in (400, 422), (path, response.status_code, response.text)
        assert any(word in response.text for word in ("amount", "Balance", "out of range"))
    assert server.store.head_position() == before


@pytest.mark.parametrize("number", ABSURD, ids=lambda n: n[:16].decode())
def test_the_webhook_answers_400_for_absurd_amounts(server: Server, number: bytes) -> None:
    h = History()
    opened = envelope(h.open("account-absurd", 0))
    deposit = envelope(h.deposit("account-absurd", "0.1"))
    raw = (
        b'{"events": ['
        + _json(opened)
        + b","
        + _json(deposit).replace(b'"amount":0.1', b'"amount":' + number)
        + b"]}"
    )
    response = server.post(PATH, raw, headers=AUTH)
    assert response.status_code == 400, response.text[:200]
    error = response.json()["error"]
    assert "amount" in error or "Integer value out of range" in error
    listed: Any = server.get("/accounts").json()
    assert listed == []
