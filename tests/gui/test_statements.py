"""Statement files (CSV, PDF) and the export dialog, driven by keyboard like a clerk would."""

from __future__ import annotations

import csv
import os
import re
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QDate, Qt
from PySide6.QtPdf import QPdfDocument
from PySide6.QtWidgets import QApplication, QFileDialog
from pytestqt.qtbot import QtBot

from bank_desktop.application import BankService
from bank_desktop.application.projections import (
    Ledger,
    LedgerEntry,
    Statement,
    load_ledger,
    statement,
)
from bank_desktop.domain import format_money
from bank_desktop.eventstore import StoreUnavailableError, open_store
from bank_desktop.eventstore.port import EventStore
from bank_desktop.gui import statements
from bank_desktop.gui.statement_dialog import StatementDialog, period_bounds
from bank_desktop.gui.statements import (
    CSV_COLUMNS,
    period_text,
    plain_amount,
    render_pdf,
    write_csv,
    write_pdf,
)
from bank_desktop.gui.workers import running_count

CTRL = Qt.KeyboardModifier.ControlModifier
MARCH = period_bounds(date(2026, 3, 1), date(2026, 3, 31))


def local(day: str, hour: int = 12) -> datetime:
    """A moment in the machine's time zone, where the dialog's dates are read."""
    return datetime.fromisoformat(f"{day}T{hour:02d}:00").astimezone()


# ── a real account, folded from real events ─────────────────────────────────────────────


class SetClock:
    def __init__(self) -> None:
        self.now = local("2026-01-01")

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now


@pytest.fixture
def store() -> Iterator[EventStore]:
    opened = open_store("memory://")
    yield opened
    opened.close()


@pytest.fixture
def account(store: EventStore) -> str:
    """Opened in February with $1,000; March: in and out, a tricky description; April: more."""
    clock = SetClock()
    bank = BankService(store, "clerk-7", clock=clock)
    clock.now = local("2026-02-10")
    account_id = bank.open_account("cust-42", "1000.00")
    bank.deposit(account_id, "234.56", "Salary")
    clock.now = local("2026-03-01", 0)  # the very first moment of the period
    bank.withdraw(account_id, "30.00", 'Rent, "March"')
    clock.now = local("2026-03-15")
    bank.deposit(account_id, "1234.56", '=HYPERLINK("http://evil")')
    other = bank.open_account("cust-43", "50.00")
    clock.now = local("2026-03-20")
    bank.transfer(account_id, other, "100.01", "Loan")
    clock.now = local("2026-03-31", 23)
    bank.withdraw(account_id, "0.99", "+fee")
    clock.now = local("2026-04-01", 0)  # first moment after the period: not in it
    bank.deposit(account_id, "5.00", "April")
    return account_id


@pytest.fixture
def march(store: EventStore, account: str) -> Statement:
    return statement(load_ledger(store, account), *MARCH)


def long_statement(count: int, account_id: str = "account-LONG") -> Statement:
    ledger = Ledger(account_id)
    balance = Decimal("500.00")
    start = datetime(2026, 5, 1, tzinfo=UTC)
    for index in range(count):
        amount = Decimal(index % 7 * 10 - 25) + Decimal("0.50")
        balance += amount
        ledger.entries.append(
            LedgerEntry(
                account_id=account_id,
                stream_position=index + 1,
                global_position=index + 1,
                occurred_at=start + timedelta(hours=index),
                kind="deposit" if amount > 0 else "withdrawal",
                description=f"Payment number {index}" + " with a long text" * (index % 5),
                amount=amount,
                balance=balance,
                clerk_id="clerk-1",
                counterparty_account_id=None,
                transfer_id=None,
                event_id=f"event-{index}",
            )
        )
    return statement(ledger, start, start + timedelta(days=365))


def read_csv(path: Path) -> tuple[dict[str, str], list[dict[str, str]]]:
    with path.open(encoding="utf-8-sig", newline="") as file:
        rows = list(csv.reader(file))
    blank = rows.index([])
    header = {row[0]: row[1] for row in rows[:blank]}
    assert tuple(rows[blank + 1]) == CSV_COLUMNS
    entries = [dict(zip(CSV_COLUMNS, row, strict=True)) for row in rows[blank + 2 :]]
    return header, entries


def pdf_pages(path: Path) -> list[str]:
    document = QPdfDocument()
    assert document.load(str(path)) == QPdfDocument.Error.None_
    pages = [document.getAllText(page).text() for page in range(document.pageCount())]
    document.close()
    return pages


