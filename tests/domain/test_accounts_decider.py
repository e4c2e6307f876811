"""The account decider, rule by rule: given these events, when this command, then that.

Grouped by the account's starting state (not opened, opened, closed), then ``evolve`` on its
own. Proves every rule of the seed tutorial (same event names and messages, amounts shown as
``$1,234.56``) plus this project's transfer legs: a refused debit is *recorded* as
``WithdrawalRefused``, a credit is refused for a closed or missing account, and a refund lands
even on a closed account. Every refusal is a ``DomainError`` with ``.message`` and ``.details``.
"""

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
    CloseAccount,
    CreditForTransfer,
    DebitForTransfer,
    DepositMoney,
    MoneyDeposited,
    MoneyWithdrawn,
    OpenAccount,
    RefundTransfer,
    WithdrawalRefused,
    WithdrawMoney,
    evolve,
    initial_state,
)
from bank_desktop.domain.errors import (
    AccountNotFoundError,
    DomainError,
    IllegalStateError,
    ValidationError,
)
from tests.domain.decider_spec import DeciderSpec

spec: DeciderSpec[AccountState, AccountCommand, AccountEvent] = DeciderSpec(
    accounts.decide, accounts.evolve, accounts.initial_state
)
given = spec.given

ACC = "acc-1"
OTHER = "acc-2"
T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=1)
T2 = T0 + timedelta(minutes=2)
T3 = T0 + timedelta(minutes=3)


def d(text: str) -> Decimal:
    return Decimal(text)


# ── Commands and events, with defaults so each test states only what matters ──────────────


def open_account(
    initial: str = "100.00", customer: str = "cust-1", at: datetime = T1
) -> OpenAccount:
    return OpenAccount(ACC, customer, d(initial), at)


def deposit(
    amount: str = "10.00", description: str | None = None, at: datetime = T2
) -> DepositMoney:
    return DepositMoney(ACC, d(amount), description, at)


def withdraw(
    amount: str = "10.00", description: str | None = None, at: datetime = T2
) -> WithdrawMoney:
    return WithdrawMoney(ACC, d(amount), description, at)


def close(reason: str | None = None, at: datetime = T2) -> CloseAccount:
    return CloseAccount(ACC, reason, at)


def debit(
    amount: str = "10.00", description: str | None = None, at: datetime = T2
) -> DebitForTransfer:
    return DebitForTransfer(ACC, "tr-1", OTHER, d(amount), description, at)


def credit(
    amount: str = "10.00", description: str | None = None, at: datetime = T2
) -> CreditForTransfer:
    return CreditForTransfer(ACC, "tr-1", OTHER, d(amount), description, at)


def refund(amount: str = "10.00", at: datetime = T2) -> RefundTransfer:
    return RefundTransfer(ACC, "tr-1", OTHER, d(amount), "Account acc-2 is closed.", at)


def opened(initial: str = "100.00", at: datetime = T0) -> AccountOpened:
    return AccountOpened(ACC, "cust-1", d(initial), at)


def deposited(amount: str, at: datetime = T1) -> MoneyDeposited:
    return MoneyDeposited(ACC, d(amount), None, at)


def withdrawn(amount: str, at: datetime = T1) -> MoneyWithdrawn:
    return MoneyWithdrawn(ACC, d(amount), None, at)


def closed(at: datetime = T1) -> AccountClosed:
    return AccountClosed(ACC, None, at)


ALL_COMMANDS = [open_account(), deposit(), withdraw(), close(), debit(), credit(), refund()]


def test_event_and_command_names_follow_the_seed() -> None:
    assert ACCOUNT_EVENT_TYPES == (
        "account.opened",
        "money.deposited",
        "money.withdrawn",
        "money.withdrawal_refused",
        "account.closed",
        "hold.placed",
        "hold.released",
        "approval.execution_refused",
    )
    assert [c.type for c in ALL_COMMANDS[:4]] == [
        "account.open",
        "money.deposit",
        "money.withdraw",
        "account.close",
    ]


