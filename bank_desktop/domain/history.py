"""An event a decider does not understand, kept in the fold instead of being skipped.

A stored event of an unknown type (a newer version's, or one whose type was altered) used to
be skipped while deciding, so a withdrawal renamed in the store no longer counted and allowed an
overdraft. Codecs now hand such an event to ``evolve`` as :class:`UnrecognizedEvent`; the
state remembers the first one, and ``decide`` refuses what it cannot decide safely.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class UnrecognizedEvent:
    """A stored event of a type this version does not know, at its stream position."""

    event_type: str
    stream_position: int

    def describe(self) -> str:
        return f"event type {self.event_type!r} at position {self.stream_position}"
