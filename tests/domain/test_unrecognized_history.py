"""The deciders and history they do not understand (issue 11, item 7), as properties.

Whatever the known history, once a stream holds an event the decider does not know, every
command is refused with ``UnreadableHistoryError`` naming it, except the two that must never be
blocked: a transfer's debit is *recorded* as refused (the fence that stops any later driver
from debiting), and a refund lands (it only gives back what a transfer took).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bank_desktop.domain import accounts, transfers
from bank_desktop.domain.errors import UnreadableHistoryError
from bank_desktop.domain.history import UnrecognizedEvent

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ACC = "account-1"

known_events = st.lists(
    st.one_of(
        st.integers(1, 10_000).map(
            lambda c: accounts.MoneyDeposited(ACC, Decimal(c).scaleb(-2), None, T0)
        ),
        st.integers(1, 100).map(
            lambda c: accounts.MoneyWithdrawn(ACC, Decimal(c).scaleb(-2), None, T0)
        ),
    ),
    max_size=6,
)

commands = st.sampled_from(
    [
        accounts.OpenAccount(ACC, "c", Decimal("1.00"), T0),
        accounts.DepositMoney(ACC, Decimal("5.00"), None, T0),
        accounts.WithdrawMoney(ACC, Decimal("0.01"), None, T0),
        accounts.CloseAccount(ACC, None, T0),
        accounts.CreditForTransfer(ACC, "transfer-x", "account-2", Decimal("5.00"), None, T0),
        accounts.DebitForTransfer(ACC, "transfer-x", "account-2", Decimal("0.01"), None, T0),
        accounts.RefundTransfer(ACC, "transfer-x", "account-2", Decimal("5.00"), "r", T0),
    ]
)


@given(
    before=known_events,
    after=known_events,
    kind=st.text(min_size=1, max_size=20),
    command=commands,
)
def test_an_unknown_event_anywhere_refuses_all_but_the_fence_and_the_refund(
    before: list[accounts.AccountEvent],
    after: list[accounts.AccountEvent],
    kind: str,
    command: accounts.AccountCommand,
) -> None:
    state = accounts.evolve(
        accounts.initial_state(), accounts.AccountOpened(ACC, "c", Decimal("1000.00"), T0)
    )
    history: list[accounts.AccountHistoryEvent] = [
        *before,
        UnrecognizedEvent(kind, len(before) + 2),
        *after,
    ]
    for event in history:
        state = accounts.evolve(state, event)
    assert state.unrecognized == f"event type {kind!r} at position {len(before) + 2}"
    if isinstance(command, accounts.RefundTransfer):
        (refund,) = accounts.decide(command, state)
        assert isinstance(refund, accounts.MoneyDeposited)
        assert refund.reversal
    elif isinstance(command, accounts.DebitForTransfer):
        (fence,) = accounts.decide(command, state)
        assert isinstance(fence, accounts.WithdrawalRefused)
        assert state.unrecognized in fence.reason
    else:
        with pytest.raises(UnreadableHistoryError) as refused:
            accounts.decide(command, state)
        assert refused.value.unrecognized == state.unrecognized


def test_an_unknown_event_before_the_opening_survives_the_opening() -> None:
    state = accounts.evolve(accounts.initial_state(), UnrecognizedEvent("account.frozen", 1))
    state = accounts.evolve(state, accounts.AccountOpened(ACC, "c", Decimal("1.00"), T0))
    with pytest.raises(UnreadableHistoryError):
        accounts.decide(accounts.DepositMoney(ACC, Decimal("1.00"), None, T0), state)


@given(step=st.integers(0, 2), kind=st.text(min_size=1, max_size=20))
def test_a_transfer_with_an_unknown_event_decides_nothing(step: int, kind: str) -> None:
    at = T0 + timedelta(seconds=1)
    state = transfers.evolve(
        transfers.initial_state(),
        transfers.TransferRequested("transfer-x", "a", "b", Decimal("5.00"), None, T0),
    )
    if step:
        state = transfers.evolve(state, transfers.TransferDebited("transfer-x", at))
    state = transfers.evolve(state, UnrecognizedEvent(kind, 3))
    for command in (
        transfers.RecordDebit("transfer-x", at),
        transfers.CompleteTransfer("transfer-x", at),
        transfers.RejectTransfer("transfer-x", "r", at),
        transfers.ReverseTransfer("transfer-x", "r", at),
    ):
        with pytest.raises(UnreadableHistoryError):
            transfers.decide(command, state)
