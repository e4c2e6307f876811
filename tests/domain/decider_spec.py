"""A tiny given/when helper for pure deciders, in the style of Emmett's ``DeciderSpecification``.

``spec.given(*events).when(command)`` folds the events with ``evolve`` from the initial state,
then returns what ``decide`` returns for the command, or lets its ``DomainError`` propagate so a
test can catch it with ``pytest.raises``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce
from typing import Generic, TypeVar

S = TypeVar("S")
C = TypeVar("C")
E = TypeVar("E")


@dataclass(frozen=True)
class DeciderSpec(Generic[S, C, E]):
    decide: Callable[[C, S], list[E]]
    evolve: Callable[[S, E], S]
    initial_state: Callable[[], S]

    def given(self, *events: E) -> Given[S, C, E]:
        return Given(self, events)


@dataclass(frozen=True)
class Given(Generic[S, C, E]):
    spec: DeciderSpec[S, C, E]
    events: tuple[E, ...]

    @property
    def state(self) -> S:
        """The state folded from the given events."""
        return reduce(self.spec.evolve, self.events, self.spec.initial_state())

    def when(self, command: C) -> list[E]:
        """The events ``decide`` produces for ``command`` (a refusal raises)."""
        return self.spec.decide(command, self.state)
