"""Screenshots of the Approvals and My requests tabs at the window's default size, for review.

Always written to the test's temp folder; with ``BANK_DESKTOP_APPROVALS_SCREENSHOT=dir`` also
there. Money and ids must show whole at 1280 x 820 (checked on the queue's columns).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTableView
from pytestqt.qtbot import QtBot

from bank_desktop.gui.main_window import MainWindow
from tests.gui.approval_desks import WINDOW_CLERK, Desks, other_desks
from tests.gui.conftest import focused, press
from tests.gui.test_approvals_window import ALT, loaded


@pytest.fixture
def desks(store_url: str) -> Iterator[Desks]:
    yield from other_desks(store_url)


def shown_whole(table: QTableView, column: int) -> bool:
    """Every text in ``column`` fits its width, and the column is in view (no scrolling)."""
    model = table.model()
    metrics = table.fontMetrics()
    texts = [str(model.index(row, column).data()) for row in range(model.rowCount())]
    widest = max((metrics.horizontalAdvance(text) for text in texts), default=0)
    right = table.columnViewportPosition(column) + table.columnWidth(column)
    return widest < table.columnWidth(column) and right <= table.viewport().width()


def save(window: MainWindow, tmp_path: Path, name: str) -> Path:
    image = window.grab()
    path = tmp_path / name
    assert image.save(str(path))
    assert path.stat().st_size > 20_000  # a real picture, not an empty frame
    target = os.environ.get("BANK_DESKTOP_APPROVALS_SCREENSHOT")
    if target:
        image.save(str(Path(target) / name))
    return path


def test_screenshots_of_the_approvals_tabs(
    qtbot: QtBot, make_window: Callable[..., MainWindow], desks: Desks, tmp_path: Path
) -> None:
    desks.admin.grant_role(WINDOW_CLERK, "supervisor")
    ada = desks.teller.register_customer(full_name="Ada Lovelace", national_id="AB123456")
    grace = desks.teller.register_customer(full_name="Grace Hopper", national_id="GH1906")
    savings = desks.teller.open_account(ada, "25000")
    current = desks.teller.open_account(grace, "12000")
    desks.teller.deposit(savings, "1250.50", description="Salary")
    desks.teller.withdraw(savings, "300", description="Groceries")
    desks.request(lambda: desks.teller.withdraw(savings, "9500", description="Car purchase"))
    desks.request(lambda: desks.teller.transfer(current, savings, "11000", description="Loan"))
    desks.request(lambda: desks.sup.withdraw(current, "6200.75", description="Cash"))
    desks.clerk(WINDOW_CLERK).deposit(savings, "100")
    desks.request(lambda: desks.clerk(WINDOW_CLERK).withdraw(savings, "7000"))
    desks.sup.reject(desks.clerk(WINDOW_CLERK).pending_approvals()[-1].approval_id, "Ask again")
    desks.request(lambda: desks.clerk(WINDOW_CLERK).withdraw(current, "5500"))

    window = make_window()
    window.resize(1280, 820)
    desk = window.approvals
    loaded(qtbot, desk)
    press(qtbot, Qt.Key.Key_P, ALT)
    table = focused(qtbot, "approvalsTable")
    assert isinstance(table, QTableView)
    qtbot.waitUntil(lambda: table.model().rowCount() == 4)
    qtbot.waitUntil(lambda: desk.history_model.rowCount() == 4)  # opened, salary, groceries, 100
    for column in desk.queue_model.columns:
        assert shown_whole(table, desk.queue_model.column(column)), column
    save(window, tmp_path, "approvals-tab.png")

    press(qtbot, Qt.Key.Key_R, ALT)
    mine = focused(qtbot, "myRequestsTable")
    assert isinstance(mine, QTableView)
    assert desk.mine_model.rowCount() == 2
    for column in desk.mine_model.columns:
        assert shown_whole(mine, desk.mine_model.column(column)), column
    save(window, tmp_path, "my-requests-tab.png")
