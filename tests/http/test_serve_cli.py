"""``bank-desktop serve``: refuses an insecure token, logs without secrets, stops on SIGTERM."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from bank_desktop.cli import main
from tests.http.serve_process import ServeProcess

SECRET = "s3cret-webhook-token-abcdefghijklmnop"


@pytest.mark.parametrize("token", [None, "dev-token"])
def test_serve_refuses_a_missing_or_default_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, token: str | None
) -> None:
    if token is None:
        monkeypatch.delenv("PROJECTION_AUTH_TOKEN", raising=False)
    else:
        monkeypatch.setenv("PROJECTION_AUTH_TOKEN", token)
    code = main(
        ["serve", "--store", f"sqlite://{tmp_path / 'bank.db'}", "--port", "0"], out=io.StringIO()
    )
    assert code == 2


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
    serve = ServeProcess(
        ["--store", url, "--clerk", "teller-1"],
        env={"PROJECTION_AUTH_TOKEN": SECRET},
    )
    base = serve.wait_ready()
    opened = httpx.post(f"{base}/accounts", json={"customerId": "c", "initialBalance": 5})
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
    )
    assert ledger.json()["entries"][0]["clerkId"] == "teller-1"
    assert serve.stop() == 0
    output = serve.output
    assert "teller-1" in output
    assert "***" in output
    assert "POST /accounts 201" in output  # the access log
    for secret in (SECRET, "hunter2pw", "wrong-token", "Bearer"):
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