# ── When not opened ───────────────────────────────────────────────────────────────────────


class TestWhenNotOpened:
    def test_open_records_the_account(self) -> None:
        assert given().when(open_account("100.00")) == [
            AccountOpened(ACC, "cust-1", d("100.00"), T1)
        ]

    def test_open_with_zero_balance(self) -> None:
        [event] = given().when(open_account("0.00"))

        assert event == AccountOpened(ACC, "cust-1", d("0.00"), T1)

    def test_open_refuses_a_negative_initial_balance(self) -> None:
        with pytest.raises(ValidationError) as caught:
            given().when(open_account("-0.01"))

        assert caught.value.message == "Initial balance must be non-negative."
        assert caught.value.details == {"initialBalance": "-0.01"}

    def test_open_trims_the_customer_id(self) -> None:
        [event] = given().when(open_account(customer="  cust-7 \t"))

        assert isinstance(event, AccountOpened)
        assert event.customer_id == "cust-7"

    @pytest.mark.parametrize("customer", ["", "   ", "\t\n"])
    def test_open_requires_a_customer_id(self, customer: str) -> None:
        with pytest.raises(ValidationError) as caught:
            given().when(open_account(customer=customer))

        assert caught.value.message == "Customer id is required."
        assert caught.value.details == {"field": "Customer id"}

    @pytest.mark.parametrize(
        "customer",
        ["cu\x00st", "cust\x1b[31m", "a\nb", "a\rb", "cust\x7f1", "cust\u202e001", "a\u2028b"],
    )
    def test_open_refuses_control_characters_in_the_customer_id(self, customer: str) -> None:
        with pytest.raises(ValidationError, match=r"^Customer id must not contain control"):
            given().when(open_account(customer=customer))

    def test_customer_id_may_be_64_characters_but_not_65(self) -> None:
        [event] = given().when(open_account(customer="c" * 64))
        assert isinstance(event, AccountOpened)
        assert event.customer_id == "c" * 64

        with pytest.raises(ValidationError) as caught:
            given().when(open_account(customer="c" * 65))
        assert caught.value.message == "Customer id is too long: at most 64 characters."
        assert caught.value.details == {"field": "Customer id", "length": 65, "limit": 64}

    def test_the_length_limit_applies_after_trimming(self) -> None:
        [event] = given().when(open_account(customer=" " + "c" * 64 + " "))

        assert isinstance(event, AccountOpened)
        assert event.customer_id == "c" * 64

    @pytest.mark.parametrize(
        ("command", "action"),
        [
            (deposit(), "deposit money"),
            (withdraw(), "withdraw money"),
            (close(), "close account"),
            (debit(), "transfer money"),
            (credit(), "receive a transfer"),
            (refund(), "refund a transfer"),
        ],
        ids=["deposit", "withdraw", "close", "debit", "credit", "refund"],
    )
    def test_every_other_command_finds_no_account(
        self, command: AccountCommand, action: str
    ) -> None:
        with pytest.raises(AccountNotFoundError) as caught:
            given().when(command)

        error = caught.value
        assert isinstance(error, IllegalStateError)
        assert error.message == "Account acc-1 does not exist."
        assert error.state == "not_found"
        assert error.action == action
        assert error.account_id == ACC
        assert error.details == {"accountId": ACC, "state": "not_found", "action": action}


# ── When opened ───────────────────────────────────────────────────────────────────────────


