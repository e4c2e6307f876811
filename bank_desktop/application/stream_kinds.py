"""Kinds of stream: for each (accounts, transfers, staff, policy, approvals), the domain's
decider and how its events are stored, which is everything command handling needs.

A :class:`StreamKind` is not a decider (those are the pure functions of ``domain/``): it pairs
one with the encoding of its events (``application/event_codec.py``), and names the kind, which
keys the command handler's cache.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from bank_desktop.application.control_codec import (
    decode_approval_history,
    decode_policy_history,
    decode_staff_history,
    encode_approval_history,
    encode_policy_history,
    encode_staff_history,
)
from bank_desktop.application.event_codec import (
    decode_account_history,
    decode_transfer_history,
    encode_account_history,
    encode_transfer_history,
)
from bank_desktop.domain import accounts, approvals, policy, staff, transfers
from bank_desktop.eventstore.port import RecordedEvent

C = TypeVar("C")
E = TypeVar("E")
S = TypeVar("S")


@dataclass(frozen=True, slots=True)
class StreamKind(Generic[C, E, S]):
    """``decide``/``evolve``/``initial_state`` from the domain, and how its events are stored."""

    name: str
    decide: Callable[[C, S], Sequence[E]]
    evolve: Callable[[S, E], S]
    initial_state: Callable[[], S]
    encode: Callable[[E], tuple[str, dict[str, Any]]]
    decode: Callable[[RecordedEvent], E | None]


# Every stored event of a stream reaches ``evolve``: one of a type the decider does not know is
# an UnrecognizedEvent the decider refuses on (skipping it once allowed an overdraft).
ACCOUNTS: StreamKind[
    accounts.AccountCommand, accounts.AccountHistoryEvent, accounts.AccountState
] = StreamKind(
    name="account",
    decide=accounts.decide,
    evolve=accounts.evolve,
    initial_state=accounts.initial_state,
    encode=encode_account_history,
    decode=decode_account_history,
)

TRANSFERS: StreamKind[
    transfers.TransferCommand, transfers.TransferHistoryEvent, transfers.TransferState
] = StreamKind(
    name="transfer",
    decide=transfers.decide,
    evolve=transfers.evolve,
    initial_state=transfers.initial_state,
    encode=encode_transfer_history,
    decode=decode_transfer_history,
)

# ── dual control: the staff register, the policy, approvals ──────────────────────────────

STAFF: StreamKind[staff.StaffCommand, staff.StaffHistoryEvent, staff.StaffState] = StreamKind(
    name="staff",
    decide=staff.decide,
    evolve=staff.evolve,
    initial_state=staff.initial_state,
    encode=encode_staff_history,
    decode=decode_staff_history,
)

#: Deciding on the policy or an approval takes the acting clerk's roles: see :func:`acting`.
POLICY: StreamKind[policy.PolicyCommand, policy.PolicyHistoryEvent, policy.PolicyState] = (
    StreamKind(
        name="policy",
        decide=policy.decide,
        evolve=policy.evolve,
        initial_state=policy.initial_state,
        encode=encode_policy_history,
        decode=decode_policy_history,
    )
)

APPROVALS: StreamKind[
    approvals.ApprovalCommand, approvals.ApprovalHistoryEvent, approvals.ApprovalState
] = StreamKind(
    name="approval",
    decide=approvals.decide,
    evolve=approvals.evolve,
    initial_state=approvals.initial_state,
    encode=encode_approval_history,
    decode=decode_approval_history,
)


def acting(
    kind: StreamKind[C, E, S],
    decide: Callable[[C, S, Collection[str]], Sequence[E]],
    roles: Collection[str],
) -> StreamKind[C, E, S]:
    """``kind`` deciding for a clerk who holds ``roles`` (same name: the same cached state)."""
    return dataclasses.replace(kind, decide=lambda command, state: decide(command, state, roles))
