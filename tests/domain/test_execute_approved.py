"""Carrying out an approved request in the account's stream: the held command's events when the
rules still allow it, a recorded refusal (``approval.execution_refused``) when they no longer do,
so the execution's command id is consumed either way and no second driver can run it later."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bank_desktop.domain import accounts
from bank_desktop.domain.accounts import (
    ACCOUNT_EVENT_TYPES,
    AccountClosed,
    AccountCommand,
    AccountEvent,
    AccountOpened,
    AccountState,
    ApprovedCommandRefused,
    ExecuteApproved,
    MoneyWithdrawn,
    WithdrawMoney,
)
from bank_desktop.domain.errors import AccountNotFoundError, UnreadableHistoryError
from bank_desktop.domain.history import UnrecognizedEvent
from tests.domain.decider_spec import DeciderSpec

spec: DeciderSpec[AccountState, AccountCommand, AccountEvent] = DeciderSpec(
    accounts.decide, accounts.evolve, accounts.initial_state
)
given = spec.given
ACC = "acc-1"
AP = "approval-abcdefghijkl"
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
T1 = T0 + timedelta(hours=1)
OPENED = AccountOpened(ACC, "cust-1", Decimal("7000.00"), T0)


def execute(amount: str) -> ExecuteApproved:
    return ExecuteApproved(AP, WithdrawMoney(ACC, Decimal(amount), "Car", T1))


def test_the_held_withdrawal_is_made_when_the_rules_allow_it() -> None:
    events = given(OPENED).when(execute("6000.00"))
    assert events == [MoneyWithdrawn(ACC, Decimal("6000.00"), "Car", T1)]
    assert given(OPENED, *events).state.balance == Decimal("1000.00")


def test_a_refusal_is_recorded_not_raised() -> None:
    events = given(OPENED).when(execute("8000.00"))
    assert events == [
        ApprovedCommandRefused(
            ACC,
            AP,
            "money.withdraw",
            Decimal("8000.00"),
            "Insufficient funds. Balance: $7,000.00, Requested: $8,000.00",
            T1,
        )
    ]
    state = given(OPENED, *events).state
    assert state.balance == Decimal("7000.00")  # nothing moved
    assert ApprovedCommandRefused.type in ACCOUNT_EVENT_TYPES


def test_a_closed_account_refuses_it_on_record() -> None:
    closed = AccountClosed(ACC, None, T0)
    empty = AccountOpened(ACC, "cust-1", Decimal("0"), T0)
    (event,) = given(empty, closed).when(execute("1.00"))
    assert isinstance(event, ApprovedCommandRefused)
    assert "closed" in event.reason


def test_a_missing_account_is_raised_nothing_to_fence() -> None:
    with pytest.raises(AccountNotFoundError):
        given().when(execute("1.00"))


def test_unreadable_history_is_left_for_later_not_refused_for_ever() -> None:
    with pytest.raises(UnreadableHistoryError):
        given(OPENED, UnrecognizedEvent("money.future", 2)).when(  # type: ignore[arg-type]
            execute("1.00")
        )