# ── CSV ──────────────────────────────────────────────────────────────────────────────────


def test_csv_round_trips_exact_balances_and_amounts(march: Statement, tmp_path: Path) -> None:
    path = tmp_path / "march.csv"

    write_csv(march, path, customer_id="cust-42")

    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 with a BOM, for Excel
    header, entries = read_csv(path)
    assert header["Account"] == march.account_id
    assert header["Customer"] == "cust-42"
    assert header["Period"] == "2026-03-01 to 2026-03-31"
    assert header["Opening balance"] == "1234.56"
    assert header["Closing balance"] == "2338.12"
    assert header["Total in"] == "1234.56"
    assert header["Total out"] == "131.00"
    assert [e["Amount"] for e in entries] == ["-30.00", "1234.56", "-100.01", "-0.99"]
    assert [e["Balance"] for e in entries] == ["1204.56", "2439.12", "2339.11", "2338.12"]
    opening, closing = Decimal(header["Opening balance"]), Decimal(header["Closing balance"])
    assert opening + sum(Decimal(e["Amount"]) for e in entries) == closing
    assert closing == march.closing_balance
    transfer = entries[2]
    assert transfer["Type"] == "Transfer out"
    assert transfer["Counterpart"].startswith("account-")
    assert transfer["Clerk"] == "clerk-7"
    assert all(e["Event id"] for e in entries)
    assert datetime.fromisoformat(entries[0]["Date/time"]) == local("2026-03-01", 0)


def test_csv_keeps_commas_and_quotes_and_disarms_formulas(march: Statement, tmp_path: Path) -> None:
    path = tmp_path / "march.csv"
    write_csv(march, path)

    _, entries = read_csv(path)

    descriptions = [e["Description"] for e in entries]
    assert descriptions[0] == 'Rent, "March"'
    assert descriptions[1] == '\'=HYPERLINK("http://evil")'
    assert descriptions[3] == "'+fee"
    assert entries[0]["Amount"] == "-30.00"  # numbers stay numbers: no quote before a minus
    assert statements.safe_cell("-1+1") == "'-1+1"
    assert statements.safe_cell("@SUM(A1)") == "'@SUM(A1)"
    assert statements.safe_cell("Plain text") == "Plain text"


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        ("1234.56", "1234.56"),
        ("-30", "-30.00"),
        ("-0.00", "0.00"),
        ("1000000.1", "1000000.10"),
        ("0.001", "0.001"),  # never rounds away what it was given
    ],
)
def test_plain_amounts_have_no_symbol_or_grouping(amount: str, text: str) -> None:
    assert plain_amount(Decimal(amount)) == text


def test_period_text_reads_whole_days_inclusively(march: Statement) -> None:
    assert period_text(march) == "2026-03-01 to 2026-03-31"
    one_day = Statement(
        "a",
        *period_bounds(date(2026, 3, 2), date(2026, 3, 2)),
        Decimal(0),
        Decimal(0),
        (),
    )
    assert period_text(one_day) == "2026-03-02"
    odd = Statement(
        "a", local("2026-03-02", 9), local("2026-03-02", 17), Decimal(0), Decimal(0), ()
    )
    assert period_text(odd) == "2026-03-02 09:00 to 2026-03-02 17:00 (end excluded)"


