"""Properties of the deciders over random command sequences, checked against a tiny ledger model.

One account: random opens, deposits, withdrawals, closes and transfer legs with random amounts
(zero and negative included). At every step the decider must accept exactly what the model
accepts, a refusal must produce no events (or, for a transfer debit, only a
``WithdrawalRefused`` that changes nothing), and the folded state must agree with the ledger:
balance = opening + money in - money out, never negative, and zero once closed except for
refunds paid back to the closed account.

Two accounts: running a whole transfer through the transfer and account deciders (debit, then
credit, or refund when the target refuses) conserves the sum of both balances, and the
transfer ends in the status that matches what moved.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Literal

import hypothesis
from hypothesis import given
from hypothesis import strategies as st

from bank_desktop.domain import transfers
from bank_desktop.domain.accounts import (
    AccountClosed,
    AccountCommand,
    AccountEvent,
    AccountOpened,
    AccountState,
    AccountStatus,
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
    decide,
    evolve,
    initial_state,
)
from bank_desktop.domain.errors import DomainError
from bank_desktop.domain.money import ZERO

ACC = "acc-1"
OTHER = "acc-2"
T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)

amounts = st.one_of(
    st.just(ZERO),
    st.integers(min_value=-2_000, max_value=50_000).map(lambda c: Decimal(c).scaleb(-2)),
)


class Outcome(Enum):
    ACCEPTED = "accepted"
    REFUSED = "refused"  # raised a DomainError
    RECORDED_REFUSAL = "recorded refusal"  # a transfer debit answered with WithdrawalRefused


@dataclass(frozen=True)
class Ledger:
    """The model: what a bank clerk would expect, written without the decider's code."""

    status: AccountStatus = "not_found"
    balance: Decimal = ZERO
    refunded_since_close: Decimal = ZERO

    def outcome(self, command: AccountCommand) -> Outcome:
        is_open = self.status == "open"
        match command:
            case OpenAccount(initial_balance=amount):
                ok = self.status == "not_found" and amount >= 0
            case DepositMoney(amount=amount) | CreditForTransfer(amount=amount):
                ok = is_open and amount > 0
            case WithdrawMoney(amount=amount):
                ok = is_open and 0 < amount <= self.balance
            case CloseAccount():
                ok = is_open and self.balance == 0
            case DebitForTransfer(amount=amount):
                if self.status == "not_found":
                    return Outcome.REFUSED
                ok = is_open and 0 < amount <= self.balance
                return Outcome.ACCEPTED if ok else Outcome.RECORDED_REFUSAL
            case RefundTransfer(amount=amount):
                ok = self.status != "not_found" and amount > 0
        return Outcome.ACCEPTED if ok else Outcome.REFUSED

    def accept(self, command: AccountCommand) -> Ledger:
        match command:
            case OpenAccount(initial_balance=amount):
                return Ledger("open", amount)
            case DepositMoney(amount=amount) | CreditForTransfer(amount=amount):
                return replace(self, balance=self.balance + amount)
            case WithdrawMoney(amount=amount) | DebitForTransfer(amount=amount):
                return replace(self, balance=self.balance - amount)
            case CloseAccount():
                return replace(self, status="closed")
            case RefundTransfer(amount=amount):
                refunded = self.refunded_since_close + (amount if self.status == "closed" else 0)
                return replace(self, balance=self.balance + amount, refunded_since_close=refunded)


Kind = Literal[
    "open", "deposit", "withdraw", "withdraw all", "close", "debit", "debit all", "credit", "refund"
]
#: Closing, emptying and refunding are listed more than once so closed accounts come up often.
steps = st.tuples(
    st.sampled_from(
        [
            "open",
            "deposit",
            "withdraw",
            "withdraw all",
            "withdraw all",
            "close",
            "close",
            "close",
            "debit",
            "debit all",
            "credit",
            "refund",
            "refund",
        ]
    ),
    amounts,
)


def build(kind: Kind, amount: Decimal, state: AccountState, at: datetime) -> AccountCommand:
    """One command; the "all" kinds empty the account so that closing is reachable."""
    match kind:
        case "open":
            return OpenAccount(ACC, "cust-1", amount, at)
        case "deposit":
            return DepositMoney(ACC, amount, None, at)
        case "withdraw":
            return WithdrawMoney(ACC, amount, None, at)
        case "withdraw all":
            return WithdrawMoney(ACC, state.balance, None, at)
        case "close":
            return CloseAccount(ACC, None, at)
        case "debit":
            return DebitForTransfer(ACC, "tr", OTHER, amount, None, at)
        case "debit all":
            return DebitForTransfer(ACC, "tr", OTHER, state.balance, None, at)
        case "credit":
            return CreditForTransfer(ACC, "tr", OTHER, amount, None, at)
        case "refund":
            return RefundTransfer(ACC, "tr", OTHER, amount, "refused", at)


def ledger_balance(log: list[AccountEvent]) -> Decimal:
    """Opening balance + every deposit (credits and refunds too) - every withdrawal (debits)."""
    opening = sum((e.initial_balance for e in log if isinstance(e, AccountOpened)), ZERO)
    money_in = sum((e.amount for e in log if isinstance(e, MoneyDeposited)), ZERO)
    money_out = sum((e.amount for e in log if isinstance(e, MoneyWithdrawn)), ZERO)
    return opening + money_in - money_out


