"""What the reliability tests share: spawning processes, collecting their replies, and a
recorder for what a live subscription delivers."""

from __future__ import annotations

import multiprocessing
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any

from bank_desktop.application import SubscriptionState, SubscriptionStatus
from bank_desktop.eventstore.port import RecordedEvent

SPAWN = multiprocessing.get_context("spawn")
REPLY_TIMEOUT = 240.0


def gather(results: Any, processes: Sequence[Any], timeout: float = REPLY_TIMEOUT) -> list[Any]:
    """One ("ok", payload) reply per process, in arrival order; fails with the worker's
    traceback on ("error", ...), and does not wait on a process that died without a reply."""
    replies: list[Any] = []
    waited = 0.0
    grace = 3  # a reply put just before exiting may still be on its way
    while len(replies) < len(processes):
        try:
            kind, body = results.get(timeout=1.0)
        except queue.Empty:
            waited += 1.0
            exited = [p for p in processes if p.exitcode is not None]
            if len(exited) > len(replies):
                grace -= 1
            if grace <= 0 or waited > timeout:
                raise AssertionError(
                    f"{len(processes) - len(replies)} workers never replied "
                    f"(exit codes {[p.exitcode for p in processes]})"
                ) from None
            continue
        if kind != "ok":
            raise AssertionError(f"a worker failed:\n{body}")
        replies.append(body)
    for process in processes:
        process.join(30)
        assert process.exitcode == 0, f"{process.name} exited with {process.exitcode}"
    return replies


class Recorder:
    """Collects what a SubscriptionRunner delivers and its statuses; tests wait on it.

    Delivery order is checked as it happens: each event must be the one right after the last
    (global positions +1), so a gap, a repeat or a reordering is caught at once.
    """

    def __init__(self, after: int = 0) -> None:
        self.events: list[RecordedEvent] = []
        self.statuses: list[SubscriptionStatus] = []
        self.problems: list[str] = []
        self.position = after
        self.batches = 0
        self.changed = threading.Condition()

    def on_events(self, batch: Sequence[RecordedEvent]) -> None:
        with self.changed:
            self.batches += 1
            for event in batch:
                if event.global_position != self.position + 1:
                    self.problems.append(f"delivered {event.global_position} after {self.position}")
                self.position = event.global_position
                self.events.append(event)
            self.changed.notify_all()

    def on_status(self, status: SubscriptionStatus) -> None:
        with self.changed:
            self.statuses.append(status)
            self.changed.notify_all()

    def wait(self, predicate: Callable[[], bool], timeout: float = 60.0, what: str = "") -> None:
        with self.changed:
            if not self.changed.wait_for(predicate, timeout):
                raise AssertionError(f"not reached within {timeout} s: {what or predicate}")

    def states(self) -> list[SubscriptionState]:
        with self.changed:
            return [s.state for s in self.statuses]

    def last_state(self) -> SubscriptionState | None:
        with self.changed:
            return self.statuses[-1].state if self.statuses else None


class Progress:
    """Tallies the (kind, detail) messages worker processes put on a queue, on a thread of its
    own (a worker cannot exit while its queue is unread), so a test can wait for "20 more
    commands done" or "3 more failures" instead of sleeping."""

    def __init__(self, messages: Any) -> None:
        self._messages = messages
        self._changed = threading.Condition()
        self._stopped = False
        self.counts: dict[str, int] = {}
        self.details: dict[str, list[Any]] = {}
        self._thread = threading.Thread(target=self._consume, name="progress", daemon=True)
        self._thread.start()

    def _consume(self) -> None:
        while not self._stopped:
            try:
                kind, detail = self._messages.get(timeout=0.2)
            except queue.Empty:
                continue
            with self._changed:
                self.counts[kind] = self.counts.get(kind, 0) + 1
                self.details.setdefault(kind, []).append(detail)
                self._changed.notify_all()

    def count(self, *kinds: str) -> int:
        with self._changed:
            return sum(self.counts.get(kind, 0) for kind in kinds)

    def wait_for(self, kinds: tuple[str, ...], more: int, timeout: float = 60.0) -> None:
        """Until ``more`` further messages of ``kinds`` than now have arrived."""
        with self._changed:
            goal = sum(self.counts.get(kind, 0) for kind in kinds) + more
            if not self._changed.wait_for(
                lambda: sum(self.counts.get(kind, 0) for kind in kinds) >= goal, timeout
            ):
                raise AssertionError(f"no {more} more {kinds} within {timeout} s: {self.counts}")

    def stop(self) -> None:
        self._stopped = True
        self._thread.join(5)
