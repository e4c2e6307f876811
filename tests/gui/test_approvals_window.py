"""Dual control in the window, driven by keyboard, with other desks on the same store.

Another desk is another ``BankService`` on its own connection to the window's SQLite file:
what it writes reaches the window only through the window's live feed, as a colleague's work
at another counter does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QTableView, QTableWidget
from pytestqt.qtbot import QtBot

from bank_desktop.domain import ApprovalFailedError
from bank_desktop.gui.approvals import ApprovalsDesk
from bank_desktop.gui.main_window import MainWindow
from bank_desktop.gui.models.approvals import APPROVAL_ID_ROLE, Column
from tests.gui.approval_desks import WINDOW_CLERK, Desks, other_desks
from tests.gui.conftest import (
    CTRL,
    active_dialog,
    balance,
    focused,
    gone,
    money,
    press,
    type_text,
)
from tests.gui.test_reversals_window import to_ledger_line

ALT = Qt.KeyboardModifier.AltModifier


@pytest.fixture
def desks(store_url: str) -> Iterator[Desks]:
    yield from other_desks(store_url)


def status(window: MainWindow) -> str:
    return window.statusBar().currentMessage()


def label(window: MainWindow, name: str) -> QLabel:
    found = window.findChild(QLabel, name)
    assert found is not None, name
    return found


def rows(table: QTableView, column: int) -> list[str]:
    model = table.model()
    return [str(model.index(row, column).data()) for row in range(model.rowCount())]


def ids(table: QTableView) -> list[str]:
    model = table.model()
    return [str(model.index(row, 0).data(APPROVAL_ID_ROLE)) for row in range(model.rowCount())]


def tab_shown(window: MainWindow, page: object) -> bool:
    index = window.tabs.indexOf(page)  # type: ignore[arg-type]
    return window.tabs.isTabVisible(index) and window.tabs.isTabEnabled(index)


def loaded(qtbot: QtBot, desk: ApprovalsDesk) -> None:
    qtbot.waitUntil(lambda: desk.view is not None, timeout=10_000)


def my_request_status(window: MainWindow, approval_id: str) -> str:
    model = window.approvals.mine_model
    row = model.row_of(approval_id)
    return "" if row is None else str(model.index(row, model.column(Column.STATUS)).data())


# ── the teller's side ─────────────────────────────────────────────────────────────────────


def test_a_teller_is_told_sent_for_approval_and_then_each_outcome_live(
    qtbot: QtBot, make_window: Callable[..., MainWindow], desks: Desks
) -> None:
    account = desks.teller.open_account("cust-1", "10000")
    window = make_window()
    desk = window.approvals
    loaded(qtbot, desk)
    assert not tab_shown(window, desk.page)  # a teller has no approvals queue
    qtbot.waitUntil(lambda: window.select_account(account))
    window.accounts_table.setFocus()
    focused(qtbot, "accountsTable")

    # Above the limit: no error, the form closes, the status bar says where it went.
    money(qtbot, Qt.Key.Key_F3, "6000", "Car")
    qtbot.waitUntil(lambda: "Sent for approval (#approval-" in status(window))
    assert "Withdrawal of $6,000.00 from" in status(window)
    assert "above the approval limit of $5,000.00" in status(window)
    assert "No money has moved" in status(window)
    assert QApplication.activeModalWidget() is None
    qtbot.waitUntil(lambda: desk.mine_model.rowCount() == 1)
    (first,) = ids(window.approvals.requests_page.table)
    assert first in status(window)
    assert my_request_status(window, first) == "Waiting for a supervisor"
    assert balance(window, account) == Decimal("10000.00")

    # Approved and carried out at another desk: told live, the balance follows.
    desks.sup.approve(first)
    qtbot.waitUntil(lambda: "approved by sup-1 and carried out" in status(window))
    assert f"#{first}" in status(window)
    assert "balance $4,000.00" in status(window)
    qtbot.waitUntil(lambda: my_request_status(window, first) == "Approved and carried out")
    qtbot.waitUntil(lambda: balance(window, account) == Decimal("4000.00"))

    # Rejected with a reason.
    other = desks.teller.open_account("cust-2", "0")
    qtbot.waitUntil(lambda: window.select_account(account))
    press(qtbot, Qt.Key.Key_F4)
    dialog = active_dialog(qtbot)
    focused(qtbot, "targetAccountEdit")
    type_text(qtbot, other)
    press(qtbot, Qt.Key.Key_Tab)
    focused(qtbot, "amountEdit")
    type_text(qtbot, "3000")
    desks.admin.set_approval_limit("2500")  # lowered at another desk a moment ago
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: gone(dialog))
    qtbot.waitUntil(lambda: "Sent for approval" in status(window))
    assert "Transfer of $3,000.00" in status(window)
    qtbot.waitUntil(lambda: desk.mine_model.rowCount() == 2)
    second = ids(window.approvals.requests_page.table)[0]  # newest first
    desks.sup.reject(second, reason="No ID shown")
    qtbot.waitUntil(lambda: "rejected by sup-1: No ID shown" in status(window))
    qtbot.waitUntil(lambda: my_request_status(window, second) == "Rejected")
    assert balance(window, other) == Decimal("0.00")

    # Approved, but the rules refuse it when it runs: the balance moved meanwhile.
    qtbot.waitUntil(lambda: window.select_account(account))
    money(qtbot, Qt.Key.Key_F3, "3000")
    qtbot.waitUntil(lambda: desk.mine_model.rowCount() == 3)
    third = ids(window.approvals.requests_page.table)[0]
    desks.teller.withdraw(account, "2000")  # within the limit: carried out at once
    with pytest.raises(ApprovalFailedError):
        desks.sup2.approve(third)
    qtbot.waitUntil(lambda: "refused when carried out" in status(window))
    assert "approved by sup-2" in status(window)
    assert "Insufficient funds" in status(window)
    assert my_request_status(window, third) == "Approved, but refused when carried out"
    assert balance(window, account) == Decimal("2000.00")

    # My requests, by keyboard: Alt+R shows them, newest first, with the outcomes.
    press(qtbot, Qt.Key.Key_R, ALT)
    table = focused(qtbot, "myRequestsTable")
    assert isinstance(table, QTableView)
    outcome = desk.mine_model.column(Column.OUTCOME)
    assert rows(table, outcome)[1] == "No ID shown"
    assert rows(table, outcome)[2] == "balance $4,000.00"
    assert "3 requests you sent for approval" in label(window, "myRequestsTitle").text()


# ── the supervisor's side ─────────────────────────────────────────────────────────────────


@pytest.fixture
def supervisor_window(
    qtbot: QtBot, make_window: Callable[..., MainWindow], desks: Desks
) -> MainWindow:
    desks.admin.grant_role(WINDOW_CLERK, "supervisor")
    window = make_window()
    loaded(qtbot, window.approvals)
    return window


def open_queue(qtbot: QtBot, window: MainWindow) -> QTableView:
    press(qtbot, Qt.Key.Key_P, ALT)
    table = focused(qtbot, "approvalsTable")
    assert isinstance(table, QTableView)
    return table


@pytest.mark.x11
def test_a_supervisor_works_the_live_queue_by_keyboard(
    qtbot: QtBot, supervisor_window: MainWindow, desks: Desks
) -> None:
    window, desk = supervisor_window, supervisor_window.approvals
    assert tab_shown(window, desk.page)
    assert "Approval limit: $5,000.00" in label(window, "approvalLimit").text()
    customer = desks.teller.register_customer(full_name="Ada Lovelace", national_id="AB123456")
    account = desks.teller.open_account(customer, "9000")
    desks.teller.deposit(account, "1000", description="Salary")
    table = open_queue(qtbot, window)
    assert table.model().rowCount() == 0

    # A request made at another desk appears in the queue (through the live feed).
    first = desks.request(lambda: desks.teller.withdraw(account, "6000", description="Car"))
    qtbot.waitUntil(lambda: ids(table) == [first], timeout=5_000)
    qtbot.waitUntil(lambda: desk.page.selected_id == first)
    model = desk.queue_model
    assert rows(table, model.column(Column.REQUESTED_BY)) == ["teller-1"]
    assert rows(table, model.column(Column.CUSTOMER)) == [f"Ada Lovelace ({customer})"]
    assert rows(table, model.column(Column.AMOUNT)) == ["$6,000.00"]
    assert rows(table, model.column(Column.KIND)) == ["Withdrawal"]
    assert label(window, "approvalRequester").text() == "teller-1"
    assert label(window, "approvalCustomer").text() == f"Ada Lovelace ({customer})"
    assert label(window, "approvalAmount").text() == "$6,000.00"
    assert "“Car”" in label(window, "approvalDetails").text()
    assert label(window, "approvalBalance").text() == "balance $10,000.00"
    history = window.findChild(QTableView, "approvalHistoryTable")
    assert history is not None
    qtbot.waitUntil(lambda: history.model().rowCount() == 2)  # opened, the salary
    assert rows(history, 4)[-1] == "Salary"

    # Ctrl+Enter approves (on a worker); the request leaves the queue, the money moves.
    second = desks.request(lambda: desks.teller.withdraw(account, "5500"))
    qtbot.waitUntil(lambda: ids(table) == [first, second])
    assert desk.page.selected_id == first
    press(qtbot, Qt.Key.Key_Return, CTRL)
    qtbot.waitUntil(lambda: ids(table) == [second])
    qtbot.waitUntil(lambda: "Approved #" in label(window, "approvalStatus").text())
    qtbot.waitUntil(lambda: balance(window, account) == Decimal("4000.00"))
    assert desk.page.selected_id == second  # the next one, ready for the next key
    assert "saved; carried out: balance $4,000.00" in status(window)
    assert desks.teller.get_approval(first).approved_by == WINDOW_CLERK

    # Delete rejects, with a reason.
    focused(qtbot, "approvalsTable")
    press(qtbot, Qt.Key.Key_Delete)
    form = active_dialog(qtbot)
    assert form.objectName() == "rejectForm"
    focused(qtbot, "reasonEdit")
    press(qtbot, Qt.Key.Key_Return)  # no reason: refused in the form
    error = form.findChild(QLabel, "formError")
    assert error is not None
    qtbot.waitUntil(lambda: "Say why" in error.text())
    type_text(qtbot, "Over the daily cash limit")
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: gone(form))
    qtbot.waitUntil(lambda: ids(table) == [])
    assert desks.teller.get_approval(second).reason == "Over the daily cash limit"
    focused(qtbot, "approvalsTable")
    assert not desk.approve_action.isEnabled()
    assert not desk.reject_action.isEnabled()


def test_own_requests_cannot_be_approved_and_refusals_are_shown(
    qtbot: QtBot, supervisor_window: MainWindow, desks: Desks
) -> None:
    window, desk = supervisor_window, supervisor_window.approvals
    account = desks.teller.open_account("cust-1", "20000")
    qtbot.waitUntil(lambda: window.select_account(account))
    window.accounts_table.setFocus()
    money(qtbot, Qt.Key.Key_F3, "7000")  # the supervisor's own request
    qtbot.waitUntil(lambda: "Sent for approval" in status(window))
    table = open_queue(qtbot, window)
    qtbot.waitUntil(lambda: table.model().rowCount() == 1)
    (own,) = ids(table)
    qtbot.waitUntil(lambda: desk.page.selected_id == own)
    assert not desk.approve_action.isEnabled()
    assert desk.reject_action.isEnabled()
    assert "another supervisor must approve it" in label(window, "approvalNote").text()
    press(qtbot, Qt.Key.Key_Return, CTRL)  # disabled: nothing happens
    assert desks.sup.get_approval(own).is_pending

    # Should it happen anyway (a race, a stale screen), the service's refusal is shown.
    desk.approve(own)
    error = label(window, "approvalError")
    qtbot.waitUntil(error.isVisible)
    assert "cannot approve it: another supervisor must (four eyes)" in error.text()
    assert error.text().startswith("Not approved:")
    assert desks.sup.get_approval(own).is_pending

    # Decided at another desk a moment before Ctrl+Enter: the refusal says so, the queue
    # follows the store.
    other = desks.request(lambda: desks.teller.withdraw(account, "6000"))
    qtbot.waitUntil(lambda: ids(table) == [own, other])
    assert desk.page.select(other)
    focused(qtbot, "approvalsTable")
    qtbot.waitUntil(desk.approve_action.isEnabled)
    desks.sup2.reject(other, reason="Duplicate")
    # Ctrl+Enter's action, before the event loop turns: this window has not heard of it yet.
    desk.approve_action.trigger()
    qtbot.waitUntil(lambda: "it was rejected by sup-2" in error.text())
    qtbot.waitUntil(lambda: ids(table) == [own])

    # Approved here, refused by the rules when carried out (the balance moved meanwhile).
    third = desks.request(lambda: desks.teller.withdraw(account, "8000"))
    qtbot.waitUntil(lambda: ids(table) == [own, third])
    assert desk.page.select(third)
    desks.teller.withdraw(account, "4000")
    qtbot.waitUntil(lambda: "balance $16,000.00" in label(window, "approvalBalance").text())
    desks.teller.withdraw(account, "4000")
    qtbot.waitUntil(lambda: "balance $12,000.00" in label(window, "approvalBalance").text())
    desks.teller.withdraw(account, "4500")
    qtbot.waitUntil(desk.approve_action.isEnabled)
    press(qtbot, Qt.Key.Key_Return, CTRL)
    qtbot.waitUntil(lambda: "could not be carried out" in error.text())
    assert "Insufficient funds" in error.text()
    qtbot.waitUntil(lambda: ids(table) == [own])
    assert desks.sup.get_approval(third).status == "failed"


def test_the_approvals_tab_follows_roles_granted_at_another_desk(
    qtbot: QtBot, make_window: Callable[..., MainWindow], desks: Desks
) -> None:
    window = make_window()
    desk = window.approvals
    loaded(qtbot, desk)
    assert not tab_shown(window, desk.page)
    assert not desk.show_queue_action.isEnabled()

    desks.admin.grant_role(WINDOW_CLERK, "supervisor")
    qtbot.waitUntil(lambda: tab_shown(window, desk.page), timeout=5_000)
    assert "You are now a supervisor" in status(window)
    open_queue(qtbot, window)
    assert window.tabs.currentWidget() is desk.page

    desks.admin.set_approval_limit("7500")
    qtbot.waitUntil(lambda: "$7,500.00" in label(window, "approvalLimit").text())

    desks.admin.revoke_role(WINDOW_CLERK, "supervisor")
    qtbot.waitUntil(lambda: not tab_shown(window, desk.page), timeout=5_000)
    assert window.tabs.currentWidget() is not desk.page
    assert "no longer approve" in status(window)

    desks.admin.grant_role(WINDOW_CLERK, "admin")  # admins see the queue, only supervisors decide
    qtbot.waitUntil(lambda: tab_shown(window, desk.page), timeout=5_000)
    account = desks.teller.open_account("cust-1", "9000")
    request = desks.request(lambda: desks.teller.withdraw(account, "8000"))
    table = open_queue(qtbot, window)
    qtbot.waitUntil(lambda: ids(table) == [request])
    qtbot.waitUntil(lambda: desk.page.selected_id == request)
    assert not desk.approve_action.isEnabled()
    assert not desk.reject_action.isEnabled()
    assert "Only a supervisor" in label(window, "approvalNote").text()


def test_f1_lists_the_decision_keys_and_the_tabs(
    qtbot: QtBot, supervisor_window: MainWindow
) -> None:
    press(qtbot, Qt.Key.Key_F1)
    dialog = active_dialog(qtbot)
    table = dialog.findChild(QTableWidget, "shortcutTable")
    assert table is not None
    listed = {
        table.item(row, 0).text(): table.item(row, 1).text() for row in range(table.rowCount())
    }
    assert listed["Approve request"] == "Ctrl+Return, Ctrl+Enter"
    assert listed["Reject request"] == "Ctrl+Backspace, Del"
    assert listed["Approvals tab"] == "Alt+P"
    assert listed["My requests tab"] == "Alt+R"
    press(qtbot, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: gone(dialog))


def test_a_reversal_above_the_limit_is_sent_for_approval(
    qtbot: QtBot, make_window: Callable[..., MainWindow], desks: Desks
) -> None:
    account = desks.teller.open_account("cust-1", "100")
    desks.teller.deposit(account, "6000", description="Keyed 6000 instead of 60")
    window = make_window()
    loaded(qtbot, window.approvals)
    qtbot.waitUntil(lambda: window.select_account(account))
    qtbot.waitUntil(lambda: window.ledger_model.rowCount() == 2)

    to_ledger_line(qtbot, window, 1)
    press(qtbot, Qt.Key.Key_R, CTRL)
    form = active_dialog(qtbot)
    assert form.objectName() == "reversalForm"
    focused(qtbot, "reasonEdit")
    type_text(qtbot, "Keyed 6000 instead of 60")
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: gone(form))
    qtbot.waitUntil(lambda: "Sent for approval (#approval-" in status(window))
    assert "Reversal of the deposit of $6,000.00" in status(window)
    qtbot.waitUntil(lambda: window.approvals.mine_model.rowCount() == 1)
    (request,) = ids(window.approvals.requests_page.table)
    assert my_request_status(window, request) == "Waiting for a supervisor"
    assert balance(window, account) == Decimal("6100.00")

    desks.sup.approve(request)
    qtbot.waitUntil(lambda: "approved by sup-1 and carried out" in status(window))
    assert "reversal of $6,000.00" in status(window)
    qtbot.waitUntil(lambda: balance(window, account) == Decimal("100.00"))
