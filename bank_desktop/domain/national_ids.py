"""The national-id claim decider: one stream per national id says which customer holds it.

Two clerks registering two people with the same national id at the same moment write two
different customer streams, which no expected position can order. Both first claim the id on
its own stream (``national-id-<digest of its normal form>``): appending the claim to a stream
at the position the decider saw is the one place such a race is decided, so exactly one wins
and the other is refused, in this process or any other.

The claim made for a registration carries the registration itself, so a registration
interrupted between the claim and the customer's stream can be finished by whoever finds the
claim (the customer then exists, and the id is rightly taken), never leaving an id blocked
by a customer nobody can see. A change of national id claims the new id first and releases
the old one after the change is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, assert_never

from bank_desktop.domain.customers import CustomerRegistered
from bank_desktop.domain.errors import DuplicateNationalIdError, UnreadableHistoryError
from bank_desktop.domain.history import UnrecognizedEvent

# ── Commands ──────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class ClaimNationalId:
    type: ClassVar[str] = "national_id.claim"
    national_id: str
    customer_id: str
    at: datetime
    #: The registration this claim is made for (None: a change of an existing customer's id).
    registration: CustomerRegistered | None = None


@dataclass(frozen=True, slots=True)
class ReleaseNationalId:
    type: ClassVar[str] = "national_id.release"
    national_id: str
    customer_id: str
    at: datetime


NationalIdCommand = ClaimNationalId | ReleaseNationalId

# ── Events ────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class NationalIdClaimed:
    type: ClassVar[str] = "national_id.claimed"
    national_id: str
    customer_id: str
    claimed_at: datetime
    registration: CustomerRegistered | None = None


@dataclass(frozen=True, slots=True)
class NationalIdReleased:
    type: ClassVar[str] = "national_id.released"
    national_id: str
    customer_id: str
    released_at: datetime


NationalIdEvent = NationalIdClaimed | NationalIdReleased
NationalIdHistoryEvent = NationalIdEvent | UnrecognizedEvent
NATIONAL_ID_EVENT_TYPES: tuple[str, ...] = (NationalIdClaimed.type, NationalIdReleased.type)

# ── State ─────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class NationalIdState:
    """Who holds the id now (None: nobody), and the registration their claim carried."""

    holder: str | None = None
    national_id: str | None = None
    claimed_at: datetime | None = None
    registration: CustomerRegistered | None = None
    unrecognized: str | None = None


def initial_state() -> NationalIdState:
    return NationalIdState()


# ── decide ────────────────────────────────────────────────────────────────────────────────


def decide(command: NationalIdCommand, state: NationalIdState) -> list[NationalIdEvent]:
    if state.unrecognized is not None:
        raise UnreadableHistoryError(command.national_id, "National id", state.unrecognized)
    match command:
        case ClaimNationalId():
            if state.holder == command.customer_id:
                return []  # this customer's already (a repeated request)
            if state.holder is not None:
                shown = state.national_id or command.national_id
                raise DuplicateNationalIdError(shown, state.holder)
            return [
                NationalIdClaimed(
                    command.national_id, command.customer_id, command.at, command.registration
                )
            ]
        case ReleaseNationalId():
            if state.holder != command.customer_id:
                return []  # not (or no longer) theirs: nothing to release
            return [NationalIdReleased(command.national_id, command.customer_id, command.at)]
        case _:
            assert_never(command)


# ── evolve ────────────────────────────────────────────────────────────────────────────────


def evolve(state: NationalIdState, event: NationalIdHistoryEvent) -> NationalIdState:
    match event:
        case NationalIdClaimed():
            return NationalIdState(
                event.customer_id,
                event.national_id,
                event.claimed_at,
                event.registration,
                state.unrecognized,
            )
        case NationalIdReleased():
            if state.holder != event.customer_id:
                return state
            return NationalIdState(None, None, None, None, state.unrecognized)
        case UnrecognizedEvent():
            if state.unrecognized is not None:
                return state
            return NationalIdState(
                state.holder,
                state.national_id,
                state.claimed_at,
                state.registration,
                event.describe(),
            )
        case _:
            assert_never(event)