def test_a_failed_write_leaves_the_old_file_and_no_temporary(
    march: Statement, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "march.csv"
    path.write_text("the previous statement")

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        write_csv(march, path)

    assert path.read_text() == "the previous statement"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["march.csv"]


# ── PDF ──────────────────────────────────────────────────────────────────────────────────


def test_pdf_has_the_facts_and_the_entries(
    qapp: QApplication, march: Statement, tmp_path: Path
) -> None:
    path = tmp_path / "march.pdf"

    write_pdf(march, path, customer_id="cust-42", bank_name="First Desk Bank")

    assert path.read_bytes().startswith(b"%PDF")
    (text,) = pdf_pages(path)
    for expected in (
        "First Desk Bank",
        march.account_id,
        "cust-42",
        "2026-03-01 to 2026-03-31",
        "$1,234.56",  # opening
        "$2,338.12",  # closing
        'Rent, "March"',
        "-$100.01",
        "Page 1 of 1",
    ):
        assert expected in text


def test_long_pdf_breaks_into_numbered_pages(qapp: QApplication, tmp_path: Path) -> None:
    long = long_statement(200)
    path = tmp_path / "long.pdf"

    write_pdf(long, path)

    pages = pdf_pages(path)
    assert len(pages) > 1
    page_objects = re.findall(rb"/Type\s*/Page(?!s)", path.read_bytes())
    assert len(page_objects) == len(pages)  # the file's own page objects agree with QtPdf
    assert all(f"Page {n} of {len(pages)}" in page for n, page in enumerate(pages, start=1))
    assert all("Description" in page for page in pages)  # the column heads on every page
    text = "\n".join(pages)
    assert "Payment number 0" in text
    assert "Payment number 199" in text
    assert "Closing balance" in pages[-1]
    assert format_money(long.closing_balance) in pages[-1]


def test_empty_period_says_so(qapp: QApplication, tmp_path: Path) -> None:
    empty = Statement("account-EMPTY", *MARCH, Decimal("12.00"), Decimal("12.00"), ())
    path = tmp_path / "empty.pdf"

    write_pdf(empty, path)

    (text,) = pdf_pages(path)
    assert "No transactions in this period." in text
    assert "$12.00" in text


def test_pdf_can_be_written_from_a_worker_thread(qapp: QApplication, tmp_path: Path) -> None:
    long = long_statement(120)
    outcome: list[BaseException | None] = []

    def work() -> None:
        try:
            write_pdf(long, tmp_path / "threaded.pdf", customer_id="cust-1")
            write_csv(long, tmp_path / "threaded.csv")
        except BaseException as exc:
            outcome.append(exc)
        else:
            outcome.append(None)

    worker = threading.Thread(target=work)
    worker.start()
    worker.join(timeout=60)

    assert outcome == [None]
    assert len(pdf_pages(tmp_path / "threaded.pdf")) > 1
    assert (tmp_path / "threaded.csv").stat().st_size > 0
    # Rendering on this (the GUI) thread gives the same pages: nothing depends on the thread.
    (tmp_path / "here.pdf").write_bytes(render_pdf(long, customer_id="cust-1"))
    assert pdf_pages(tmp_path / "here.pdf") == pdf_pages(tmp_path / "threaded.pdf")


# ── the dialog ───────────────────────────────────────────────────────────────────────────


def press(
    qtbot: QtBot, key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier
) -> None:
    target = QApplication.focusWidget()
    assert target is not None
    qtbot.keyClick(target, key, modifier)


def type_text(qtbot: QtBot, text: str) -> None:
    target = QApplication.focusWidget()
    assert target is not None
    qtbot.keyClicks(target, text)


def focus_name() -> str:
    widget = QApplication.focusWidget()
    return widget.objectName() if widget is not None else ""


@pytest.fixture
def open_dialog(
    qtbot: QtBot, tmp_path: Path, store: EventStore, account: str
) -> Iterator[Callable[..., StatementDialog]]:
    """Opens the dialog the way the window does (``open()``), and waits for focus."""
    dialogs: list[StatementDialog] = []

    def make(load: Callable[[], Ledger] | None = None) -> StatementDialog:
        dialog = StatementDialog(
            account,
            load or (lambda: load_ledger(store, account)),
            customer_id="cust-42",
            default_directory=tmp_path,
        )
        dialogs.append(dialog)
        with qtbot.waitActive(dialog):
            dialog.open()
            dialog.activateWindow()
        qtbot.waitUntil(lambda: focus_name() == "statementFromEdit")
        return dialog

    yield make
    qtbot.waitUntil(lambda: running_count() == 0, timeout=10_000)
    for dialog in dialogs:  # not qtbot.addWidget: a test may delete its dialog, as the window does
        if shiboken6.isValid(dialog):
            dialog.close()
            dialog.deleteLater()


def enter_march(qtbot: QtBot) -> None:
    """Type the period into both date fields; digits fill a section and move on."""
    type_text(qtbot, "20260301")
    press(qtbot, Qt.Key.Key_Tab)  # Tab leaves a date at once (no walk through its sections)
    assert focus_name() == "statementToEdit"
    type_text(qtbot, "20260331")
    press(qtbot, Qt.Key.Key_Tab)
    assert focus_name() == "statementFormatCombo"


def test_defaults_are_this_month_to_today_as_pdf(
    open_dialog: Callable[..., StatementDialog], tmp_path: Path, account: str
) -> None:
    dialog = open_dialog()

    today = QDate.currentDate()
    assert dialog.from_edit.date() == QDate(today.year(), today.month(), 1)
    assert dialog.to_edit.date() == today
    assert dialog.format_combo.currentText() == "PDF"
    first = today.addDays(1 - today.day()).toString("yyyy-MM-dd")
    expected = tmp_path / f"statement-{account}-{first}-{today.toString('yyyy-MM-dd')}.pdf"
    assert dialog.path_edit.text() == str(expected)
    assert dialog.export_button.isDefault()
    assert dialog.error_label.objectName() == "formError"
    assert dialog.error_label.text() == ""


def test_keyboard_export_of_a_csv(
    open_dialog: Callable[..., StatementDialog], qtbot: QtBot, tmp_path: Path, account: str
) -> None:
    dialog = open_dialog()
    enter_march(qtbot)
    assert dialog.path_edit.text() == str(
        tmp_path / f"statement-{account}-2026-03-01-2026-03-31.pdf"
    )  # the suggested name follows the dates
    press(qtbot, Qt.Key.Key_Down)  # PDF -> CSV
    assert dialog.path_edit.text().endswith("2026-03-31.csv")
    press(qtbot, Qt.Key.Key_Tab)
    assert focus_name() == "statementPathEdit"
    press(qtbot, Qt.Key.Key_A, CTRL)
    type_text(qtbot, "march")  # a bare name: the default folder and the format's extension

    with qtbot.waitSignal(dialog.exported, timeout=10_000) as exported:
        press(qtbot, Qt.Key.Key_Return)

    path = tmp_path / "march.csv"
    assert exported.args == [path]
    assert dialog.result() == dialog.DialogCode.Accepted
    assert not dialog.isVisible()
    header, entries = read_csv(path)
    assert header["Opening balance"] == "1234.56"
    assert header["Closing balance"] == "2338.12"
    assert header["Customer"] == "cust-42"
    assert len(entries) == 4


def test_keyboard_export_of_a_pdf_with_the_suggested_name(
    open_dialog: Callable[..., StatementDialog], qtbot: QtBot, tmp_path: Path, account: str
) -> None:
    dialog = open_dialog()
    enter_march(qtbot)

    with qtbot.waitSignal(dialog.exported, timeout=10_000):
        press(qtbot, Qt.Key.Key_Enter)

    path = tmp_path / f"statement-{account}-2026-03-01-2026-03-31.pdf"
    (text,) = pdf_pages(path)
    assert "$1,234.56" in text
    assert "$2,338.12" in text
    assert "April" not in text


def test_a_failing_load_shows_the_error_and_keeps_the_input(
    open_dialog: Callable[..., StatementDialog], qtbot: QtBot, tmp_path: Path
) -> None:
    def unreachable() -> Ledger:
        raise StoreUnavailableError("connection refused")

    dialog = open_dialog(unreachable)
    enter_march(qtbot)
    typed = dialog.path_edit.text()

    press(qtbot, Qt.Key.Key_Return)

    qtbot.waitUntil(lambda: "not reachable" in dialog.error_label.text(), timeout=10_000)
    assert dialog.isVisible()
    assert dialog.export_button.isEnabled()
    assert dialog.path_edit.text() == typed
    assert dialog.from_edit.date() == QDate(2026, 3, 1)
    assert list(tmp_path.iterdir()) == []


def test_the_export_button_is_disabled_while_exporting(
    open_dialog: Callable[..., StatementDialog],
    qtbot: QtBot,
    store: EventStore,
    account: str,
) -> None:
    release = threading.Event()

    def slow() -> Ledger:
        release.wait(10)
        return load_ledger(store, account)

    dialog = open_dialog(slow)
    press(qtbot, Qt.Key.Key_Return)
    assert dialog.in_flight
    assert not dialog.export_button.isEnabled()
    press(qtbot, Qt.Key.Key_Return)  # a second Enter starts nothing more
    assert running_count() == 1

    with qtbot.waitSignal(dialog.exported, timeout=10_000):
        release.set()


def test_escape_cancels(open_dialog: Callable[..., StatementDialog], qtbot: QtBot) -> None:
    dialog = open_dialog()

    with qtbot.waitSignal(dialog.rejected):
        press(qtbot, Qt.Key.Key_Escape)

    assert not dialog.isVisible()


def test_escape_during_an_export_writes_nothing(
    open_dialog: Callable[..., StatementDialog],
    qtbot: QtBot,
    store: EventStore,
    account: str,
    tmp_path: Path,
) -> None:
    release = threading.Event()

    def slow() -> Ledger:
        release.wait(10)
        return load_ledger(store, account)

    dialog = open_dialog(slow)
    exported: list[Path] = []
    dialog.exported.connect(exported.append)
    press(qtbot, Qt.Key.Key_Return)
    press(qtbot, Qt.Key.Key_Escape)
    assert not dialog.isVisible()

    release.set()
    qtbot.waitUntil(lambda: running_count() == 0, timeout=10_000)
    assert exported == []
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("path_text", "message"),
    [
        ("", "Choose a file"),
        ("no-such-folder/statement.pdf", "does not exist"),
    ],
)
def test_a_missing_path_or_folder_is_refused_before_anything_runs(
    open_dialog: Callable[..., StatementDialog], qtbot: QtBot, path_text: str, message: str
) -> None:
    dialog = open_dialog()
    for _ in range(3):
        press(qtbot, Qt.Key.Key_Tab)  # from -> to -> format -> path
    assert focus_name() == "statementPathEdit"
    press(qtbot, Qt.Key.Key_A, CTRL)
    press(qtbot, Qt.Key.Key_Delete)
    type_text(qtbot, path_text)

    press(qtbot, Qt.Key.Key_Return)

    assert message in dialog.error_label.text()
    assert running_count() == 0
    assert dialog.isVisible()
    assert focus_name() == "statementPathEdit"


