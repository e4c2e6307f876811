"""The Accounts tab's layout: filter and accounts on the left, ledger and chart on the right.

Only widgets and their arrangement live here; what the selection does is the window's job.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from bank_desktop.gui.chart import BalanceChart

ACCOUNT_COLUMN_WIDTHS = (170, 105, 115, 60, 125, 125)
LEDGER_COLUMN_WIDTHS = (150, 95, 200, 100, 105, 85, 170)


class AccountsPage(QSplitter):
    def __init__(self, accounts: Any, ledger: Any, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.account_filter = QLineEdit()
        self.account_filter.setObjectName("accountFilter")
        self.account_filter.setPlaceholderText("Find account or customer (Ctrl+F)")
        self.account_filter.setClearButtonEnabled(True)

        self.accounts_table = table("accountsTable", accounts, ACCOUNT_COLUMN_WIDTHS)
        self.accounts_table.setSortingEnabled(True)
        self.accounts_table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        self.accounts_table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.Interactive
        )
        self.ledger_table = table("transactionsTable", ledger, LEDGER_COLUMN_WIDTHS)
        self.ledger_title = QLabel("Select an account to see its transactions.")
        self.ledger_title.setObjectName("ledgerTitle")
        self.chart = BalanceChart()

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.account_filter)
        left_layout.addWidget(self.accounts_table)

        ledger_box = QWidget()
        ledger_layout = QVBoxLayout(ledger_box)
        ledger_layout.setContentsMargins(0, 0, 0, 0)
        ledger_layout.addWidget(self.ledger_title)
        ledger_layout.addWidget(self.ledger_table)

        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(ledger_box)
        right.addWidget(self.chart)
        right.setSizes([460, 300])

        self.addWidget(left)
        self.addWidget(right)
        self.setSizes([720, 680])
        QWidget.setTabOrder(self.account_filter, self.accounts_table)
        QWidget.setTabOrder(self.accounts_table, self.ledger_table)


def table(object_name: str, model: Any, widths: tuple[int, ...]) -> QTableView:
    """A read-only, row-selecting table as every list in the window uses it."""
    view = QTableView()
    view.setObjectName(object_name)
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setAlternatingRowColors(True)
    view.setWordWrap(False)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setDefaultSectionSize(24)
    view.horizontalHeader().setStretchLastSection(True)
    view.horizontalHeader().setHighlightSections(False)
    view.setTabKeyNavigation(False)
    for column, width in enumerate(widths):
        view.setColumnWidth(column, width)
    return view
