"""Holds from the window: set money aside on an account (a cheque clearing, a card
authorisation), and release it.

A hold moves no money: the balance stays, the available balance (what withdrawals, transfers
out and reversals of deposits may take) drops until it is released or its expiry passes.
Both forms show the balance and the available balance live, as every money form does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QWidget

from bank_desktop.application import BankService
from bank_desktop.application.projections import AccountBalance
from bank_desktop.application.projections.as_of import end_of_day
from bank_desktop.domain import ValidationError, format_money
from bank_desktop.domain.holds import Hold
from bank_desktop.gui.forms.base import Action, CommandForm, Problem, amount_edit, line_edit
from bank_desktop.gui.statement_dialog import DateField, parse_date
from bank_desktop.gui.workers import BackgroundWork

HOLD_ID_ROLE = Qt.ItemDataRole.UserRole + 1


def _when(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def hold_text(hold: Hold) -> str:
    """``$25.00 · Cheque clearing · placed 2026-11-03 09:00 · until 2026-11-30 00:00``."""
    until = f" · until {_when(hold.expires_at)}" if hold.expires_at else ""
    return f"{format_money(hold.amount)} · {hold.reason} · placed {_when(hold.placed_at)}{until}"


class HoldForm(CommandForm):
    """Amount, reason and an optional expiry (the end of the day chosen, local time);
    succeeds with the hold id."""

    def __init__(
        self,
        bank: BankService,
        account_id: str,
        *,
        jobs: BackgroundWork,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(f"Hold funds – {account_id}", "Place hold", jobs=jobs, parent=parent)
        self.setObjectName("holdForm")
        self._bank = bank
        self.account_id = self._account = account_id
        self.add_info("Account:", account_id)
        self.add_balance("Balance:", None)
        self.amount = amount_edit("amountEdit", "Amount")
        self.reason = line_edit("reasonEdit", placeholder="Cheque clearing")
        self.expires = DateField(QDate())
        self.expires.setObjectName("expiresEdit")
        self.expires.setPlaceholderText("yyyy-mm-dd (optional: until released)")
        self.add_field("&Amount:", self.amount, keys=("amount", "requested", "Hold amount"))
        self.add_field("&Reason:", self.reason)
        self.add_field("&Expires:", self.expires, keys=("expiresAt",))
        self.add_info("", "A hold with an expiry stops counting at the end of that day.")

    def expiry(self) -> datetime | None:
        """The end of the typed day (local), or None; a text that is no date raises."""
        text = self.expires.text().strip()
        if not text:
            return None
        day = parse_date(text)
        if day is None:
            raise ValidationError(
                f"{text!r} is not a date: type it as 2026-11-30.", {"field": "Expires"}
            )
        return end_of_day(day).astimezone(UTC)

    def command(self) -> Action:
        bank, account, key = self._bank, self._account, self.command_id
        amount, reason, expires = self.amount.amount(), self.reason.text(), self.expiry()
        return lambda: bank.place_hold(account, amount, reason, expires_at=expires, command_id=key)

    def label(self) -> str:
        return f"Hold of {format_money(self.amount.amount())} on {self.account_id}"

    def describe_result(self) -> Callable[[Any], str]:
        return lambda hold_id: f"hold {hold_id}"


class ReleaseHoldForm(CommandForm):
    """The account's active holds, the first selected; Enter releases the selected one.
    Succeeds with the available balance after the release."""

    def __init__(
        self,
        bank: BankService,
        account_id: str,
        holds: Sequence[Hold],
        *,
        jobs: BackgroundWork,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(f"Release hold – {account_id}", "Release", jobs=jobs, parent=parent)
        self.setObjectName("releaseHoldForm")
        self._bank = bank
        self.account_id = self._account = account_id
        self.add_info("Account:", account_id)
        self.add_balance("Balance:", None)
        self.holds = QListWidget()
        self.holds.setObjectName("holdsList")
        self.holds.setMinimumWidth(440)
        self.add_field("&Hold:", self.holds, keys=("holdId",))
        self._show_holds(holds)

    def _show_holds(self, holds: Sequence[Hold]) -> None:
        """List ``holds``, keeping the selected one selected while it is still there."""
        chosen = self.selected_hold()
        self.holds.clear()
        for hold in holds:
            item = QListWidgetItem(hold_text(hold))
            item.setData(HOLD_ID_ROLE, hold.hold_id)
            item.setToolTip(hold.hold_id)
            self.holds.addItem(item)
            if hold.hold_id == chosen:
                self.holds.setCurrentItem(item)
        if self.holds.currentItem() is None and self.holds.count():
            self.holds.setCurrentRow(0)
        rows = max(1, min(self.holds.count(), 6))
        self.holds.setFixedHeight(
            rows * self.holds.sizeHintForRow(0) + 2 * self.holds.frameWidth() + 4
        )

    def show_row(self, row: AccountBalance) -> None:
        super().show_row(row)
        self._show_holds(row.active_holds(datetime.now(UTC)))  # another desk may release one

    def selected_hold(self) -> str | None:
        item = self.holds.currentItem()
        return None if item is None else str(item.data(HOLD_ID_ROLE))

    def validate(self) -> Problem | None:
        if self.selected_hold() is None:
            return "No active hold to release on this account.", self.holds
        return super().validate()

    def command(self) -> Action:
        bank, account, key = self._bank, self._account, self.command_id
        hold = self.selected_hold()
        assert hold is not None  # validate() checked
        return lambda: bank.release_hold(account, hold, command_id=key)

    def label(self) -> str:
        item = self.holds.currentItem()
        what = item.text().split(" · placed", 1)[0] if item is not None else "a hold"
        return f"Release of the hold {what} on {self.account_id}"

    def describe_result(self) -> Callable[[Any], str]:
        def describe(available: Decimal) -> str:
            return f"available {format_money(available)}"

        return describe
