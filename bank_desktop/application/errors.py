"""Errors of the application layer that are neither business rules nor store failures."""

from __future__ import annotations

import re

from bank_desktop.eventstore.errors import (
    EventStoreError,
    StoreDamagedError,
    StoreUnavailableError,
)
from bank_desktop.eventstore.port import RecordedEvent


class MalformedEventError(StoreDamagedError):
    """A stored event does not match its type's schema: the store is damaged (exit 2).

    Projections skip such an event with a warning; command handling refuses to act on a
    stream it cannot read, because guessing a balance is worse than asking IT to look.
    """

    def __init__(self, event: RecordedEvent, problem: str) -> None:
        super().__init__(
            f"Event {event.type} at {event.stream_id} position {event.stream_position} "
            f"(global {event.global_position}) is malformed: {problem}. Nothing was changed; "
            "ask IT to inspect the store."
        )
        self.event_id = event.event_id
        self.stream_id = event.stream_id
        self.stream_position = event.stream_position
        self.global_position = event.global_position
        self.problem = problem


class TransferInterruptedError(EventStoreError):
    """A recorded transfer could not be driven to its end because the store failed.

    Its money may have left the source: the message says so instead of repeating the store
    error's own reassurance ("nothing was saved"), which was about one write, not the transfer.
    Recovery (or the same request sent again with its request id) finishes it, exactly once.
    """

    def __init__(self, transfer_id: str, from_account_id: str, cause: EventStoreError) -> None:
        super().__init__(
            f"Transfer {transfer_id} was recorded but not finished: {_without_reassurance(cause)} "
            f"The money may already have left {from_account_id}; it is never lost and never "
            "moved twice: recovery completes the transfer or returns the money, and sending the "
            "same request again with its request id finishes it now."
        )
        self.transfer_id = transfer_id
        self.from_account_id = from_account_id
        self.cause = cause


class TransferInterruptedUnavailableError(TransferInterruptedError, StoreUnavailableError):
    """An interrupted transfer whose store was unavailable: still a ``StoreUnavailableError``,
    so a caller that sends an unavailable request again under its id goes on doing so."""


def transfer_interrupted(
    transfer_id: str, from_account_id: str, cause: EventStoreError
) -> TransferInterruptedError:
    """The error for a recorded transfer stopped by ``cause``, of the same family as it."""
    kind = (
        TransferInterruptedUnavailableError
        if isinstance(cause, StoreUnavailableError)
        else TransferInterruptedError
    )
    return kind(transfer_id, from_account_id, cause)


_REASSURANCE = re.compile(
    r"[^.;]*\bnothing (?:was|has been|is) (?:changed|saved|written)\b[^.;]*[.;]?", re.I
)


def _without_reassurance(cause: BaseException) -> str:
    """The store error's text without its "nothing was saved": true of its one write, false
    of a transfer whose debit is done."""
    text = _REASSURANCE.sub("", str(cause)).strip()
    text = re.sub(r";\s*(?=[A-Z])", ". ", re.sub(r"\s{2,}", " ", text)).strip(" ;")
    if not text:
        return "the store failed."
    return text if text.endswith(".") else f"{text}."
