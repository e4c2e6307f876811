"""Kinds of stream: for each (accounts, transfers), the domain's decider and how its events are
stored, which is everything command handling needs.

A :class:`StreamKind` is not a decider (those are the pure functions of ``domain/``): it pairs
one with the encoding of its events (``application/event_codec.py``), and names the kind, which
keys the command handler's cache.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from bank_desktop.application.event_codec import (
    decode_account_history,
    decode_transfer_history,
    encode_account_history,
    encode_transfer_history,
)
from bank_desktop.domain import accounts, transfers
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
