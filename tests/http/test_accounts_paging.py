"""``GET /accounts`` pages: the seed's plain array in the body, the paging in the query and in
the headers (``Link``, RFC 8288, and ``X-Total-Count``), so a seed client still reads a body
it knows and a bank with thousands of accounts never answers them all at once."""

from __future__ import annotations

import re

from bank_desktop.application import BankService
from bank_desktop.eventstore import open_store
from tests.http.conftest import Server

_LINK = re.compile(r'<([^>]+)>;\s*rel="(\w+)"')


def links(header: str) -> dict[str, str]:
    return {rel: url for url, rel in _LINK.findall(header)}


def test_accounts_are_paged_with_link_and_total_count(make_server: object) -> None:
    store = open_store("memory://")
    bank = BankService(store, clerk_id="setup")
    opened = [bank.open_account(f"cust-{i}", "1") for i in range(250)]
    server: Server = make_server(store)  # type: ignore[operator]
    head = str(store.head_position())

    first = server.get("/accounts", params={"after": head})
    assert first.status_code == 200
    body = first.json()
    assert isinstance(body, list)  # the seed's body: a plain array of accounts
    assert len(body) == 100  # a default page, not every account
    assert first.headers["X-Total-Count"] == "250"
    rels = links(first.headers["Link"])
    assert set(rels) == {"next", "first", "last"}
    assert "offset=200" in rels["last"]

    seen = [row["accountId"] for row in body]
    url = rels["next"]
    pages = 1
    while url:
        page = server.client.get(url)
        assert page.status_code == 200
        assert page.headers["X-Total-Count"] == "250"
        seen += [row["accountId"] for row in page.json()]
        url = links(page.headers["Link"]).get("next", "")
        pages += 1
    assert pages == 3
    assert seen == opened  # opening order, each once

    small = server.get("/accounts", params={"limit": 10, "offset": 245})
    assert [row["accountId"] for row in small.json()] == opened[245:]
    small_links = links(small.headers["Link"])
    assert set(small_links) == {"prev", "first", "last"}
    assert "offset=235" in small_links["prev"]
    assert "limit=10" in small_links["prev"]
    beyond = server.get("/accounts", params={"offset": 1000})
    assert beyond.status_code == 200
    assert beyond.json() == []
    assert beyond.headers["X-Total-Count"] == "250"
    assert server.get("/accounts", params={"limit": 1000}).status_code == 200
    assert server.get("/accounts", params={"limit": 1001}).status_code == 400
    assert server.get("/accounts", params={"limit": 0}).status_code == 400


def test_an_empty_bank_is_one_empty_page(server: Server) -> None:
    empty = server.get("/accounts")
    assert empty.json() == []
    assert empty.headers["X-Total-Count"] == "0"
    assert set(links(empty.headers["Link"])) == {"first", "last"}
