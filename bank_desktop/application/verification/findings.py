"""What a verification found, and its report: for people (one line a finding) and machines."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final, Literal

#: What a finding is about.
Kind = Literal[
    "chain",  # a hash does not match, a link is broken, an event is unchained mid-stream
    "position",  # a stream or global position missing, repeated or out of order
    "drift",  # a persisted read model or snapshot disagrees with the events
    "money",  # balances, overdrafts, closings: money not conserved
    "transfer",  # a transfer not settled, or its legs not matching it
    "history",  # an event this version cannot read
    "seal",  # the store disagrees with a seal taken earlier
    "store",  # the store itself: its file, its guards, what this computer saw of it
    "unchained",  # events from before the chain (a notice)
]
#: Findings kept per kind; beyond it they are only counted (a wrecked store must not produce
#: a report of a million lines).
KEPT_PER_KIND: Final = 1000


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing verification found: a problem (fails it) or a notice (informs)."""

    kind: Kind
    message: str
    problem: bool = True
    stream_id: str | None = None
    position: int | None = None  #: the stream position it is about
    global_position: int | None = None

    def where(self) -> str:
        parts = []
        if self.stream_id is not None:
            at = f" @ {self.position}" if self.position is not None else ""
            parts.append(f"{self.stream_id}{at}")
        if self.global_position is not None:
            parts.append(f"global {self.global_position:,}")
        return f"{', '.join(parts)}: " if parts else ""

    def __str__(self) -> str:
        return (
            f"{'problem' if self.problem else 'notice'}: [{self.kind}] {self.where()}{self.message}"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "problem": self.problem,
            "streamId": self.stream_id,
            "position": self.position,
            "globalPosition": self.global_position,
            "message": self.message,
        }


@dataclass(slots=True)
class Findings:
    """Findings as they are made: kept up to :data:`KEPT_PER_KIND` a kind, all counted."""

    kept: list[Finding] = field(default_factory=list)
    problems: Counter[str] = field(default_factory=Counter)
    notices: Counter[str] = field(default_factory=Counter)

    def add(self, finding: Finding) -> None:
        counts = self.problems if finding.problem else self.notices
        counts[finding.kind] += 1
        if self.problems[finding.kind] + self.notices[finding.kind] <= KEPT_PER_KIND:
            self.kept.append(finding)

    def extend(self, findings: Iterable[Finding]) -> None:
        for finding in findings:
            self.add(finding)

    def problem(self, kind: Kind, message: str, **where: Any) -> None:
        self.add(Finding(kind, message, True, **where))

    def notice(self, kind: Kind, message: str, **where: Any) -> None:
        self.add(Finding(kind, message, False, **where))

    def merge(self, other: Findings) -> None:
        """Add what another part of the verification found (another process's)."""
        kept = Counter(finding.kind for finding in self.kept)
        for finding in other.kept:
            if kept[finding.kind] < KEPT_PER_KIND:
                kept[finding.kind] += 1
                self.kept.append(finding)
        self.problems.update(other.problems)
        self.notices.update(other.notices)

    @property
    def problem_count(self) -> int:
        return sum(self.problems.values())

    @property
    def omitted(self) -> int:
        return sum(self.problems.values()) + sum(self.notices.values()) - len(self.kept)
