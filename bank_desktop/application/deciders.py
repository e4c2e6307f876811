"""A decider bundled with its wire codec: everything command handling needs for one stream kind."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from bank_desktop.application.event_codec import (
    decode_account_event,
    decode_transfer_event,
    encode_account_event,
    encode_transfer_event,
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


ACCOUNTS: Decider[accounts.AccountCommand, accounts.AccountEvent, accounts.AccountState] = Decider(
    name="account",
    decide=accounts.decide,
    evolve=accounts.evolve,
    initial_state=accounts.initial_state,
    encode=encode_account_event,
    decode=decode_account_event,
)

TRANSFERS: Decider[transfers.TransferCommand, transfers.TransferEvent, transfers.TransferState] = (
    Decider(
        name="transfer",
        decide=transfers.decide,
        evolve=transfers.evolve,
        initial_state=transfers.initial_state,
        encode=encode_transfer_event,
        decode=decode_transfer_event,
    )
)