class TestWhenOpened:
    def test_open_again_is_refused(self) -> None:
        with pytest.raises(IllegalStateError) as caught:
            given(opened()).when(open_account())

        error = caught.value
        assert not isinstance(error, AccountNotFoundError)
        assert error.message == "Account acc-1 already exists."
        assert error.state == "open"
        assert error.action == "open account"
        assert error.details == {"accountId": ACC, "state": "open", "action": "open account"}

    # deposit

    def test_deposit_records_the_money(self) -> None:
        assert given(opened()).when(deposit("50.00", "Paycheck")) == [
            MoneyDeposited(ACC, d("50.00"), "Paycheck", T2)
        ]

    def test_a_plain_deposit_is_not_a_transfer(self) -> None:
        [event] = given(opened()).when(deposit())

        assert isinstance(event, MoneyDeposited)
        assert event.transfer_id is None
        assert event.counterparty_account_id is None
        assert event.reversal is False

    @pytest.mark.parametrize("amount", ["0.00", "-0.01", "-50.00"])
    def test_deposit_must_be_positive(self, amount: str) -> None:
        with pytest.raises(ValidationError) as caught:
            given(opened()).when(deposit(amount))

        assert caught.value.message == "Deposit amount must be positive."
        assert caught.value.details == {"amount": amount}

    @pytest.mark.parametrize(
        ("description", "recorded"),
        [
            ("  Paycheck  ", "Paycheck"),
            ("", None),
            ("   ", None),
            (None, None),
            ("x" * 200, "x" * 200),
        ],
    )
    def test_deposit_description_is_trimmed_and_optional(
        self, description: str | None, recorded: str | None
    ) -> None:
        [event] = given(opened()).when(deposit(description=description))

        assert isinstance(event, MoneyDeposited)
        assert event.description == recorded

    def test_deposit_description_is_at_most_200_characters(self) -> None:
        with pytest.raises(ValidationError) as caught:
            given(opened()).when(deposit(description="x" * 201))

        assert caught.value.message == "Description is too long: at most 200 characters."
        assert caught.value.details == {"field": "Description", "length": 201, "limit": 200}

    def test_deposit_description_refuses_control_characters(self) -> None:
        with pytest.raises(ValidationError, match=r"^Description must not contain control"):
            given(opened()).when(deposit(description="pay\x00check"))

    # withdraw

    def test_withdraw_records_the_money(self) -> None:
        assert given(opened("100.00")).when(withdraw("30.00", " Coffee ")) == [
            MoneyWithdrawn(ACC, d("30.00"), "Coffee", T2)
        ]

    def test_withdrawing_the_exact_balance_leaves_zero(self) -> None:
        history = given(opened("100.00"), deposited("20.00"))
        [event] = history.when(withdraw("120.00"))

        assert evolve(history.state, event).balance == d("0.00")

    def test_withdraw_refuses_an_overdraft(self) -> None:
        with pytest.raises(ValidationError) as caught:
            given(opened("100.00")).when(withdraw("200.00"))

        assert caught.value.message == "Insufficient funds. Balance: $100.00, Requested: $200.00"
        assert caught.value.details == {"balance": "100.00", "requested": "200.00"}

    def test_overdraft_message_uses_grouped_amounts(self) -> None:
        with pytest.raises(ValidationError) as caught:
            given(opened("1234.50")).when(withdraw("1234.51"))

        assert caught.value.message == (
            "Insufficient funds. Balance: $1,234.50, Requested: $1,234.51"
        )

    @pytest.mark.parametrize("amount", ["0.00", "-0.01"])
    def test_withdraw_must_be_positive(self, amount: str) -> None:
        with pytest.raises(ValidationError) as caught:
            given(opened()).when(withdraw(amount))

        assert caught.value.message == "Withdrawal amount must be positive."

    def test_withdraw_description_is_at_most_200_characters(self) -> None:
        with pytest.raises(ValidationError, match="at most 200 characters"):
            given(opened()).when(withdraw(description="x" * 201))

    # close

    def test_close_at_zero_balance(self) -> None:
        assert given(opened("0.00")).when(close("  Moving abroad ")) == [
            AccountClosed(ACC, "Moving abroad", T2)
        ]

    def test_close_after_emptying_the_account(self) -> None:
        [event] = given(opened("100.00"), withdrawn("100.00")).when(close())

        assert event == AccountClosed(ACC, None, T2)

    def test_close_refuses_a_non_zero_balance(self) -> None:
        with pytest.raises(ValidationError) as caught:
            given(opened("100.00"), deposited("20.00")).when(close())

        assert caught.value.message == "Cannot close account with non-zero balance: $120.00"
        assert caught.value.details == {"balance": "120.00"}

    def test_close_reason_is_at_most_200_characters(self) -> None:
        with pytest.raises(ValidationError, match=r"^Reason is too long"):
            given(opened("0.00")).when(close("r" * 201))

    # transfer legs

    def test_debit_for_transfer_withdraws_with_the_transfer_recorded(self) -> None:
        assert given(opened("100.00")).when(debit("40.00", " Rent ")) == [
            MoneyWithdrawn(
                ACC,
                d("40.00"),
                "Rent",
                T2,
                transfer_id="tr-1",
                counterparty_account_id=OTHER,
            )
        ]

    def test_debit_for_transfer_of_the_exact_balance(self) -> None:
        [event] = given(opened("40.00")).when(debit("40.00"))

        assert isinstance(event, MoneyWithdrawn)

    def test_debit_for_transfer_records_insufficient_funds_instead_of_raising(self) -> None:
        assert given(opened("100.00")).when(debit("200.00")) == [
            WithdrawalRefused(
                account_id=ACC,
                amount=d("200.00"),
                reason="Insufficient funds. Balance: $100.00, Requested: $200.00",
                refused_at=T2,
                transfer_id="tr-1",
                counterparty_account_id=OTHER,
            )
        ]

    @pytest.mark.parametrize("amount", ["0.00", "-5.00"])
    def test_debit_for_transfer_records_a_non_positive_amount_as_refused(self, amount: str) -> None:
        [event] = given(opened()).when(debit(amount))

        assert isinstance(event, WithdrawalRefused)
        assert event.reason == "Withdrawal amount must be positive."

    def test_credit_for_transfer_deposits_with_the_transfer_recorded(self) -> None:
        assert given(opened()).when(credit("40.00", "Rent")) == [
            MoneyDeposited(
                ACC,
                d("40.00"),
                "Rent",
                T2,
                transfer_id="tr-1",
                counterparty_account_id=OTHER,
            )
        ]

    @pytest.mark.parametrize("amount", ["0.00", "-5.00"])
    def test_credit_for_transfer_must_be_positive(self, amount: str) -> None:
        with pytest.raises(ValidationError) as caught:
            given(opened()).when(credit(amount))

        assert caught.value.message == "Transfer amount must be positive."

    def test_refund_pays_back_as_a_reversal(self) -> None:
        assert given(opened()).when(refund("40.00")) == [
            MoneyDeposited(
                ACC,
                d("40.00"),
                "Reversal: transfer to acc-2 failed",
                T2,
                transfer_id="tr-1",
                counterparty_account_id=OTHER,
                reversal=True,
            )
        ]

    @pytest.mark.parametrize("amount", ["0.00", "-5.00"])
    def test_refund_must_be_positive(self, amount: str) -> None:
        with pytest.raises(ValidationError) as caught:
            given(opened()).when(refund(amount))

        assert caught.value.message == "Refund amount must be positive."


