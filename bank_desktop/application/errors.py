"""Errors of the application layer that are neither business rules nor store failures."""

from __future__ import annotations

from bank_desktop.eventstore.errors import StoreDamagedError
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