def test_a_period_that_ends_before_it_starts_is_refused(
    open_dialog: Callable[..., StatementDialog], qtbot: QtBot
) -> None:
    dialog = open_dialog()
    type_text(qtbot, "20260331")
    press(qtbot, Qt.Key.Key_Tab)
    type_text(qtbot, "20260301")

    press(qtbot, Qt.Key.Key_Return)

    assert dialog.error_label.text() == "The start date must be on or before the end date."
    assert running_count() == 0
    assert focus_name() == "statementFromEdit"


def test_changing_the_format_switches_a_typed_extension_only(
    open_dialog: Callable[..., StatementDialog], tmp_path: Path
) -> None:
    dialog = open_dialog()
    dialog.path_edit.setText(str(tmp_path / "mine.PDF"))
    dialog.format_combo.setCurrentText("CSV")
    assert dialog.path_edit.text() == str(tmp_path / "mine.csv")
    dialog.path_edit.setText(str(tmp_path / "notes.txt"))
    dialog.format_combo.setCurrentText("PDF")
    assert dialog.path_edit.text() == str(tmp_path / "notes.txt")  # the clerk's own choice


def test_browse_opens_a_file_dialog_without_blocking(
    open_dialog: Callable[..., StatementDialog], qtbot: QtBot, tmp_path: Path
) -> None:
    dialog = open_dialog()
    dialog.browse_button.setFocus()
    press(qtbot, Qt.Key.Key_Space)  # returns at once: the file dialog was opened, not exec'd

    chooser = dialog.findChild(QFileDialog, "statementFileDialog")
    assert chooser is not None
    qtbot.waitUntil(chooser.isVisible)
    assert chooser.acceptMode() == QFileDialog.AcceptMode.AcceptSave
    chosen = tmp_path / "chosen.pdf"
    chooser.fileSelected.emit(str(chosen))  # what the file dialog does when the clerk picks
    chooser.reject()

    assert dialog.path_edit.text() == str(chosen)
    assert dialog.isVisible()


