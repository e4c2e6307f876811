"""The end-of-day journal in the window, by keyboard: Ctrl+J, a day and a clerk, the lines,
totals by kind and balance sums that reconcile; saved as PDF and CSV."""

from __future__ import annotations

import csv
from datetime import date, datetime, time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtPdf import QPdfDocument
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from bank_desktop.application import BankService
from bank_desktop.gui.journal_dialog import JournalDialog
from bank_desktop.gui.main_window import MainWindow
from bank_desktop.gui.models.journal import ACCOUNT, AMOUNT, CUSTOMER, KIND
from tests.gui.conftest import (
    ALT,
    CTRL,
    active_dialog,
    focused,
    gone,
    press,
    replace_text,
    type_text,
)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 10, 0).astimezone()

    def __call__(self) -> datetime:
        return self.now

    def at(self, day: int, hour: int) -> None:
        self.now = datetime.combine(date(2026, 3, day), time(hour)).astimezone()


def a_day_at_two_desks(window: MainWindow) -> tuple[str, str]:
    """Two clerks' work over three days; 2026-03-02 is the day the tests read."""
    clock = Clock()
    store = window._context.store
    seven = BankService(store, clerk_id="clerk-7", clock=clock)
    nine = BankService(store, clerk_id="clerk-9", clock=clock)
    ada = seven.register_customer("Ada Lovelace", "AB123456")
    first = seven.open_account(ada, "100")
    second = nine.open_account("cust-2", "50")
    clock.at(2, 9)
    seven.deposit(first, "500", "Paycheck")
    nine.withdraw(second, "20", "Cash")
    seven.transfer(first, second, "30", "Rent")
    deposit = next(e for e in store.read_stream(first) if e.type == "money.deposited")
    seven.reverse(first, deposit.event_id, "Keyed twice")
    nine.place_hold(second, "10", "Cheque clearing")
    clock.at(3, 9)
    seven.deposit(first, "7")
    return first, second


def shown_lines(dialog: JournalDialog) -> list[tuple[str, str, str, str]]:
    model = dialog.lines_model
    return [
        tuple(str(model.index(row, column).data()) for column in (ACCOUNT, CUSTOMER, KIND, AMOUNT))  # type: ignore[misc]
        for row in range(model.rowCount())
    ]


def balance_texts(dialog: JournalDialog) -> str:
    return " ".join(label.text() for label in dialog.findChildren(QLabel))


@pytest.mark.x11
def test_a_days_journal_for_every_clerk_then_one_reconciles(
    qtbot: QtBot, window: MainWindow
) -> None:
    first, second = a_day_at_two_desks(window)
    qtbot.waitUntil(lambda: window.accounts_proxy.row_of(second) is not None)

    press(qtbot, Qt.Key.Key_J, CTRL)
    dialog = active_dialog(qtbot)
    assert isinstance(dialog, JournalDialog)
    focused(qtbot, "journalDateEdit")
    qtbot.waitUntil(lambda: not dialog.loading, timeout=10_000)  # today's, first
    type_text(qtbot, "2026-03-02")
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(
        lambda: dialog.journal is not None and dialog.journal.day == date(2026, 3, 2),
        timeout=10_000,
    )
    lines = shown_lines(dialog)
    assert (first, "Ada Lovelace", "Deposit", "$500.00") in lines
    assert (second, "cust-2", "Withdrawal", "-$20.00") in lines
    assert (first, "Ada Lovelace", "Reversal", "-$500.00") in lines
    assert (second, "cust-2", "Hold placed", "held $10.00") in lines
    assert len(lines) == 6  # deposit, withdrawal, two transfer legs, reversal, hold
    journal = dialog.journal
    assert journal is not None
    assert journal.opening_total == 150
    assert journal.closing_total == 130
    assert journal.reconciles
    summary = dialog.findChild(QLabel, "journalSummary")
    assert summary is not None
    assert "2026-03-02" in summary.text()
    assert "reconciled" in summary.text()
    totals = dialog.totals_model
    rows = {
        totals.index(r, 0).data(): (totals.index(r, 1).data(), totals.index(r, 2).data())
        for r in range(totals.rowCount())
    }
    assert rows["Deposits"] == ("1", "$500.00")
    assert rows["Reversals"] == ("1", "-$500.00")
    assert rows["Holds placed"] == ("1", "$10.00 held")
    assert rows["Transfers taking part"] == ("1", "")
    texts = balance_texts(dialog)
    assert "$150.00" in texts
    assert "$130.00" in texts

    press(qtbot, Qt.Key.Key_Tab)
    focused(qtbot, "journalClerkEdit")
    type_text(qtbot, "clerk-9")
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(
        lambda: dialog.journal is not None and dialog.journal.clerk_id == "clerk-9",
        timeout=10_000,
    )
    assert [line[2] for line in shown_lines(dialog)] == ["Withdrawal", "Hold placed"]
    assert dialog.journal.reconciles
    assert dialog.journal.others_net == 0  # +500 -500 and a transfer between two accounts
    assert "Net of the other clerks' lines" in " ".join(
        label.text() for label in dialog.findChildren(QLabel)
    )
    press(qtbot, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: gone(dialog))