# ── When closed ───────────────────────────────────────────────────────────────────────────


class TestWhenClosed:
    history = (opened("0.00"), closed())

    def test_open_again_is_refused_as_closed(self) -> None:
        with pytest.raises(IllegalStateError) as caught:
            given(*self.history).when(open_account())

        assert caught.value.message == "Account acc-1 already exists."
        assert caught.value.state == "closed"

    @pytest.mark.parametrize(
        ("command", "action"),
        [
            (deposit(), "deposit money"),
            (withdraw(), "withdraw money"),
            (close(), "close account"),
            (credit(), "receive a transfer"),
        ],
        ids=["deposit", "withdraw", "close-again", "credit"],
    )
    def test_commands_that_need_an_open_account_are_refused(
        self, command: AccountCommand, action: str
    ) -> None:
        with pytest.raises(IllegalStateError) as caught:
            given(*self.history).when(command)

        error = caught.value
        assert not isinstance(error, AccountNotFoundError)
        assert error.message == "Account acc-1 is closed."
        assert error.state == "closed"
        assert error.action == action
        assert error.details == {"accountId": ACC, "state": "closed", "action": action}

    def test_closed_is_checked_before_the_amount(self) -> None:
        with pytest.raises(IllegalStateError, match="is closed"):
            given(*self.history).when(deposit("-1.00"))

    def test_debit_for_transfer_records_the_refusal(self) -> None:
        assert given(*self.history).when(debit("10.00")) == [
            WithdrawalRefused(
                account_id=ACC,
                amount=d("10.00"),
                reason="Account acc-1 is closed.",
                refused_at=T2,
                transfer_id="tr-1",
                counterparty_account_id=OTHER,
            )
        ]

    def test_refund_still_lands(self) -> None:
        history = given(*self.history)
        [event] = history.when(refund("25.00"))

        assert isinstance(event, MoneyDeposited)
        assert event.reversal is True
        after = evolve(history.state, event)
        assert after.balance == d("25.00")
        assert after.status == "closed"

    def test_after_a_refund_the_account_stays_closed_to_everything_else(self) -> None:
        refunded = MoneyDeposited(ACC, d("25.00"), "Reversal", T2, "tr-1", OTHER, reversal=True)

        for command in (deposit(), withdraw(), close(), credit()):
            with pytest.raises(IllegalStateError, match="is closed"):
                given(*self.history, refunded).when(command)


