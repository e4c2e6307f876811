"""Smaller things a busy counter notices: whole titles, tidy amounts, an honest close form,
and F1 that lists every key."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QLabel, QLineEdit, QTableWidget
from pytestqt.qtbot import QtBot

from bank_desktop.application.bank_service import BankService
from bank_desktop.eventstore import open_store
from bank_desktop.gui.main_window import MainWindow
from tests.gui.conftest import (
    ALT,
    CTRL,
    SHIFT,
    active_dialog,
    balance,
    focused,
    gone,
    open_account,
    press,
    type_text,
)

#: Room a window manager's title bar takes beside the title: icon and three buttons.
TITLE_BAR_EXTRAS = 110


def title_fits(dialog: QDialog) -> bool:
    font = dialog.font()
    font.setBold(True)  # title bars often use a bold face: allow for it
    from PySide6.QtGui import QFontMetrics

    needed = QFontMetrics(font).horizontalAdvance(dialog.windowTitle()) + TITLE_BAR_EXTRAS
    return dialog.width() >= needed


@pytest.mark.parametrize(
    ("keys", "name"),
    [
        ((Qt.Key.Key_F2, Qt.KeyboardModifier.NoModifier), "deposit"),
        ((Qt.Key.Key_F3, Qt.KeyboardModifier.NoModifier), "withdraw"),
        ((Qt.Key.Key_F4, Qt.KeyboardModifier.NoModifier), "transfer"),
        ((Qt.Key.Key_X, CTRL | SHIFT), "close"),
        ((Qt.Key.Key_E, CTRL), "statement"),
        ((Qt.Key.Key_N, CTRL), "open"),
        ((Qt.Key.Key_Comma, CTRL), "settings"),
    ],
)
def test_dialog_titles_are_never_elided(
    qtbot: QtBot, window: MainWindow, keys: tuple[Qt.Key, Qt.KeyboardModifier], name: str
) -> None:
    open_account(qtbot, window, "customer-with-a-rather-long-name", "0")
    press(qtbot, *keys)
    dialog = active_dialog(qtbot)
    assert title_fits(dialog), (name, dialog.windowTitle(), dialog.width())
    press(qtbot, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: gone(dialog))


def test_typed_amounts_are_tidied_on_leaving_the_field(qtbot: QtBot, window: MainWindow) -> None:
    open_account(qtbot, window, "cust-1", "10")
    press(qtbot, Qt.Key.Key_F2)
    dialog = active_dialog(qtbot)
    amount = focused(qtbot, "amountEdit")
    assert isinstance(amount, QLineEdit)
    type_text(qtbot, "1250.5")
    press(qtbot, Qt.Key.Key_Tab)
    focused(qtbot, "descriptionEdit")
    assert amount.text() == "1,250.50"
    amount.setFocus()
    focused(qtbot, "amountEdit")
    press(qtbot, Qt.Key.Key_A, CTRL)
    type_text(qtbot, "12.345")  # refused: left as typed, so the clerk sees what to fix
    press(qtbot, Qt.Key.Key_Tab)
    assert amount.text() == "12.345"
    press(qtbot, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: gone(dialog))


def test_the_close_form_says_what_the_balance_is_and_waits_for_zero(
    qtbot: QtBot, window: MainWindow, store_url: str
) -> None:
    account = open_account(qtbot, window, "cust-1", "1050.50")
    head = window._context.store.head_position()
    press(qtbot, Qt.Key.Key_X, CTRL | SHIFT)
    dialog = active_dialog(qtbot)
    warning = dialog.findChild(QLabel, "closeWarning")
    assert warning is not None
    assert "$1,050.50" in warning.text()
    assert "must be zero" not in warning.text() or "is $1,050.50" in warning.text()
    assert not dialog.submit_button.isEnabled()  # type: ignore[attr-defined]
    focused(qtbot, "reasonEdit")
    press(qtbot, Qt.Key.Key_Return)  # nothing is sent
    assert window._context.store.head_position() == head

    desk = open_store(store_url)
    try:
        from bank_desktop.application import BankService

        BankService(desk, clerk_id="clerk-9").withdraw(account, "1050.50")
    finally:
        desk.close()
    qtbot.waitUntil(dialog.submit_button.isEnabled, timeout=3_000)  # type: ignore[attr-defined]
    assert "$1,050.50" not in warning.text()
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: gone(dialog))
    qtbot.waitUntil(lambda: balance(window, account) == Decimal("0.00"))
    row = window.accounts_model.projection.get(account)
    qtbot.waitUntil(lambda: row is not None and not row.is_open)


def test_f1_lists_the_tab_mnemonics_and_the_form_keys(
    qtbot: QtBot, make_window: Callable[..., MainWindow]
) -> None:
    make_window()
    press(qtbot, Qt.Key.Key_F1)
    dialog = active_dialog(qtbot)
    table = dialog.findChild(QTableWidget, "shortcutTable")
    assert table is not None
    rows = {
        table.item(r, 0).text(): table.item(r, 1).text()  # type: ignore[union-attr]
        for r in range(table.rowCount())
    }
    assert rows["Accounts tab"] == "Alt+A"
    assert rows["Event log tab"] == "Alt+L"
    assert rows["Next field in a form"] == "Tab"
    assert rows["Previous field in a form"] == "Shift+Tab"
    assert rows["Submit a form"] == "Enter"
    assert rows["Cancel a form"] == "Esc"
    assert rows["Calendar in a date field"] == "Alt+Down"
    press(qtbot, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: gone(dialog))


def test_the_empty_store_hint_goes_when_another_desk_opens_an_account(
    qtbot: QtBot, window: MainWindow
) -> None:
    """The hint to press Ctrl+N is about an empty store; once an account arrives live (opened
    at another desk) it must not go on telling the clerk the store is empty."""
    qtbot.waitUntil(lambda: "store is empty" in window.statusBar().currentMessage())
    other_desk = BankService(window._context.store, clerk_id="clerk-8")
    account = other_desk.open_account("cust-1", "10.00")
    qtbot.waitUntil(lambda: window.accounts_model.rowCount() == 1)
    assert account in window.accounts_model.index(0, 0).data()
    assert "store is empty" not in window.statusBar().currentMessage()


def test_a_store_with_only_staff_events_is_not_called_empty(
    qtbot: QtBot, make_window: Callable[..., MainWindow], store_url: str
) -> None:
    """A bank's first events are often its staff (an admin granting roles, issuing tokens)
    before any account: the window then says there are no accounts yet, not that the store is
    empty (a clerk who knows the admin set it up would think the wrong store is open)."""
    store = open_store(store_url)
    try:
        admin = BankService(store, clerk_id="admin-1")
        admin.grant_role("admin-1", "admin")
        admin.grant_role("sup-1", "supervisor")
    finally:
        store.close()
    window = make_window()
    qtbot.waitUntil(lambda: "Ctrl+N" in window.statusBar().currentMessage())
    message = window.statusBar().currentMessage()
    assert "empty" not in message
    assert message.startswith("No accounts yet")
    other_desk = BankService(window._context.store, clerk_id="clerk-8")
    other_desk.open_account("cust-1", "10.00")
    qtbot.waitUntil(lambda: window.accounts_model.rowCount() == 1)
    assert "Ctrl+N" not in window.statusBar().currentMessage()


def mnemonic(text: str) -> str:
    at = text.replace("&&", "").find("&")
    return "" if at < 0 else text.replace("&&", "")[at + 1].upper()


def test_no_menu_takes_a_tabs_alt_key(qtbot: QtBot, window: MainWindow) -> None:
    """A menu that takes a tab's letter (the Ledger menu took Alt+L from the Event log, the
    Account menu Alt+A from the Accounts tab) makes the key ambiguous: Qt hands each press to
    the next of them in turn, so the tab is reached only every other time."""
    keys = [mnemonic(window.tabs.tabText(at)) for at in range(window.tabs.count())]
    keys += [mnemonic(action.text()) for action in window.menuBar().actions()]
    taken = [key for key in keys if key]
    assert len(taken) == len(set(taken)), taken


def test_every_tab_mnemonic_reaches_its_tab(qtbot: QtBot, window: MainWindow) -> None:
    shown = [
        at
        for at in range(window.tabs.count())
        if window.tabs.isTabVisible(at) and window.tabs.isTabEnabled(at)
    ]  # the Approvals tab only for supervisors
    for at in shown:
        window.tabs.setCurrentIndex(next(other for other in shown if other != at))
        key = mnemonic(window.tabs.tabText(at))
        press(qtbot, getattr(Qt.Key, f"Key_{key}"), ALT)
        qtbot.waitUntil(lambda at=at: window.tabs.currentIndex() == at)


def test_demo_data_in_the_window_has_named_customers(
    qtbot: QtBot, make_window: Callable[..., MainWindow]
) -> None:
    """The window's sample history shows the teller's day: most holders are registered
    customers, so the table shows names and Ctrl+F finds them (as ``demo --customers``)."""
    window = make_window(demo_events=600)
    qtbot.waitUntil(lambda: len(window.accounts_model.projection) == 60, timeout=20_000)
    rows = list(window.accounts_model.projection)
    named = [row for row in rows if row.customer_name]
    assert len(named) >= len(rows) // 2
    window.fill_demo(300)
    qtbot.waitUntil(lambda: len(window.accounts_model.projection) == 90, timeout=20_000)
    later = [row for row in window.accounts_model.projection if row not in rows]
    assert sum(1 for row in later if row.customer_name) >= len(later) // 2


def test_the_filter_is_ready_before_the_first_keystroke(
    qtbot: QtBot, make_window: Callable[..., MainWindow]
) -> None:
    """The ids' joined search text is built by the loading worker: the clerk's first Ctrl+F
    keystroke at 100k accounts cost ~0.1 s more than every later one, joining it then."""
    window = make_window(demo_events=400)
    qtbot.waitUntil(lambda: len(window.accounts_model.projection) == 40, timeout=20_000)
    scan = window.accounts_model.search_scan
    assert scan.keys is window.accounts_model.search_keys
    assert scan.is_current
    press(qtbot, Qt.Key.Key_F, CTRL)
    focused(qtbot, "accountFilter")
    type_text(qtbot, "account-")
    qtbot.waitUntil(lambda: window.accounts_proxy.rowCount() == 40)
