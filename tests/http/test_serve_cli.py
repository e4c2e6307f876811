"""``bank-desktop serve``: refuses an insecure token, logs without secrets, stops on SIGTERM."""

from __future__ import annotations

import io
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from bank_desktop.cli import main
from tests.http.serve_process import ServeProcess

SECRET = "s3cret-webhook-token-abcdefghijklmnop"
SERVE = (sys.executable, "-m", "bank_desktop", "serve")


def issue_token(store: str, clerk: str) -> dict[str, str]:
    """An API token for ``clerk`` as an admin gets it, and the header a client sends it in."""
    out = io.StringIO()
    assert main(["--store", store, "--clerk", "it-admin", "staff", "token", clerk], out=out) == 0
    return {"Authorization": f"Bearer {out.getvalue().splitlines()[-1]}"}


@pytest.mark.parametrize(
    ("token", "says"),
    [
        ("dev-token", "the seed's default"),
        ("short-secret", "12 characters"),
        ("x" * 31, "31 characters"),
    ],
)
def test_serve_refuses_a_default_or_short_token_outside_dev(
    tmp_path: Path, token: str, says: str
) -> None:
    try:
        result = subprocess.run(
            [*SERVE, "--port", "0", "--store", f"sqlite://{tmp_path / 'bank.db'}"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "PROJECTION_AUTH_TOKEN": token},
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"serve started with the token {token!r}")
    assert result.returncode == 2
    message = result.stderr
    assert says in message
    if token != "dev-token":  # the seed's default is public; a real secret is never echoed
        assert token not in message
    # the command the message suggests for making a secret works and makes a long enough one
    suggested = re.search(r"`(python3 -c .+?)`", message)
    assert suggested, message
    made = subprocess.run(
        [sys.executable, *shlex.split(suggested.group(1))[1:]],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert len(made) >= 32


def test_serve_as_the_readme_writes_it_starts_with_the_webhook_disabled(tmp_path: Path) -> None:
    # `bank-desktop serve [--store URL]`, no PROJECTION_AUTH_TOKEN, no --dev
    store = f"sqlite://{tmp_path / 'bank.db'}"
    serve = ServeProcess(["--store", store], env={"PROJECTION_AUTH_TOKEN": ""})
    base = serve.wait_ready()
    assert httpx.post(f"{base}/accounts", json={"customerId": "c"}).status_code == 401
    auth = issue_token(store, "teller-1")  # while serve runs: it works at once
    opened = httpx.post(
        f"{base}/accounts", json={"customerId": "c", "initialBalance": 5}, headers=auth
    )
    assert opened.status_code == 201
    hook = httpx.post(
        f"{base}/api/projections/balances/events",
        json={"events": []},
        headers={"Authorization": "Bearer dev-token"},
    )
    assert hook.status_code == 404
    assert "PROJECTION_AUTH_TOKEN" in hook.json()["error"]
    assert serve.stop() == 0
    assert "webhook" in serve.output
    assert "disabled" in serve.output
    assert "Authorization: Bearer" in serve.output  # how clients authenticate, said at start
    assert "staff token" in serve.output


def test_serve_rejects_a_bad_store_url_and_port(tmp_path: Path) -> None:
    assert main(["serve", "--store", "nosuch://x", "--dev"], out=io.StringIO()) == 2
    result = subprocess.run(
        [sys.executable, "-m", "bank_desktop", "serve", "--port", "70000"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "port" in result.stderr


@pytest.mark.slow
def test_serve_runs_logs_no_secrets_and_saves_its_snapshot_on_sigterm(
    tmp_path: Path, postgres_url: str
) -> None:
    # a password in the URL (the test server trusts local connections, so any will do)
    url = postgres_url.replace("postgresql://postgres@", "postgresql://postgres:hunter2pw@")
    assert main(["--store", url, "deploy"], out=io.StringIO()) == 0
    auth = issue_token(url, "teller-1")
    serve = ServeProcess(
        ["--store", url, "--clerk", "serve-1"],
        env={"PROJECTION_AUTH_TOKEN": SECRET},
    )
    base = serve.wait_ready()
    opened = httpx.post(
        f"{base}/accounts", json={"customerId": "c", "initialBalance": 5}, headers=auth
    )
    assert opened.status_code == 201
    account = opened.json()["accountId"]
    hook = httpx.post(
        f"{base}/api/projections/balances/events",
        json={"events": []},
        headers={"Authorization": f"Bearer {SECRET}"},
    )
    assert hook.status_code == 200
    bad = httpx.post(
        f"{base}/api/projections/balances/events",
        json={"events": []},
        headers={"Authorization": "Bearer wrong-token"},
    )
    assert bad.status_code == 401
    ledger = httpx.get(
        f"{base}/accounts/{account}/transactions",
        params={"after": opened.headers["X-Event-Position"]},
        headers=auth,
    )
    assert ledger.json()["entries"][0]["clerkId"] == "teller-1"  # the token's clerk acted
    assert serve.stop() == 0
    output = serve.output
    assert "clerk=teller-1" in output
    assert "***" in output
    assert "POST /accounts 201" in output  # the access log
    token = auth["Authorization"].removeprefix("Bearer ")
    for secret in (SECRET, "hunter2pw", "wrong-token", "Bearer bdt_", token, token[-20:]):
        assert secret not in output, secret
    snapshots = list(Path(tmp_path.parent).glob("**/serve/projections/*/read-model.snapshot.json"))
    assert snapshots, output  # saved on the way out


def test_serve_dev_mode_allows_the_seed_token(tmp_path: Path) -> None:
    serve = ServeProcess(
        ["--store", f"sqlite://{tmp_path / 'bank.db'}", "--dev"], env={"PROJECTION_AUTH_TOKEN": ""}
    )
    base = serve.wait_ready()
    hook = httpx.post(
        f"{base}/api/projections/balances/events",
        json={"events": []},
        headers={"Authorization": "Bearer dev-token"},
    )
    assert hook.status_code == 200
    assert "dev mode" in serve.output
    assert serve.stop() == 0