def test_a_dialog_deleted_during_an_export_is_left_alone(
    open_dialog: Callable[..., StatementDialog],
    qtbot: QtBot,
    store: EventStore,
    account: str,
    tmp_path: Path,
) -> None:
    release = threading.Event()

    def slow() -> Ledger:
        release.wait(10)
        return load_ledger(store, account)

    dialog = open_dialog(slow)
    press(qtbot, Qt.Key.Key_Return)
    press(qtbot, Qt.Key.Key_Escape)
    destroyed: list[bool] = []
    dialog.destroyed.connect(lambda: destroyed.append(True))
    dialog.deleteLater()  # what the window does when a form finishes
    qtbot.waitUntil(lambda: bool(destroyed))

    release.set()
    qtbot.waitUntil(lambda: running_count() == 0, timeout=10_000)
    assert list(tmp_path.iterdir()) == []


def test_a_cancelled_export_does_not_disturb_the_next_one(
    open_dialog: Callable[..., StatementDialog],
    qtbot: QtBot,
    store: EventStore,
    account: str,
) -> None:
    release = threading.Event()

    def slow() -> Ledger:
        release.wait(10)
        return load_ledger(store, account)

    dialog = open_dialog(slow)
    exported: list[Path] = []
    dialog.exported.connect(exported.append)
    press(qtbot, Qt.Key.Key_Return)
    press(qtbot, Qt.Key.Key_Escape)
    with qtbot.waitActive(dialog):
        dialog.open()  # the clerk opens it again at once
        dialog.activateWindow()
    dialog.export_button.setFocus()
    press(qtbot, Qt.Key.Key_Return)  # the first export is still reading

    with qtbot.waitSignal(dialog.accepted, timeout=10_000):
        release.set()

    qtbot.waitUntil(lambda: running_count() == 0, timeout=10_000)
    assert len(exported) == 1
    assert exported[0].exists()
    assert dialog.error_label.text() == ""


