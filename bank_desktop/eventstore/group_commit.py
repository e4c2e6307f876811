"""Group commit: concurrent writers in one process share one durable transaction.

A durable commit costs an fsync (SQLite's WAL, PostgreSQL's WAL flush), and a store takes one
writer at a time. Threads that write at once (``serve``'s request threads, a window's workers)
would each wait for the lock and then pay a commit of their own. Here they queue instead:
the first writer to arrive while nobody commits becomes the *leader* and commits its own
write at once (no added latency when alone); writers arriving meanwhile wait, and when the
leader's commit is done the oldest of them leads the next commit for *all* that have queued.
Under load a commit carries as many writes as arrived during the previous one.

Each write is still checked and decided on its own (the adapter's ``commit`` runs them one
after the other inside the transaction, each seeing the ones before it), gets its own result,
and a conflict or a refusal fails that write alone. Nothing is answered before the commit
that carries it is durable; when the commit itself fails, every write in it fails with the
store's error, and none of them was written.

Processes do not share a transaction (SQLite and PostgreSQL give each its own), but the
effect carries over: while one process holds the store's write lock, the writers of another
queue behind their leader, and its next commit takes them all.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Final, Generic, TypeVar

from bank_desktop.eventstore.errors import EventStoreError

W = TypeVar("W")

_QUEUED: Final = 0
_TAKEN: Final = 1  #: in a leader's batch: it will be woken when committed
_LEADS: Final = 2  #: promoted: this writer's thread commits the queue


class _Waiter(Generic[W]):
    __slots__ = ("state", "wake", "writes")

    def __init__(self, writes: Sequence[W]) -> None:
        self.writes = writes
        self.state = _QUEUED
        self.wake = threading.Event()


class GroupCommit(Generic[W]):
    """Leader/follower batching of writes into shared commits (thread-safe).

    ``commit(writes)`` runs one transaction for the writes, in order, and must record every
    write's outcome on the write itself (its result or the exception it met); it is only ever
    called by one thread at a time. An exception escaping it is recorded by ``settle`` on each
    write that has no outcome yet.
    """

    def __init__(
        self,
        commit: Callable[[list[W]], None],
        settle: Callable[[W, BaseException], None],
    ) -> None:
        self._commit = commit
        self._settle = settle
        self._lock = threading.Lock()
        self._busy = False
        self._queue: list[_Waiter[W]] = []
        self._changed = threading.Condition(self._lock)
        self._watchers = 0  #: threads in wait_queued (none, outside tests)
        self.commits = 0  #: transactions committed (or attempted), for benchmarks
        self.writes = 0  #: writes they carried

    def submit(self, writes: Sequence[W]) -> None:
        """Commit ``writes`` (alone, or with others that queued meanwhile); returns once the
        commit that carried them has ended. Outcomes are on the writes."""
        with self._lock:
            if not self._busy:
                self._busy = True
                waiter = None
            else:
                waiter = _Waiter(writes)
                self._queue.append(waiter)
            if self._watchers:
                self._changed.notify_all()
        if waiter is None:
            self._lead(list(writes), [])
            return
        try:
            waiter.wake.wait()
        except BaseException:  # interrupted while queued: never strand the queue
            with self._lock:
                if waiter.state == _QUEUED:
                    self._queue.remove(waiter)
                    raise
            if waiter.state == _LEADS:
                self._lead_queue(waiter)
            raise
        if waiter.state == _LEADS:
            self._lead_queue(waiter)

    def queued(self) -> int:
        """How many writers wait for the next commit (tests and diagnostics)."""
        with self._lock:
            return len(self._queue)

    def wait_queued(self, count: int, timeout: float) -> bool:
        """Block until a commit is under way and at least ``count`` writers wait for the
        next one (tests)."""
        with self._changed:
            self._watchers += 1
            try:
                return self._changed.wait_for(
                    lambda: self._busy and len(self._queue) >= count, timeout
                )
            finally:
                self._watchers -= 1

    def _lead_queue(self, waiter: _Waiter[W]) -> None:
        with self._lock:
            others, self._queue = self._queue, []
            for other in others:
                other.state = _TAKEN
        writes = list(waiter.writes)
        for other in others:
            writes.extend(other.writes)
        self._lead(writes, others)

    def _lead(self, writes: list[W], followers: list[_Waiter[W]]) -> None:
        """Commit ``writes``, wake their writers, and hand the lead to the oldest waiter."""
        try:
            self.commits += 1
            self.writes += len(writes)
            try:
                self._commit(writes)
            except BaseException as exc:
                failure = exc if isinstance(exc, EventStoreError) else _interrupted(exc)
                for write in writes:
                    self._settle(write, failure)
                raise
        finally:
            for follower in followers:
                follower.wake.set()
            with self._lock:
                if self._queue:
                    successor = self._queue.pop(0)
                    successor.state = _LEADS
                    successor.wake.set()
                else:
                    self._busy = False


def _interrupted(exc: BaseException) -> EventStoreError:
    error = EventStoreError(
        f"The write was interrupted before it was committed ({type(exc).__name__}); "
        "nothing of it was written."
    )
    error.__cause__ = exc
    return error