# ── evolve ────────────────────────────────────────────────────────────────────────────────


class TestEvolve:
    def test_initial_state_is_not_found_with_zero_balance(self) -> None:
        state = initial_state()

        assert state == AccountState()
        assert state.status == "not_found"
        assert state.balance == d("0.00")
        assert not state.exists
        assert not state.is_open

    def test_opened(self) -> None:
        state = given(opened("100.00", at=T0)).state

        assert state == AccountState(
            account_id=ACC,
            customer_id="cust-1",
            balance=d("100.00"),
            status="open",
            opened_at=T0,
            closed_at=None,
            last_activity_at=T0,
        )
        assert state.exists
        assert state.is_open

    def test_deposits_and_withdrawals_move_the_balance_and_the_activity_time(self) -> None:
        state = given(
            opened("100.00", at=T0), deposited("50.25", at=T1), withdrawn("30.10", at=T2)
        ).state

        assert state.balance == d("120.15")
        assert state.last_activity_at == T2
        assert state.opened_at == T0
        assert state.status == "open"

    def test_closed(self) -> None:
        state = given(opened("0.00", at=T0), closed(at=T3)).state

        assert state.status == "closed"
        assert state.closed_at == T3
        assert state.last_activity_at == T3
        assert state.balance == d("0.00")
        assert state.exists
        assert not state.is_open

    def test_a_refused_withdrawal_changes_nothing(self) -> None:
        before = given(opened("10.00", at=T0)).state
        refused = WithdrawalRefused(ACC, d("99.00"), "Insufficient funds.", T3, "tr-1", OTHER)

        assert evolve(before, refused) is before

    def test_events_carry_their_own_time(self) -> None:
        at = datetime(2030, 12, 31, 23, 59, 59, tzinfo=UTC)
        history = given(opened())

        for command_at, expected in ((T2, T2), (at, at)):
            [event] = history.when(deposit(at=command_at))
            assert evolve(history.state, event).last_activity_at == expected


def test_refusals_are_domain_errors_with_message_and_details() -> None:
    refusals: list[DomainError] = []
    for history, command in [
        ((), deposit()),
        ((opened(),), open_account()),
        ((opened(),), deposit("0.00")),
        ((opened("1.00"),), withdraw("2.00")),
        ((opened("1.00"),), close()),
        ((opened("0.00"), closed()), credit()),
    ]:
        with pytest.raises(DomainError) as caught:
            given(*history).when(command)
        refusals.append(caught.value)

    for error in refusals:
        assert error.message
        assert str(error) == error.message
        assert error.details
        assert repr(error).startswith(type(error).__name__ + "(")
