"""A decider bundled with its wire codec: everything command handling needs for one stream kind."""

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
class Decider(Generic[C, E, S]):
    """``decide``/``evolve``/``initial_state`` from the domain plus how its events are stored."""

    name: str
    decide: Callable[[C, S], Sequence[E]]
    evolve: Callable[[S, E], S]
    initial_state: Callable[[], S]
    encode: Callable[[E], tuple[str, dict[str, Any]]]
    decode: Callable[[RecordedEvent], E | None]


# Every stored event of a stream reaches ``evolve``: one of a type the decider does not know is
# an UnrecognizedEvent the decider refuses on (skipping it once allowed an overdraft).
ACCOUNTS: Decider[accounts.AccountCommand, accounts.AccountHistoryEvent, accounts.AccountState] = (
    Decider(
        name="account",
        decide=accounts.decide,
        evolve=accounts.evolve,
        initial_state=accounts.initial_state,
        encode=encode_account_history,
        decode=decode_account_history,
    )
)

TRANSFERS: Decider[
    transfers.TransferCommand, transfers.TransferHistoryEvent, transfers.TransferState
] = Decider(
    name="transfer",
    decide=transfers.decide,
    evolve=transfers.evolve,
    initial_state=transfers.initial_state,
    encode=encode_transfer_history,
    decode=decode_transfer_history,
)