@given(
    start=st.sampled_from(["not opened", "opened", "closed"]),
    opening=amounts,
    script=st.lists(steps, max_size=40),
)
def test_one_account_follows_the_ledger(
    start: str, opening: Decimal, script: list[tuple[Kind, Decimal]]
) -> None:
    if start == "opened":
        script = [("open", opening), *script]
    elif start == "closed":
        script = [("open", ZERO), ("close", ZERO), *script]
    state, model, log = initial_state(), Ledger(), list[AccountEvent]()

    for minute, (kind, amount) in enumerate(script):
        at = T0 + timedelta(minutes=minute)
        command = build(kind, amount, state, at)
        expected = model.outcome(command)
        hypothesis.event(f"{kind} on {model.status}: {expected.value}")

        try:
            events = decide(command, state)
        except DomainError:
            assert expected is Outcome.REFUSED, f"{command} was refused"
            continue  # nothing to append, nothing to fold: the state is unchanged

        assert expected is not Outcome.REFUSED, f"{command} was accepted as {events}"
        assert len(events) == 1
        if expected is Outcome.RECORDED_REFUSAL:
            assert isinstance(events[0], WithdrawalRefused)
            assert evolve(state, events[0]) == state
        else:
            assert not isinstance(events[0], WithdrawalRefused)
            model = model.accept(command)
        for event in events:
            state = evolve(state, event)
        log.extend(events)

        assert state.status == model.status
        assert state.balance == model.balance == ledger_balance(log)
        assert state.balance >= 0
        if state.status == "closed":
            assert state.balance == model.refunded_since_close
        if expected is Outcome.ACCEPTED:
            assert state.last_activity_at == at


# ── two accounts: a whole transfer ────────────────────────────────────────────────────────

TargetKind = Literal["open", "closed", "missing"]


def account(account_id: str, balance: Decimal, kind: TargetKind) -> AccountState:
    if kind == "missing":
        return initial_state()
    state = evolve(initial_state(), AccountOpened(account_id, "cust", balance, T0))
    if kind == "closed":
        assert balance == 0
        state = evolve(state, AccountClosed(account_id, None, T0))
    return state


def run(command: AccountCommand, state: AccountState) -> tuple[AccountState, list[AccountEvent]]:
    events = decide(command, state)
    for event in events:
        state = evolve(state, event)
    return state, events


def transfer(
    source: AccountState, target: AccountState, amount: Decimal
) -> tuple[AccountState, AccountState, transfers.TransferState]:
    """Drive one transfer as the application does, using only the pure deciders."""
    at = T0 + timedelta(hours=1)
    process = transfers.initial_state()

    def record(command: transfers.TransferCommand) -> None:
        nonlocal process
        for event in transfers.decide(command, process):
            process = transfers.evolve(process, event)

    try:
        record(transfers.RequestTransfer("tr", ACC, OTHER, amount, None, at))
    except DomainError:
        return source, target, process

    source, [debit] = run(DebitForTransfer(ACC, "tr", OTHER, amount, None, at), source)
    if isinstance(debit, WithdrawalRefused):
        record(transfers.RejectTransfer("tr", debit.reason, at))
        return source, target, process
    record(transfers.RecordDebit("tr", at))

    try:
        target, _ = run(CreditForTransfer(OTHER, "tr", ACC, amount, None, at), target)
    except DomainError as refusal:
        source, _ = run(RefundTransfer(ACC, "tr", OTHER, amount, refusal.message, at), source)
        record(transfers.ReverseTransfer("tr", refusal.message, at))
    else:
        record(transfers.CompleteTransfer("tr", at))
    return source, target, process


@given(
    source_balance=amounts.filter(lambda a: a >= 0),
    source_closed=st.booleans(),
    target_balance=amounts.filter(lambda a: a >= 0),
    target_kind=st.sampled_from(["open", "closed", "missing"]),
    amount=amounts,
)
def test_a_transfer_conserves_the_sum_of_both_balances(
    source_balance: Decimal,
    source_closed: bool,
    target_balance: Decimal,
    target_kind: TargetKind,
    amount: Decimal,
) -> None:
    source = account(
        ACC, ZERO if source_closed else source_balance, "closed" if source_closed else "open"
    )
    target = account(OTHER, ZERO if target_kind != "open" else target_balance, target_kind)
    total = source.balance + target.balance

    after_source, after_target, process = transfer(source, target, amount)

    assert after_source.balance + after_target.balance == total
    assert after_source.balance >= 0
    assert process.status in {"none", "completed", "rejected", "reversed"}
    assert transfers.next_step(process) == "done"
    moved = process.status == "completed"
    assert after_source.balance == source.balance - (amount if moved else 0)
    assert after_target.balance == target.balance + (amount if moved else 0)
    if amount <= 0:
        assert process.status == "none"
    elif source_closed or amount > source.balance:
        assert process.status == "rejected"
    elif target_kind != "open":
        assert process.status == "reversed"
        assert after_target == target
    else:
        assert process.status == "completed"
