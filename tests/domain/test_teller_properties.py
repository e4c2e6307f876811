"""Properties of holds and reversals over random command sequences on one account.

Random deposits, withdrawals, holds (some expiring), releases and reversals of earlier lines,
at a clock that only moves forward. Whatever the decider accepts:

- money is conserved: the balance is the opening plus every deposit minus every withdrawal
  the decider produced, and a reversal moves exactly the amount of the line it reverses;
- the available balance (balance less the holds active at that moment) never goes below zero
  after any accepted command, and neither does the balance;
- each line is reversed at most once, and a reversal is never itself reversed;
- a refusal changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from bank_desktop.domain import accounts
from bank_desktop.domain.accounts import (
    AccountCommand,
    AccountState,
    DepositMoney,
    HoldPlaced,
    HoldReleased,
    MoneyDeposited,
    MoneyWithdrawn,
    OpenAccount,
    PlaceHold,
    ReleaseHold,
    ReverseTransaction,
    WithdrawMoney,
)
from bank_desktop.domain.errors import DomainError
from bank_desktop.domain.money import ZERO
from bank_desktop.domain.reversals import ReversalTarget

ACC = "acc-1"
T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)

cents = st.integers(min_value=-500, max_value=40_000).map(lambda c: Decimal(c).scaleb(-2))
steps = st.lists(
    st.tuples(
        st.sampled_from(["deposit", "withdraw", "hold", "release", "reverse"]),
        cents,
        st.integers(min_value=0, max_value=30),  # which earlier line or hold
        st.integers(min_value=0, max_value=120),  # minutes the clock moves on
        st.one_of(st.none(), st.integers(min_value=-10, max_value=240)),  # hold expiry, min
    ),
    max_size=40,
)


@dataclass
class Line:
    event_id: str
    kind: str
    amount: Decimal
    reverses: str | None


@given(opening=cents.filter(lambda a: a >= 0), plan=steps)
@settings(max_examples=300, deadline=None)
def test_money_is_conserved_and_available_never_below_zero(
    opening: Decimal, plan: list[tuple[str, Decimal, int, int, int | None]]
) -> None:
    now = T0
    state = _apply(
        accounts.initial_state(), accounts.decide(OpenAccount(ACC, "c", opening, now), _empty())
    )
    lines: list[Line] = []
    holds: list[str] = []
    expected_balance = opening
    reversed_once: set[str] = set()
    for number, (kind, amount, pick, minutes, expiry) in enumerate(plan):
        now += timedelta(minutes=minutes)
        command = _command(kind, amount, pick, expiry, now, number, lines, holds)
        try:
            events = accounts.decide(command, state)
        except DomainError:
            continue  # a refusal: nothing to apply, state unchanged by construction
        assert len(events) == 1
        [event] = events
        state = accounts.evolve(state, event)
        event_id = f"ev-{number}"
        match event:
            case MoneyDeposited():
                expected_balance += event.amount
                lines.append(Line(event_id, event.type, event.amount, event.reverses_event_id))
            case MoneyWithdrawn():
                expected_balance -= event.amount
                lines.append(Line(event_id, event.type, event.amount, event.reverses_event_id))
            case HoldPlaced():
                holds.append(event.hold_id)
            case HoldReleased():
                pass
        reverses = getattr(event, "reverses_event_id", None)
        if reverses is not None:
            assert reverses not in reversed_once, "a line reversed twice"
            reversed_once.add(reverses)
            original = next(line for line in lines if line.event_id == reverses)
            assert original.reverses is None, "a reversal was reversed"
            assert event.amount == original.amount  # type: ignore[attr-defined]
        assert state.balance == expected_balance
        assert state.balance >= ZERO
        assert state.available_at(now) >= ZERO


def _command(  # noqa: PLR0917
    kind: str,
    amount: Decimal,
    pick: int,
    expiry: int | None,
    now: datetime,
    number: int,
    lines: list[Line],
    holds: list[str],
) -> AccountCommand:
    match kind:
        case "deposit":
            return DepositMoney(ACC, amount, None, now)
        case "withdraw":
            return WithdrawMoney(ACC, amount, None, now)
        case "hold":
            expires = None if expiry is None else now + timedelta(minutes=expiry)
            return PlaceHold(ACC, f"hold-{number}", amount, "held", expires, now)
        case "release":
            return ReleaseHold(ACC, holds[pick % len(holds)] if holds else "hold-none", now)
        case _:
            target = None
            if lines:
                line = lines[pick % len(lines)]
                target = ReversalTarget(
                    line.event_id, line.kind, ACC, line.amount, reverses_event_id=line.reverses
                )
            event_id = target.event_id if target else "ev-x"
            return ReverseTransaction(ACC, event_id, target, "fix", now)


def _empty() -> AccountState:
    return accounts.initial_state()


def _apply(state: AccountState, events: list[accounts.AccountEvent]) -> AccountState:
    for event in events:
        state = accounts.evolve(state, event)
    return state
