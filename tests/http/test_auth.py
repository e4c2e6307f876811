"""``serve`` authenticates clerks (DESIGN §10): a clerk's API token on every endpoint, reads
included; the token's clerk is who acted; tokens issued or revoked elsewhere count at once;
``--open`` is the seed tutorial's tokenless mode, on loopback only."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bank_desktop.application import BankService
from bank_desktop.eventstore import open_store
from tests.http.conftest import AUTH as WEBHOOK_AUTH
from tests.http.conftest import Server
from tests.http.serve_process import ServeProcess

SERVE = (sys.executable, "-m", "bank_desktop", "serve")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def secured(make_server: Callable[..., Server]) -> Server:
    return make_server(open=False)


@pytest.fixture
def admin(secured: Server) -> BankService:
    """The bank's admin, working in another service on the same store (another desk)."""
    bank = BankService(secured.store, clerk_id="admin-1")
    bank.grant_role("admin-1", "admin")
    return bank


def test_every_endpoint_wants_a_clerks_token(secured: Server, admin: BankService) -> None:
    paths = secured.app.openapi()["paths"]
    operations = [
        (method.upper(), re.sub(r"\{[^}]+\}", "x-1", path))
        for path, methods in paths.items()
        for method in methods
    ] + [("GET", "/docs"), ("GET", "/openapi.json"), ("GET", "/redoc")]
    assert len(operations) >= 12
    token = admin.issue_token("teller-1")
    for method, path in operations:
        for headers in ({}, bearer("bdt_nonsense"), {"Authorization": token}):
            answer = secured.client.request(method, path, headers=headers)
            assert answer.status_code == 401, (method, path, headers, answer.text)
            assert answer.headers["WWW-Authenticate"].startswith("Bearer")
            if not path.startswith("/api/projections"):  # the webhook has its own token
                assert "staff token" in answer.json()["error"]
    for path in ("/health", "/accounts", "/approvals", "/openapi.json", "/docs"):
        assert secured.get(path, headers=bearer(token)).status_code == 200, path


def test_the_webhook_keeps_its_own_token(secured: Server, admin: BankService) -> None:
    token = admin.issue_token("teller-1")
    path = "/api/projections/balances/events"
    assert secured.post(path, {"events": []}, headers=bearer(token)).status_code == 401
    assert secured.post(path, {"events": []}, headers=WEBHOOK_AUTH).status_code == 200
    assert secured.get("/accounts", headers=WEBHOOK_AUTH).status_code == 401


def test_the_tokens_clerk_is_who_acted(secured: Server, admin: BankService) -> None:
    auth = bearer(admin.issue_token("teller-1"))
    opened = secured.post("/accounts", {"customerId": "c", "initialBalance": 10}, headers=auth)
    assert opened.status_code == 201
    account = opened.json()["accountId"]
    same = secured.post(
        f"/accounts/{account}/deposit", {"amount": 1}, headers={**auth, "X-Clerk-Id": "teller-1"}
    )
    assert same.status_code == 200
    before = secured.store.head_position()
    forged = secured.post(
        f"/accounts/{account}/deposit", {"amount": 1}, headers={**auth, "X-Clerk-Id": "root"}
    )
    assert forged.status_code == 403
    assert "teller-1" in forged.json()["error"]
    assert secured.store.head_position() == before
    clerks = {e.metadata["clerkId"] for e in secured.store.read_stream(account)}
    assert clerks == {"teller-1"}


def test_tokens_issued_or_revoked_elsewhere_count_at_once(
    secured: Server, admin: BankService
) -> None:
    assert (
        secured.get("/accounts", headers=bearer("bdt_0123456789abcdef_" + "x" * 43)).status_code
        == 401
    )
    token = admin.issue_token("teller-1")  # after the server started, in another service
    assert secured.get("/accounts", headers=bearer(token)).status_code == 200
    replaced = admin.issue_token("teller-1")
    assert secured.get("/accounts", headers=bearer(token)).status_code == 401
    assert secured.get("/accounts", headers=bearer(replaced)).status_code == 200
    admin.revoke_token("teller-1")
    assert secured.get("/accounts", headers=bearer(replaced)).status_code == 401


def test_a_deposit_checks_its_token_in_the_commands_own_hop_and_stops_once_revoked(
    secured: Server, admin: BankService
) -> None:
    token = admin.issue_token("teller-1")
    auth = bearer(token)
    opened = secured.post("/accounts", {"customerId": "c", "initialBalance": 10}, headers=auth)
    account = opened.json()["accountId"]
    for _ in range(2):  # the second is checked where the deposit runs (the token is known)
        assert secured.post(f"/accounts/{account}/deposit", {"amount": 1}, headers=auth).is_success
    forged = {**auth, "X-Clerk-Id": "root"}
    assert (
        secured.post(f"/accounts/{account}/deposit", {"amount": 1}, headers=forged).status_code
        == 403
    )
    replaced = admin.issue_token("teller-1")  # elsewhere: the known token is no longer current
    before = secured.store.head_position()
    for path in ("deposit", "withdraw"):
        refused = secured.post(f"/accounts/{account}/{path}", {"amount": 1}, headers=auth)
        assert refused.status_code == 401, refused.text
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
        assert "staff token" in refused.json()["error"]
    assert secured.store.head_position() == before
    fresh = bearer(replaced)
    assert secured.post(f"/accounts/{account}/withdraw", {"amount": 1}, headers=fresh).is_success
    admin.revoke_token("teller-1")
    refused = secured.post(f"/accounts/{account}/withdraw", {"amount": 1}, headers=fresh)
    assert refused.status_code == 401
    assert secured.get(f"/accounts/{account}", headers=fresh).status_code == 401
    balance = BankService(secured.store).get_account(account).balance
    assert balance == 11


def test_the_api_documents_the_bearer_token(secured: Server, admin: BankService) -> None:
    document = secured.get("/openapi.json", headers=bearer(admin.issue_token("x"))).json()
    assert document["components"]["securitySchemes"]["clerkToken"]["scheme"] == "bearer"
    assert document["security"] == [{"clerkToken": []}]


def test_open_mode_takes_no_tokens_and_lets_x_clerk_id_name_the_clerk(server: Server) -> None:
    opened = server.post("/accounts", {"customerId": "c"}, headers={"X-Clerk-Id": "clerk-9"})
    assert opened.status_code == 201
    (event,) = server.store.read_stream(opened.json()["accountId"])
    assert event.metadata["clerkId"] == "clerk-9"


def test_open_mode_is_loopback_only_and_says_so(tmp_path: Path) -> None:
    store = f"sqlite://{tmp_path / 'bank.db'}"
    for extra in (["--allow-remote"], ["--host", "0.0.0.0", "--allow-remote"]):
        result = subprocess.run(
            [*SERVE, "--store", store, "--port", "0", "--dev", "--open", *extra],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 2
        assert "--open" in result.stderr
        assert "loopback" in result.stderr
    serve = ServeProcess(["--store", store, "--open"], env={"PROJECTION_AUTH_TOKEN": ""})
    base = serve.wait_ready()
    import httpx

    assert httpx.get(f"{base}/accounts").status_code == 200
    assert serve.stop() == 0
    assert "Open mode" in serve.output
    assert "no client tokens" in serve.output


def test_a_store_the_token_cannot_be_checked_against_is_503(
    secured: Server, admin: BankService
) -> None:
    token = admin.issue_token("teller-1")
    secured.store.close()
    answer = secured.get("/accounts", headers=bearer(token))
    assert answer.status_code == 503
    assert answer.headers["Retry-After"]
    secured.store = open_store("memory://")  # the fixture closes it again
