"""Reversals in the account decider: given these events, when a reversal, then the opposite.

A deposit keyed by mistake is undone by a withdrawal carrying ``reverses_event_id`` (and a
withdrawal by a deposit), exactly one event; every refusal of DESIGN §10 is a DomainError
with a clerk-readable message.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bank_desktop.domain import accounts
from bank_desktop.domain.accounts import (
    AccountClosed,
    AccountCommand,
    AccountEvent,
    AccountOpened,
    AccountState,
    HoldPlaced,
    MoneyDeposited,
    MoneyWithdrawn,
    ReverseTransaction,
)
from bank_desktop.domain.errors import (
    AccountNotFoundError,
    IllegalStateError,
    TransactionNotFoundError,
    ValidationError,
)
from bank_desktop.domain.reversals import ReversalTarget
from tests.domain.decider_spec import DeciderSpec

spec: DeciderSpec[AccountState, AccountCommand, AccountEvent] = DeciderSpec(
    accounts.decide, accounts.evolve, accounts.initial_state
)
given = spec.given

ACC = "acc-1"
T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=1)
T2 = T0 + timedelta(minutes=2)


def d(text: str) -> Decimal:
    return Decimal(text)


def opened(initial: str = "100.00") -> AccountOpened:
    return AccountOpened(ACC, "cust-1", d(initial), T0)


def deposit_target(amount: str = "500.00", event_id: str = "ev-dep") -> ReversalTarget:
    return ReversalTarget(event_id, "money.deposited", ACC, d(amount), T1)


def withdrawal_target(amount: str = "30.00", event_id: str = "ev-wd") -> ReversalTarget:
    return ReversalTarget(event_id, "money.withdrawn", ACC, d(amount), T1)


def reverse(
    target: ReversalTarget | None, reason: str = "Keyed 500 instead of 50", event_id: str = ""
) -> ReverseTransaction:
    return ReverseTransaction(
        ACC, event_id or (target.event_id if target else "ev-x"), target, reason, T2
    )


class TestWhenOpen:
    def test_a_deposit_is_reversed_by_a_withdrawal_naming_it(self) -> None:
        events = given(opened(), MoneyDeposited(ACC, d("500.00"), None, T1)).when(
            reverse(deposit_target())
        )

        assert events == [
            MoneyWithdrawn(
                ACC, d("500.00"), "Keyed 500 instead of 50", T2, reverses_event_id="ev-dep"
            )
        ]

    def test_a_withdrawal_is_reversed_by_a_deposit_naming_it(self) -> None:
        events = given(opened(), MoneyWithdrawn(ACC, d("30.00"), None, T1)).when(
            reverse(withdrawal_target(), reason="Wrong account")
        )

        assert events == [
            MoneyDeposited(ACC, d("30.00"), "Wrong account", T2, reverses_event_id="ev-wd")
        ]

    def test_the_reversal_restores_the_balance(self) -> None:
        history = given(opened(), MoneyDeposited(ACC, d("500.00"), None, T1))
        [event] = history.when(reverse(deposit_target()))

        assert accounts.evolve(history.state, event).balance == d("100.00")
        assert accounts.evolve(history.state, event).reversed_ids == {"ev-dep"}

    @pytest.mark.parametrize("reason", ["", "   ", "\t"])
    def test_a_reason_is_required(self, reason: str) -> None:
        with pytest.raises(ValidationError, match=r"^Reason is required\.$"):
            given(opened(), MoneyDeposited(ACC, d("500.00"), None, T1)).when(
                reverse(deposit_target(), reason=reason)
            )

    def test_an_unknown_event_is_refused(self) -> None:
        with pytest.raises(TransactionNotFoundError) as caught:
            given(opened()).when(reverse(None, event_id="ev-missing"))

        assert caught.value.message == "Transaction ev-missing is not in account acc-1."

    def test_an_event_of_another_account_is_unknown_here(self) -> None:
        elsewhere = ReversalTarget("ev-dep", "money.deposited", "acc-2", d("5.00"))
        with pytest.raises(TransactionNotFoundError):
            given(opened()).when(reverse(elsewhere))

    def test_reversing_twice_is_refused(self) -> None:
        with pytest.raises(IllegalStateError) as caught:
            given(
                opened(),
                MoneyDeposited(ACC, d("500.00"), None, T1),
                MoneyWithdrawn(ACC, d("500.00"), "oops", T1, reverses_event_id="ev-dep"),
            ).when(reverse(deposit_target()))

        assert caught.value.message == (
            "Transaction ev-dep cannot be reversed: it was already reversed."
        )

    def test_a_reversal_itself_cannot_be_reversed(self) -> None:
        reversal = ReversalTarget(
            "ev-rev", "money.withdrawn", ACC, d("500.00"), reverses_event_id="ev-dep"
        )
        with pytest.raises(IllegalStateError, match="itself the reversal of ev-dep"):
            given(opened("600.00")).when(reverse(reversal))

    def test_a_transfer_leg_is_refused(self) -> None:
        leg = ReversalTarget("ev-t", "money.withdrawn", ACC, d("10.00"), transfer_id="transfer-1")
        with pytest.raises(IllegalStateError) as caught:
            given(opened()).when(reverse(leg))

        assert "part of transfer transfer-1; move the money back with a new transfer" in (
            caught.value.message
        )

    def test_a_transfer_refund_is_refused(self) -> None:
        refund = ReversalTarget(
            "ev-r", "money.deposited", ACC, d("10.00"), transfer_id="transfer-1", is_refund=True
        )
        with pytest.raises(IllegalStateError, match="part of transfer"):
            given(opened()).when(reverse(refund))

    @pytest.mark.parametrize(
        ("event_type", "label"),
        [("account.opened", "account.opened event"), ("hold.placed", "hold.placed event")],
    )
    def test_only_deposits_and_withdrawals(self, event_type: str, label: str) -> None:
        other = ReversalTarget("ev-o", event_type, ACC, d("100.00"))
        with pytest.raises(IllegalStateError) as caught:
            given(opened()).when(reverse(other))

        assert caught.value.message == (
            f"Transaction ev-o cannot be reversed: it is a {label}: only a deposit or a "
            "withdrawal can be reversed."
        )

    def test_a_deposit_reversal_never_overdraws(self) -> None:
        with pytest.raises(ValidationError) as caught:
            given(
                opened("0.00"),
                MoneyDeposited(ACC, d("500.00"), None, T1),
                MoneyWithdrawn(ACC, d("450.00"), None, T1),
            ).when(reverse(deposit_target()))

        assert caught.value.message == "Insufficient funds. Balance: $50.00, Requested: $500.00"

    def test_a_deposit_reversal_checks_the_available_balance(self) -> None:
        with pytest.raises(ValidationError) as caught:
            given(
                opened("0.00"),
                MoneyDeposited(ACC, d("500.00"), None, T1),
                HoldPlaced(ACC, "hold-1", d("1.00"), "Cheque", T1),
            ).when(reverse(deposit_target()))

        assert caught.value.message == (
            "Insufficient funds. Available: $499.00, Requested: $500.00"
        )

    def test_a_withdrawal_reversal_needs_no_funds(self) -> None:
        [event] = given(opened("0.00"), HoldPlaced(ACC, "h", d("0.01"), "x", T1)).when(
            reverse(withdrawal_target("30.00"))
        )
        assert isinstance(event, MoneyDeposited)


class TestWhenNotOpen:
    def test_a_closed_account_is_refused(self) -> None:
        with pytest.raises(IllegalStateError) as caught:
            given(opened("0.00"), AccountClosed(ACC, None, T1)).when(reverse(deposit_target()))

        assert caught.value.message == "Account acc-1 is closed."

    def test_a_missing_account_is_refused(self) -> None:
        with pytest.raises(AccountNotFoundError):
            given().when(reverse(deposit_target()))
