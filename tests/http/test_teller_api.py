"""The teller's-day endpoints over real HTTP: customers, reversals, holds, the journal and an
account as of a day, with the API's error mapping and Idempotency-Key handling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tests.http.conftest import Server
from tests.http.test_walkthrough import exact

TODAY = datetime.now(UTC).date().isoformat()


def _account(server: Server, customer: str = "cust-1", initial: int = 100) -> str:
    opened = server.post("/accounts", {"customerId": customer, "initialBalance": initial})
    assert opened.status_code == 201, opened.text
    return str(opened.json()["accountId"])


def test_customers_register_look_up_and_search(server: Server) -> None:
    registered = server.post(
        "/customers",
        {"fullName": "Zoë Ångström", "nationalId": "za 998877", "dateOfBirth": "1990-12-10"},
        headers={"Idempotency-Key": "cust-req-1", "X-Clerk-Id": "ann"},
    )
    assert registered.status_code == 201, registered.text
    body = registered.json()
    customer = body["customerId"]
    assert (body["fullName"], body["nationalId"]) == ("Zoë Ångström", "ZA 998877")
    again = server.post(
        "/customers",
        {"fullName": "Zoë Ångström", "nationalId": "za 998877", "dateOfBirth": "1990-12-10"},
        headers={"Idempotency-Key": "cust-req-1"},
    )
    assert (again.status_code, again.json()["customerId"]) == (201, customer)
    reused = server.post(
        "/customers", {"fullName": "Other", "nationalId": "QQ1234"},
        headers={"Idempotency-Key": "cust-req-1"},
    )  # fmt: skip
    assert reused.status_code == 422

    duplicate = server.post("/customers", {"fullName": "Someone", "nationalId": "ZA-998877"})
    assert duplicate.status_code == 409
    assert customer in duplicate.json()["error"]
    invalid = server.post("/customers", {"fullName": "Ada", "nationalId": "AB1"})
    assert invalid.status_code == 400
    assert "National id is too short" in invalid.json()["error"]
    missing = server.post("/customers", {"fullName": "Ada"})
    assert missing.status_code == 400

    account = _account(server, customer)
    position = server.post(f"/accounts/{account}/deposit", {"amount": 1}).headers[
        "X-Event-Position"
    ]
    shown = server.get(f"/customers/{customer}", params={"after": position})
    assert shown.status_code == 200
    assert shown.json()["accounts"] == [account]
    assert shown.json()["dateOfBirth"] == "1990-12-10"
    assert server.get("/customers/customer-nobody").status_code == 404
    found = server.get("/customers", params={"q": "zoe ANGSTROM"})
    assert [c["customerId"] for c in found.json()] == [customer]
    assert server.get("/customers", params={"q": "nobody"}).json() == []
    assert [c["customerId"] for c in server.get("/customers").json()] == [customer]
    # The seed's account body is unchanged (the name is in GET /customers/{id}).
    assert set(server.get(f"/accounts/{account}").json()) == {
        "accountId", "customerId", "balance", "isOpen", "openedAt", "lastTransactionAt"
    }  # fmt: skip


def test_customer_details_change_over_patch(server: Server) -> None:
    """What the window (Ctrl+Shift+C) and ``customers change`` do, over HTTP: a field given
    changes, ``null`` clears an optional detail, a field left out stays; recorded, never
    overwritten, and safe to retry with the same Idempotency-Key."""
    ada = server.post(
        "/customers",
        {"fullName": "Ada Byron", "nationalId": "AB123456", "phone": "555-0100"},
    ).json()["customerId"]
    grace = server.post("/customers", {"fullName": "Grace Hopper", "nationalId": "GH1906"})
    assert grace.status_code == 201

    changed = server.patch(
        f"/customers/{ada}",
        {"fullName": "Ada Lovelace", "address": "12 St James's Square", "phone": None},
        headers={"Idempotency-Key": "change-1", "X-Clerk-Id": "ann"},
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["customerId"], body["fullName"], body["nationalId"]) == (
        ada, "Ada Lovelace", "AB123456"
    )  # fmt: skip
    assert body["address"] == "12 St James's Square"
    assert "phone" not in body
    position = changed.headers["X-Event-Position"]
    shown = server.get(f"/customers/{ada}", params={"after": position}).json()
    assert (shown["fullName"], shown.get("phone"), shown["address"]) == (
        "Ada Lovelace", None, "12 St James's Square"
    )  # fmt: skip
    assert server.get("/customers", params={"q": "lovelace"}).json()[0]["customerId"] == ada

    again = server.patch(
        f"/customers/{ada}",
        {"fullName": "Ada Lovelace", "address": "12 St James's Square", "phone": None},
        headers={"Idempotency-Key": "change-1"},
    )
    assert (again.status_code, again.json()["fullName"]) == (200, "Ada Lovelace")
    other_body = server.patch(
        f"/customers/{ada}", {"fullName": "Someone Else"}, headers={"Idempotency-Key": "change-1"}
    )
    assert other_body.status_code == 422

    taken = server.patch(f"/customers/{ada}", {"nationalId": "gh 1906"})
    assert taken.status_code == 409
    assert grace.json()["customerId"] in taken.json()["error"]
    assert server.patch(f"/customers/{ada}", {"fullName": None}).status_code == 400
    assert server.patch(f"/customers/{ada}", {"nationalId": None}).status_code == 400
    nothing = server.patch(f"/customers/{ada}", {})
    assert nothing.status_code == 400
    same = server.patch(f"/customers/{ada}", {"fullName": "Ada Lovelace"})
    assert same.status_code == 400
    assert server.patch(f"/customers/{ada}", {"dateOfBirth": "not a date"}).status_code == 400
    assert server.patch(f"/customers/{ada}", [1, 2]).status_code == 400
    unknown = server.patch("/customers/customer-nobody", {"fullName": "Nobody"})
    assert unknown.status_code == 404
    final = server.get(f"/customers/{ada}").json()
    assert (final["fullName"], final["nationalId"]) == ("Ada Lovelace", "AB123456")


def test_reversals(server: Server) -> None:
    account = _account(server, initial=50)
    server.post(f"/accounts/{account}/deposit", {"amount": 500})
    entries = server.get(f"/accounts/{account}/transactions").json()["entries"]
    deposit = entries[-1]["eventId"]

    reversed_ = server.post(
        f"/accounts/{account}/reversals",
        {"eventId": deposit, "reason": "Keyed 500 instead of 50"},
        headers={"Idempotency-Key": "rev-1"},
    )
    assert reversed_.status_code == 201, reversed_.text
    assert exact(reversed_)["newBalance"] == Decimal("50.00")
    repeat = server.post(
        f"/accounts/{account}/reversals",
        {"eventId": deposit, "reason": "Keyed 500 instead of 50"},
        headers={"Idempotency-Key": "rev-1"},
    )
    assert repeat.status_code == 201
    twice = server.post(f"/accounts/{account}/reversals", {"eventId": deposit, "reason": "x"})
    assert twice.status_code == 400
    assert "already reversed" in twice.json()["error"]
    no_reason = server.post(f"/accounts/{account}/reversals", {"eventId": deposit})
    assert (no_reason.status_code, no_reason.json()["error"]) == (400, "Reason is required.")
    unknown = server.post(f"/accounts/{account}/reversals", {"eventId": "nope", "reason": "x"})
    assert unknown.status_code == 404
    missing_account = server.post("/accounts/account-none/reversals",
                                  {"eventId": deposit, "reason": "x"})  # fmt: skip
    assert missing_account.status_code == 404
    last = server.get(f"/accounts/{account}/transactions").json()["entries"][-1]
    assert (last["type"], last["reversesEventId"], last["requestId"]) == (
        "reversal",
        deposit,
        "rev-1",
    )


def test_holds(server: Server) -> None:
    account = _account(server)
    expires = (datetime.now(UTC) + timedelta(days=2)).isoformat().replace("+00:00", "Z")
    placed = server.post(
        f"/accounts/{account}/holds",
        {"amount": 25, "reason": "Cheque clearing", "expiresAt": expires},
        headers={"Idempotency-Key": "hold-1"},
    )
    assert placed.status_code == 201, placed.text
    hold = placed.json()["holdId"]
    assert exact(placed)["availableBalance"] == Decimal("75.00")
    assert server.post(f"/accounts/{account}/holds",
                       {"amount": 25, "reason": "Cheque clearing", "expiresAt": expires},
                       headers={"Idempotency-Key": "hold-1"}).json()["holdId"] == hold  # fmt: skip

    refused = server.post(f"/accounts/{account}/withdraw", {"amount": 80})
    assert refused.status_code == 400
    assert refused.json()["error"] == "Insufficient funds. Available: $75.00, Requested: $80.00"
    listed = server.get(
        f"/accounts/{account}/holds", params={"after": placed.headers["X-Event-Position"]}
    )
    assert exact(listed)["availableBalance"] == Decimal("75.00")
    assert [h["holdId"] for h in listed.json()["holds"]] == [hold]
    assert server.post(f"/accounts/{account}/close", {}).status_code == 400

    released = server.client.delete(f"/accounts/{account}/holds/{hold}")
    assert released.status_code == 200
    assert exact(released)["availableBalance"] == Decimal("100.00")
    again = server.client.delete(f"/accounts/{account}/holds/{hold}")
    assert (again.status_code, again.json()["error"]) == (400, f"Hold {hold} was already released.")
    assert server.client.delete(f"/accounts/{account}/holds/hold-none").status_code == 404
    bad = server.post(f"/accounts/{account}/holds",
                      {"amount": 1, "reason": "x", "expiresAt": "2030-01-01T00:00"})  # fmt: skip
    assert bad.status_code == 400
    assert bad.json()["details"]["errors"][0]["field"] == "expiresAt"
    assert (
        server.post(f"/accounts/{account}/holds", {"amount": "1", "reason": "x"}).status_code == 400
    )


def test_journal_and_as_of(server: Server) -> None:
    account = _account(server)
    server.post(f"/accounts/{account}/deposit", {"amount": 50}, headers={"X-Clerk-Id": "ann"})
    server.post(f"/accounts/{account}/withdraw", {"amount": 30}, headers={"X-Clerk-Id": "bob"})

    journal = server.get("/journal", params={"date": TODAY, "tz": "UTC"})
    assert journal.status_code == 200, journal.text
    body = exact(journal)
    assert (body["timeZone"], body["reconciles"]) == ("UTC", True)
    assert body["closingTotal"] - body["openingTotal"] == body["net"] == Decimal("120.00")
    assert body["totals"]["deposit"] == {"count": 1, "amount": Decimal("50.00")}
    bobs = exact(server.get("/journal", params={"date": TODAY, "tz": "UTC", "clerk": "bob"}))
    assert [line["type"] for line in bobs["lines"]] == ["withdrawal"]
    assert bobs["reconciles"] is True
    assert server.get("/journal", params={"date": "tomorrow"}).status_code == 400
    assert server.get("/journal", params={"date": TODAY, "tz": "Mars/Base"}).status_code == 400
    assert server.get("/journal").status_code == 400

    today = exact(server.get(f"/accounts/{account}", params={"asOf": TODAY, "tz": "UTC"}))
    assert (today["status"], today["balance"]) == ("open", Decimal("120.00"))
    assert [e["type"] for e in today["entries"]] == ["opened", "deposit", "withdrawal"]
    before = exact(server.get(f"/accounts/{account}", params={"asOf": "2001-01-01"}))
    assert (before["status"], before["balance"], before["entries"]) == (
        "not_opened",
        Decimal("0.00"),
        [],
    )
    assert server.get(f"/accounts/{account}", params={"asOf": "01/01/2001"}).status_code == 400
    assert server.get("/accounts/account-none", params={"asOf": TODAY}).status_code == 404
