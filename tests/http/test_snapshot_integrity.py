"""``serve`` over a tampered read-model snapshot: the store's numbers, never a 500, and a
``/health`` that says the read model had to be rebuilt."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from bank_desktop.eventstore import open_store
from bank_desktop.http import ServeSettings, create_app
from tests.http.conftest import TOKEN, ThreadedServer
from tests.http.test_walkthrough import exact


@contextmanager
def serving(db: Path, data_dir: Path) -> Iterator[httpx.Client]:
    """serve on ``db`` with snapshots under ``data_dir``; stopping it saves the snapshot."""
    store = open_store(f"sqlite://{db}")
    app = create_app(
        store,
        ServeSettings(
            clerk_id="api", projection_token=TOKEN, data_dir=data_dir, close_store=True, open=True
        ),
    )
    server = ThreadedServer(app)
    server.start()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=30) as client:
            yield client
    finally:
        server.stop()


def _snapshot(data_dir: Path) -> Path:
    found = list(data_dir.glob("serve/projections/*/read-model.snapshot.json"))
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize(
    "replacement",
    [
        pytest.param(b'"NaN"', id="NaN"),
        pytest.param(b"1000100.00", id="edited"),
        pytest.param(b"51.00", id="one digit"),
    ],
)
def test_serve_rebuilds_a_tampered_snapshot_and_reports_it(
    tmp_path: Path, replacement: bytes
) -> None:
    db, data_dir = tmp_path / "bank.db", tmp_path / "data"
    with serving(db, data_dir) as client:
        created = client.post("/accounts", json={"customerId": "c", "initialBalance": 50})
        assert created.status_code == 201
        assert client.get("/health").json()["status"] == "ok"
    snapshot = _snapshot(data_dir)
    body = snapshot.read_bytes()
    # The balance is kept in cents, in the balances' column of them; times are quoted (and one
    # whose seconds read "50.00…" holds text like a balance's, so the column is named).
    assert body.count(b'"cents":[5000]') == 1
    snapshot.write_bytes(body.replace(b'"cents":[5000]', b'"cents":[' + replacement + b"]"))

    with serving(db, data_dir) as client:
        listing = client.get("/accounts")
        assert listing.status_code == 200, listing.text
        assert [row["balance"] for row in exact(listing)] == [Decimal("50.00")]
        health = client.get("/health")
        assert health.status_code == 200
        report = health.json()
        assert report["status"] == "degraded"
        problems = " ".join(report["readModel"]["problems"])
        assert "snapshot" in problems
        assert "rebuilt" in problems