# ── dates as a clerk types them ───────────────────────────────────────────────────────────


@pytest.mark.x11
def test_a_date_typed_as_shown_is_taken(
    open_dialog: Callable[..., StatementDialog], qtbot: QtBot
) -> None:
    dialog = open_dialog()
    type_text(qtbot, "2026-08-01")  # exactly as the field displays dates
    press(qtbot, Qt.Key.Key_Tab)
    assert focus_name() == "statementToEdit"
    assert dialog.from_edit.date() == QDate(2026, 8, 1)
    type_text(qtbot, "2026-8-31")  # without leading zeros
    press(qtbot, Qt.Key.Key_Tab)
    assert dialog.to_edit.date() == QDate(2026, 8, 31)
    assert dialog.to_edit.text() == "2026-08-31"  # shown as it will be read


def test_digits_replace_the_date_wherever_the_cursor_was(
    open_dialog: Callable[..., StatementDialog], qtbot: QtBot
) -> None:
    dialog = open_dialog()
    press(qtbot, Qt.Key.Key_Tab)  # to the end date, then back: the whole date is selected
    press(qtbot, Qt.Key.Key_Backtab)
    assert focus_name() == "statementFromEdit"
    type_text(qtbot, "20260801")
    press(qtbot, Qt.Key.Key_Tab)
    assert dialog.from_edit.date() == QDate(2026, 8, 1)


@pytest.mark.x11
def test_the_calendar_popup_picks_a_date_by_keyboard(
    open_dialog: Callable[..., StatementDialog], qtbot: QtBot
) -> None:
    dialog = open_dialog()
    type_text(qtbot, "2026-08-01")
    press(qtbot, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)
    calendar = dialog.from_edit.calendar()  # type: ignore[attr-defined]
    qtbot.waitUntil(calendar.isVisible)
    assert calendar.selectedDate() == QDate(2026, 8, 1)
    qtbot.waitUntil(lambda: calendar.isAncestorOf(QApplication.focusWidget()))
    press(qtbot, Qt.Key.Key_Right)  # the next day
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not calendar.isVisible())
    assert dialog.from_edit.date() == QDate(2026, 8, 2)
    assert focus_name() == "statementFromEdit"
    assert dialog.isVisible()

    press(qtbot, Qt.Key.Key_F4)  # again, and Esc closes only the calendar
    qtbot.waitUntil(lambda: calendar.isAncestorOf(QApplication.focusWidget()))
    press(qtbot, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: focus_name() == "statementFromEdit")
    assert not calendar.isVisible()
    assert dialog.isVisible()
    assert dialog.from_edit.date() == QDate(2026, 8, 2)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Enter the start date"),
        ("2026-13-01", "is not a date"),
        ("yesterday", "is not a date"),
    ],
)
def test_a_missing_or_unreadable_date_is_refused_in_the_form(
    open_dialog: Callable[..., StatementDialog], qtbot: QtBot, typed: str, message: str
) -> None:
    dialog = open_dialog()
    press(qtbot, Qt.Key.Key_A, CTRL)
    press(qtbot, Qt.Key.Key_Delete)
    type_text(qtbot, typed)
    press(qtbot, Qt.Key.Key_Return)
    assert message in dialog.error_label.text()
    assert running_count() == 0
    assert focus_name() == "statementFromEdit"
    assert dialog.isVisible()