def test_the_journal_saves_as_pdf_and_csv_by_keyboard(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    a_day_at_two_desks(window)
    press(qtbot, Qt.Key.Key_J, CTRL)
    dialog = active_dialog(qtbot)
    assert isinstance(dialog, JournalDialog)
    focused(qtbot, "journalDateEdit")
    type_text(qtbot, "2026-03-02")
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(
        lambda: dialog.journal is not None and dialog.journal.day == date(2026, 3, 2),
        timeout=10_000,
    )
    assert dialog.path_edit.text().endswith("journal-2026-03-02")
    dialog.path_edit.setFocus()
    focused(qtbot, "journalPathEdit")
    replace_text(qtbot, str(tmp_path / "march-2"))

    press(qtbot, Qt.Key.Key_P, ALT)
    pdf = tmp_path / "march-2.pdf"
    qtbot.waitUntil(lambda: pdf.exists() and not dialog.saving, timeout=15_000)
    document = QPdfDocument()
    assert document.load(str(pdf)) == QPdfDocument.Error.None_
    text = document.getAllText(0).text()
    document.close()
    assert "End-of-day journal" in text
    assert "2026-03-02" in text
    assert "Ada Lovelace" in text
    assert "Reconciles yes" in " ".join(text.split())
    assert "Journal saved to" in window.statusBar().currentMessage()

    press(qtbot, Qt.Key.Key_V, ALT)
    saved = tmp_path / "march-2.csv"
    qtbot.waitUntil(lambda: saved.exists() and not dialog.saving, timeout=15_000)
    with saved.open(encoding="utf-8-sig", newline="") as file:
        rows = list(csv.reader(file))
    assert rows[0][:3] == ["time", "account", "kind"]
    assert ["reconciles", "yes"] in rows
    assert ["balances at start", "150.00"] in rows


def test_a_day_that_is_not_a_date_is_refused_in_the_dialog(
    qtbot: QtBot, window: MainWindow
) -> None:
    press(qtbot, Qt.Key.Key_J, CTRL)
    dialog = active_dialog(qtbot)
    assert isinstance(dialog, JournalDialog)
    focused(qtbot, "journalDateEdit")
    qtbot.waitUntil(lambda: not dialog.loading, timeout=10_000)
    replace_text(qtbot, "2026-02-30")
    press(qtbot, Qt.Key.Key_Return)
    assert "'2026-02-30' is not a date" in dialog.error_label.text()
    focused(qtbot, "journalDateEdit")


def test_the_journal_models_pass_the_model_tester(
    qtbot: QtBot,
    qtmodeltester,  # type: ignore[no-untyped-def]
    window: MainWindow,
) -> None:
    a_day_at_two_desks(window)
    press(qtbot, Qt.Key.Key_J, CTRL)
    dialog = active_dialog(qtbot)
    assert isinstance(dialog, JournalDialog)
    focused(qtbot, "journalDateEdit")
    type_text(qtbot, "2026-03-02")
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.lines_model.rowCount() == 6, timeout=10_000)
    qtmodeltester.check(dialog.lines_model)
    qtmodeltester.check(dialog.totals_model)
