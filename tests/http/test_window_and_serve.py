"""The clerk's window and ``bank-desktop serve`` on one SQLite file see each other live."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from bank_desktop.application import BankService
from bank_desktop.eventstore import open_store
from bank_desktop.gui.app import create_main_window
from bank_desktop.gui.main_window import MainWindow
from bank_desktop.gui.workers import running_count
from tests.gui.test_main_window import balance, money, open_account
from tests.http.serve_process import ServeProcess
from tests.http.test_walkthrough import _exact

TOKEN = "window-and-serve-token-0123456789"


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite://{tmp_path / 'bank.db'}"


@pytest.fixture
def serve(store_url: str) -> Iterator[str]:
    process = ServeProcess(
        ["--store", store_url, "--clerk", "api-clerk", "--open"],
        env={"PROJECTION_AUTH_TOKEN": TOKEN},
    )
    try:
        yield process.wait_ready()
    finally:
        assert process.stop() == 0, process.output


@pytest.fixture
def window(qtbot: QtBot, tmp_path: Path, store_url: str, serve: str) -> Iterator[MainWindow]:
    window = create_main_window(store_url, clerk_id="clerk-7", data_dir=tmp_path / "data")
    qtbot.addWidget(window)
    with qtbot.waitActive(window):
        window.show()
        window.activateWindow()
    qtbot.waitUntil(lambda: window.connection_label.text() == "● live", timeout=10_000)
    yield window
    window.close()
    qtbot.waitUntil(lambda: running_count() == 0, timeout=10_000)


@pytest.mark.slow
def test_the_window_and_serve_see_each_others_changes_live(
    qtbot: QtBot, window: MainWindow, serve: str, store_url: str
) -> None:
    api = httpx.Client(base_url=serve, timeout=30)

    # HTTP → the window
    opened = api.post("/accounts", json={"customerId": "web-1", "initialBalance": 100})
    assert opened.status_code == 201
    account = opened.json()["accountId"]
    qtbot.waitUntil(lambda: balance(window, account) == Decimal("100.00"), timeout=10_000)
    deposit = api.post(f"/accounts/{account}/deposit", json={"amount": 50.25})
    assert deposit.status_code == 200
    qtbot.waitUntil(lambda: balance(window, account) == Decimal("150.25"), timeout=10_000)

    # another clerk's BankService on the same file → HTTP, reading its write
    other_store = open_store(store_url)
    try:
        BankService(other_store, clerk_id="clerk-9").withdraw(account, "0.25")
        position = other_store.head_position()
    finally:
        other_store.close()
    shown = api.get(f"/accounts/{account}", params={"after": position})
    assert shown.status_code == 200
    assert _exact.decode(shown.content)["balance"] == Decimal("150.00")
    qtbot.waitUntil(lambda: balance(window, account) == Decimal("150.00"), timeout=10_000)

    # the window, by keyboard → HTTP
    mine = open_account(qtbot, window, "desk-1", "10")
    money(qtbot, Qt.Key.Key_F2, "32.10", "Cash at the desk")
    qtbot.waitUntil(lambda: balance(window, mine) == Decimal("42.10"), timeout=10_000)
    probe = open_store(store_url)
    try:
        head = probe.head_position()
    finally:
        probe.close()
    row = api.get(f"/accounts/{mine}", headers={"X-Wait-For-Position": str(head)})
    assert row.status_code == 200, row.text
    assert _exact.decode(row.content)["balance"] == Decimal("42.10")
    ledger = api.get(f"/accounts/{mine}/transactions").json()
    assert [(e["type"], e["clerkId"]) for e in ledger["entries"]] == [
        ("opened", "clerk-7"),
        ("deposit", "clerk-7"),
    ]
    assert ledger["entries"][1]["description"] == "Cash at the desk"
    listed = {r["accountId"] for r in api.get("/accounts", params={"after": head}).json()}
    assert {account, mine} <= listed
    api.close()
