"""The ledger panel as of a date, by keyboard: Ctrl+G, a day typed as shown, the history and
balance at the end of that day; Esc goes back to live."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from bank_desktop.application import BankService
from bank_desktop.application.projections.as_of import end_of_day
from bank_desktop.gui.main_window import MainWindow
from bank_desktop.gui.models.ledger import TYPE
from tests.gui.conftest import CTRL, focused, press, replace_text, type_text


class Clock:
    """A clerk's clock set by the test, in the machine's local time (as days are cut)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 10, 0).astimezone()

    def __call__(self) -> datetime:
        return self.now

    def at(self, day: int, hour: int) -> None:
        self.now = datetime.combine(datetime(2026, 3, day).date(), time(hour)).astimezone()


def kinds(window: MainWindow) -> list[str]:
    model = window.ledger_model
    return [str(model.index(row, TYPE).data()) for row in range(model.rowCount())]


@pytest.mark.x11
def test_the_ledger_as_of_a_day_and_back_to_live(qtbot: QtBot, window: MainWindow) -> None:
    clock = Clock()
    desk = BankService(window._context.store, clerk_id="clerk-9", clock=clock)
    account = desk.open_account("cust-1", "100")
    clock.at(2, 9)
    desk.deposit(account, "50", "Paycheck")
    clock.at(2, 17)
    desk.place_hold(account, "30", "Cheque clearing")
    clock.at(5, 11)
    desk.withdraw(account, "20", "Cash")
    qtbot.waitUntil(lambda: window.accounts_proxy.row_of(account) is not None)
    assert window.select_account(account)
    qtbot.waitUntil(lambda: window.ledger_model.rowCount() == 4)

    press(qtbot, Qt.Key.Key_G, CTRL)
    focused(qtbot, "asOfEdit")
    type_text(qtbot, "2026-03-01")
    qtbot.waitUntil(lambda: kinds(window) == ["Opened"])
    title = window.ledger_title.text()
    assert f"{account} · cust-1 · as of the end of 2026-03-01: balance $100.00" == title

    replace_text(qtbot, "2026-03-02")
    qtbot.waitUntil(lambda: kinds(window) == ["Opened", "Deposit", "Hold placed"])
    assert window.ledger_title.text().endswith(
        "as of the end of 2026-03-02: balance $150.00 · available $120.00"
    )
    assert window.chart.series.count() == 5  # the chart too: three lines, two points a step

    window._context.bank.deposit(account, "5")  # live news does not disturb the view
    qtbot.waitUntil(lambda: window.accounts_model.projection.get(account).balance == 135)  # type: ignore[union-attr]
    qtbot.wait(100)
    assert kinds(window) == ["Opened", "Deposit", "Hold placed"]

    replace_text(qtbot, "2026-02-28")
    qtbot.waitUntil(lambda: kinds(window) == [])
    assert window.ledger_title.text().endswith("not opened yet")

    press(qtbot, Qt.Key.Key_Escape)  # back to live
    qtbot.waitUntil(lambda: len(kinds(window)) == 5)
    assert "balance $135.00" in window.ledger_title.text()
    assert "as of" not in window.ledger_title.text()


def test_enter_in_the_date_goes_on_to_the_ledger_and_a_half_typed_day_waits(
    qtbot: QtBot, window: MainWindow
) -> None:
    clock = Clock()
    desk = BankService(window._context.store, clerk_id="clerk-9", clock=clock)
    account = desk.open_account("cust-1", "100")
    clock.at(3, 12)
    desk.deposit(account, "1")
    qtbot.waitUntil(lambda: window.accounts_proxy.row_of(account) is not None)
    assert window.select_account(account)
    qtbot.waitUntil(lambda: window.ledger_model.rowCount() == 2)
    press(qtbot, Qt.Key.Key_G, CTRL)
    focused(qtbot, "asOfEdit")
    type_text(qtbot, "2026-03-0")  # not a day yet: the ledger stays live
    assert window.ledger_model.rowCount() == 2
    type_text(qtbot, "2")
    qtbot.waitUntil(lambda: window.ledger_model.rowCount() == 1)
    press(qtbot, Qt.Key.Key_Return)
    focused(qtbot, "transactionsTable")
    shown = window.accounts_page.as_of
    assert shown is not None
    assert shown.moment == end_of_day(date(2026, 3, 2))  # local midnight after the day
