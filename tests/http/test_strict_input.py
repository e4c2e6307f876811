"""Input the API must refuse rather than guess at: duplicate JSON keys, invisible characters,
and ids with spaces around them."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from tests.http.conftest import AUTH, Server


@pytest.fixture
def account(server: Server) -> str:
    opened = server.post("/accounts", {"customerId": "c", "initialBalance": 10})
    return str(opened.json()["accountId"])


def balance(server: Server, account: str) -> Any:
    return server.get(f"/accounts/{account}/transactions").json()["balance"]


def test_duplicate_keys_are_refused_not_resolved_last_one_wins(
    server: Server, account: str
) -> None:
    deposit = server.post(f"/accounts/{account}/deposit", b'{"amount": 1, "amount": 1000}')
    assert deposit.status_code == 400, deposit.text
    assert "amount" in deposit.json()["error"]
    assert "more than once" in deposit.json()["error"]
    assert balance(server, account) == 10
    nested = server.post(
        f"/accounts/{account}/deposit", b'{"amount": 1, "x": {"a": 1, "b": {"c": 1, "c": 2}}}'
    )
    assert nested.status_code == 400
    opened = server.post("/accounts", b'{"customerId": "a", "customerId": "b"}')
    assert opened.status_code == 400
    hook = server.post(
        "/api/projections/balances/events", b'{"events": [], "events": [{}]}', headers=AUTH
    )
    assert hook.status_code == 400
    assert server.post(f"/accounts/{account}/deposit", b'{"amount": 1}').status_code == 200


@pytest.mark.parametrize("char", ["\u200b", "\ufeff", "\u00ad", "\U000e0041"])
def test_invisible_characters_are_refused_in_ids_and_text(
    server: Server, account: str, char: str
) -> None:
    assert server.post("/accounts", {"customerId": f"cust{char}1"}).status_code == 400
    described = server.post(
        f"/accounts/{account}/deposit", {"amount": 1, "description": f"Pay{char}check"}
    )
    assert described.status_code == 400
    assert "must not contain" in described.json()["error"]
    target = server.post(
        f"/accounts/{account}/transfer", {"toAccountId": f"{account}{char}", "amount": 1}
    )
    assert target.status_code == 400
    assert balance(server, account) == 10


def test_an_invisible_character_in_a_header_is_refused(server: Server, account: str) -> None:
    # headers are Latin-1: the one Cf character they can carry is the soft hyphen
    keyed = server.post(
        f"/accounts/{account}/deposit", {"amount": 1}, headers={"Idempotency-Key": b"key\xad1"}
    )
    assert keyed.status_code == 400
    assert "Idempotency-Key" in keyed.json()["error"]


@pytest.mark.parametrize("pad", [" ", "%20", "%09", "%C2%A0"])
def test_ids_with_spaces_around_them_are_refused_not_trimmed(
    server: Server, account: str, pad: str
) -> None:
    for padded in (f"{pad}{account}", f"{account}{pad}"):
        path = f"/accounts/{padded}"
        deposit = server.post(f"{path}/deposit", {"amount": 1})
        assert deposit.status_code == 400, (padded, deposit.text)
        assert "space" in deposit.json()["error"]
        assert server.get(path).status_code == 400
        assert server.get(f"{path}/transactions").status_code == 400
        assert server.post(f"{path}/close").status_code in (400, 415)
    spaced = server.post(
        f"/accounts/{account}/transfer", {"toAccountId": f" {account}", "amount": 1}
    )
    assert spaced.status_code == 400
    assert balance(server, account) == 10
    assert server.get(f"/accounts/{quote(account)}").status_code == 200
