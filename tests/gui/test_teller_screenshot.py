"""Screenshots of the teller's day for review: the window (customers by name, Available, a
reversal linked in the ledger, a hold) and the journal dialog.

Always written to the test's temp folder; with ``BANK_DESKTOP_TELLER_SCREENSHOTS=folder``
also there (look at them before a release: columns, elisions, the toolbar's room). Runs
offscreen and, marked ``x11``, under a real X server too.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from pytestqt.qtbot import QtBot

from bank_desktop.gui.journal_dialog import JournalDialog
from bank_desktop.gui.main_window import MainWindow
from tests.gui.conftest import CTRL, active_dialog, press

EMBEDDED = ".local/share/bank-desktop/bank.db"


@pytest.fixture
def store_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    home = tmp_path / "home"
    (home / EMBEDDED).parent.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    return f"sqlite://{home / EMBEDDED}"


def keep(image: QImage, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    assert image.save(str(path))
    assert path.stat().st_size > 20_000  # a real picture, not an empty frame
    folder = os.environ.get("BANK_DESKTOP_TELLER_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        image.save(str(Path(folder) / name))
    return path


@pytest.mark.x11
def test_screenshots_of_the_tellers_day(
    qtbot: QtBot, make_window: Callable[..., MainWindow], tmp_path: Path
) -> None:
    window = make_window()
    window.resize(1280, 820)
    bank = window._context.bank
    names = ["Ada Lovelace", "Zoë Ångström", "Grace Hopper", "José Núñez", "Søren Kierkegaard"]
    accounts = []
    for number, name in enumerate(names):
        customer = bank.register_customer(name, f"ID-{number:06d}")
        accounts.append(bank.open_account(customer, f"{1000 + 250 * number}.00"))
    accounts.append(bank.open_account("cust-0042", "75.50"))
    busy = accounts[1]
    bank.deposit(busy, "500.00", "Paycheck")
    keyed = bank.deposit(busy, "5000.00", "Paycheck")  # 500 keyed as 5000
    assert keyed > 0
    deposit = [e for e in bank.store.read_stream(busy) if e.type == "money.deposited"][-1]
    bank.reverse(busy, deposit.event_id, "Keyed 5000 instead of 500")
    bank.place_hold(busy, "300.00", "Cheque clearing")
    bank.transfer(busy, accounts[2], "120.00", "Rent share")
    qtbot.waitUntil(lambda: window.accounts_proxy.rowCount() == len(accounts), timeout=10_000)
    assert window.select_account(busy)
    qtbot.waitUntil(lambda: window.ledger_model.rowCount() == 6, timeout=10_000)
    window.ledger_table.setFocus()
    window.ledger_table.selectRow(2)
    qtbot.wait(50)  # one paint of the selection
    keep(window.grab().toImage(), tmp_path, "teller-window.png")

    press(qtbot, Qt.Key.Key_J, CTRL)
    dialog = active_dialog(qtbot)
    assert isinstance(dialog, JournalDialog)
    qtbot.waitUntil(lambda: dialog.journal is not None, timeout=10_000)
    keep(dialog.grab().toImage(), tmp_path, "journal.png")
