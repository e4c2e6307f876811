"""Holds in the account decider: placed and released as events, never moving money, lowering
the available balance that withdrawals, transfers out and deposit reversals check; expiry is
decided with the command's time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bank_desktop.domain import accounts
from bank_desktop.domain.accounts import (
    AccountCommand,
    AccountEvent,
    AccountOpened,
    AccountState,
    CloseAccount,
    DebitForTransfer,
    HoldPlaced,
    HoldReleased,
    MoneyWithdrawn,
    PlaceHold,
    ReleaseHold,
    WithdrawalRefused,
    WithdrawMoney,
)
from bank_desktop.domain.errors import HoldNotFoundError, IllegalStateError, ValidationError
from bank_desktop.domain.holds import Hold
from tests.domain.decider_spec import DeciderSpec

spec: DeciderSpec[AccountState, AccountCommand, AccountEvent] = DeciderSpec(
    accounts.decide, accounts.evolve, accounts.initial_state
)
given = spec.given

ACC = "acc-1"
T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=1)
T2 = T0 + timedelta(minutes=2)
LATER = T0 + timedelta(days=3)


def d(text: str) -> Decimal:
    return Decimal(text)


def opened(initial: str = "100.00") -> AccountOpened:
    return AccountOpened(ACC, "cust-1", d(initial), T0)


def placed(
    amount: str = "25.00", hold_id: str = "hold-1", expires_at: datetime | None = None
) -> HoldPlaced:
    return HoldPlaced(ACC, hold_id, d(amount), "Cheque clearing", T1, expires_at)


def place(
    amount: str = "25.00",
    hold_id: str = "hold-1",
    expires_at: datetime | None = None,
    reason: str = "Cheque clearing",
    at: datetime = T2,
) -> PlaceHold:
    return PlaceHold(ACC, hold_id, d(amount), reason, expires_at, at)


def release(hold_id: str = "hold-1", at: datetime = T2) -> ReleaseHold:
    return ReleaseHold(ACC, hold_id, at)


class TestPlacing:
    def test_a_hold_is_recorded_and_moves_no_money(self) -> None:
        history = given(opened())
        [event] = history.when(place(expires_at=LATER))

        assert event == HoldPlaced(ACC, "hold-1", d("25.00"), "Cheque clearing", T2, LATER)
        state = accounts.evolve(history.state, event)
        assert state.balance == d("100.00")
        assert state.available_balance == d("75.00")
        assert state.holds == (Hold("hold-1", d("25.00"), "Cheque clearing", T2, LATER),)

    def test_a_hold_of_the_whole_available_balance_is_fine(self) -> None:
        assert given(opened(), placed("25.00")).when(place("75.00", "hold-2"))

    def test_a_hold_above_the_available_balance_is_refused(self) -> None:
        with pytest.raises(ValidationError) as caught:
            given(opened(), placed("25.00")).when(place("75.01", "hold-2"))

        assert caught.value.message == "Insufficient funds. Available: $75.00, Requested: $75.01"

    def test_a_hold_above_the_balance_without_holds_uses_the_seed_words(self) -> None:
        with pytest.raises(ValidationError) as caught:
            given(opened()).when(place("100.01"))

        assert caught.value.message == "Insufficient funds. Balance: $100.00, Requested: $100.01"

    @pytest.mark.parametrize("amount", ["0.00", "-5.00"])
    def test_the_amount_must_be_positive(self, amount: str) -> None:
        with pytest.raises(ValidationError, match=r"^Hold amount must be positive\.$"):
            given(opened()).when(place(amount))

    def test_a_reason_is_required(self) -> None:
        with pytest.raises(ValidationError, match=r"^Reason is required\.$"):
            given(opened()).when(place(reason=" "))

    def test_an_expiry_in_the_past_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="expiry must be in the future"):
            given(opened()).when(place(expires_at=T2))

    def test_the_same_hold_id_twice_is_refused(self) -> None:
        with pytest.raises(IllegalStateError, match="already exists"):
            given(opened(), placed()).when(place("1.00"))

    def test_a_closed_account_takes_no_hold(self) -> None:
        with pytest.raises(IllegalStateError, match="is closed"):
            given(opened("0.00"), accounts.AccountClosed(ACC, None, T1)).when(place("1.00"))


class TestTheAvailableBalance:
    def test_a_withdrawal_above_available_names_the_available_amount(self) -> None:
        with pytest.raises(ValidationError) as caught:
            given(opened(), placed("25.00")).when(WithdrawMoney(ACC, d("80.00"), None, T2))

        assert caught.value.message == "Insufficient funds. Available: $75.00, Requested: $80.00"
        assert caught.value.details == {
            "balance": "100.00",
            "available": "75.00",
            "held": "25.00",
            "requested": "80.00",
        }

    def test_a_withdrawal_within_available_goes_through(self) -> None:
        assert given(opened(), placed("25.00")).when(WithdrawMoney(ACC, d("75.00"), None, T2)) == [
            MoneyWithdrawn(ACC, d("75.00"), None, T2)
        ]

    def test_a_transfer_out_above_available_is_a_recorded_refusal(self) -> None:
        [event] = given(opened(), placed("25.00")).when(
            DebitForTransfer(ACC, "tr-1", "acc-2", d("80.00"), None, T2)
        )

        assert isinstance(event, WithdrawalRefused)
        assert event.reason == "Insufficient funds. Available: $75.00, Requested: $80.00"

    def test_an_expired_hold_no_longer_counts(self) -> None:
        history = given(opened(), placed("25.00", expires_at=T2))

        assert history.when(WithdrawMoney(ACC, d("100.00"), None, T2))
        assert history.state.available_at(T2) == d("100.00")
        assert history.state.available_at(T1) == d("75.00")

    def test_a_hold_counts_until_the_moment_it_expires(self) -> None:
        almost = T2 - timedelta(milliseconds=1)
        with pytest.raises(ValidationError, match=r"Available: \$75\.00"):
            given(opened(), placed("25.00", expires_at=T2)).when(
                WithdrawMoney(ACC, d("100.00"), None, almost)
            )

    def test_a_released_hold_no_longer_counts(self) -> None:
        state = given(opened(), placed("25.00"), HoldReleased(ACC, "hold-1", d("25.00"), T1)).state

        assert state.holds == ()
        assert state.available_balance == d("100.00")


class TestReleasing:
    def test_a_release_is_recorded(self) -> None:
        assert given(opened(), placed()).when(release()) == [
            HoldReleased(ACC, "hold-1", d("25.00"), T2)
        ]

    def test_releasing_twice_is_refused(self) -> None:
        with pytest.raises(IllegalStateError) as caught:
            given(opened(), placed(), HoldReleased(ACC, "hold-1", d("25.00"), T1)).when(release())

        assert caught.value.message == "Hold hold-1 was already released."

    def test_an_unknown_hold_is_refused(self) -> None:
        with pytest.raises(HoldNotFoundError) as caught:
            given(opened()).when(release("hold-9"))

        assert caught.value.message == "Hold hold-9 was never placed on account acc-1."

    def test_an_expired_hold_needs_no_release(self) -> None:
        with pytest.raises(IllegalStateError, match=r"expired at .*needs no release"):
            given(opened(), placed(expires_at=T2)).when(release(at=LATER))


class TestClosing:
    def test_an_account_with_an_active_hold_cannot_be_closed(self) -> None:
        with pytest.raises(IllegalStateError) as caught:
            given(opened(), placed()).when(CloseAccount(ACC, None, T2))

        assert caught.value.message == (
            "Cannot close account acc-1: hold hold-1 of $25.00 (Cheque clearing) is active. "
            "Release it first."
        )

    def test_an_expired_hold_does_not_keep_it_open(self) -> None:
        history = given(
            opened("25.00"), placed(expires_at=T2), MoneyWithdrawn(ACC, d("25.00"), None, T2)
        )
        assert history.when(CloseAccount(ACC, None, LATER))
