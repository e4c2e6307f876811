"""The one way off the GUI thread: run a function on a worker, get its result back by signal.

:class:`BackgroundWork` is the one owner a window's work goes through: it knows what is in
flight, delivers an outcome only while its receiver still wants it, and hands a clerk's
command whose form has gone to the window to announce.

Modelled on superqt's thread worker: the runnable's signals live on a separate QObject (so they
are delivered on the GUI thread through queued connections), every exception becomes
``failed``, and running workers are kept referenced until they finish. Slots never block:
anything that can wait on disk or network goes through :func:`run_in_background`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

_log = logging.getLogger(__name__)


class WorkerSignals(QObject):
    succeeded = Signal(object)
    failed = Signal(object)  #: the exception (an instance of BaseException)
    finished = Signal()


class Worker(QRunnable):
    """Runs ``fn()`` on a pool thread; the outcome arrives on the GUI thread as a signal."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        super().__init__()
        self._fn = fn
        self.signals = WorkerSignals()
        self.setAutoDelete(False)  # Python keeps it alive (see _running) until finished

    def run(self) -> None:
        try:
            result = self._fn()
        except BaseException as exc:
            _log.debug("worker failed", exc_info=True)
            self.signals.failed.emit(exc)
        else:
            self.signals.succeeded.emit(result)
        finally:
            self.signals.finished.emit()


_running: set[Worker] = set()


def run_in_background(
    fn: Callable[[], Any],
    *,
    on_success: Callable[[Any], None] | None = None,
    on_failure: Callable[[BaseException], None] | None = None,
    pool: QThreadPool | None = None,
) -> Worker:
    """Start ``fn`` on ``pool`` (the global pool by default); callbacks run on the GUI thread."""
    worker = Worker(fn)
    if on_success is not None:
        worker.signals.succeeded.connect(on_success)
    if on_failure is not None:
        worker.signals.failed.connect(on_failure)
    else:
        worker.signals.failed.connect(
            lambda exc: _log.error("Background task failed: %s", exc, exc_info=exc)
        )
    _running.add(worker)
    worker.signals.finished.connect(lambda: _running.discard(worker))
    (pool or QThreadPool.globalInstance()).start(worker)
    return worker


def running_count() -> int:
    """Workers started and not yet finished (tests use it to wait for quiet)."""
    return len(_running)


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a clerk's command ended: what was asked, and the result or the error."""

    label: str  #: what the clerk asked for, e.g. "Deposit of $50.00 into account-…"
    result: Any = None
    error: BaseException | None = None
    detail: str = ""  #: the result in words ("balance $150.00"), for the announcement
    detached: bool = False  #: the form that submitted it was gone when the outcome arrived

    @property
    def succeeded(self) -> bool:
        return self.error is None


class Job:
    """One piece of work started through :class:`BackgroundWork`."""

    __slots__ = ("_describe", "detached", "label", "receiver")

    def __init__(
        self, receiver: QObject | None, label: str | None, describe: Callable[[Any], str] | None
    ) -> None:
        self.receiver = receiver
        self.label = label
        self._describe = describe
        self.detached = False

    def detach(self) -> None:
        """The receiver stops waiting (a form closed by Esc): its callbacks are dropped, and a
        command's outcome is announced by the owner instead."""
        self.detached = True

    def outcome(self, result: Any, error: BaseException | None) -> Outcome:
        detail = self._describe(result) if error is None and self._describe else ""
        assert self.label is not None
        return Outcome(self.label, result, error, detail, self.detached)


class BackgroundWork(QObject):
    """The one owner of a window's background work (Anki's ``CollectionOp`` idea).

    Every job names its receiver (the widget whose callbacks they are); the owner alone
    decides whether an outcome is still wanted: not after :meth:`shut_down`, not for a
    detached job, not for a receiver Qt has deleted. A job with a ``label`` is a clerk's
    command: its outcome is always emitted as ``command_finished`` (whether or not its form
    still waits), so the window can announce it. ``in_flight`` lists the commands not yet
    answered, which the window checks before it closes; ``idle`` fires when none are left.
    """

    command_finished = Signal(object)  #: Outcome
    idle = Signal()

    def __init__(self, parent: QObject | None = None, *, pool: QThreadPool | None = None) -> None:
        super().__init__(parent)
        self._pool = pool
        self._jobs: list[Job] = []
        self._shut_down = False

    def run(
        self,
        fn: Callable[[], Any],
        *,
        receiver: QObject | None = None,
        on_success: Callable[[Any], None] | None = None,
        on_failure: Callable[[BaseException], None] | None = None,
        label: str | None = None,
        describe: Callable[[Any], str] | None = None,
    ) -> Job:
        """Run ``fn`` on a worker; callbacks run on the GUI thread while they are wanted."""
        job = Job(receiver, label, describe)
        self._jobs.append(job)
        run_in_background(
            fn,
            on_success=lambda result: self._finish(job, on_success, result, None),
            on_failure=lambda exc: self._finish(job, on_failure, None, exc),
            pool=self._pool,
        )
        return job

    def in_flight(self) -> list[Job]:
        """The clerk's commands (labelled jobs) still waiting for the store."""
        return [job for job in self._jobs if job.label is not None]

    def shut_down(self) -> None:
        """The window is closing: from now on no callback runs and nothing is announced."""
        self._shut_down = True

    def wanted(self, job: Job) -> bool:
        """Whether ``job``'s receiver still wants its outcome (the one "still alive?" check)."""
        return (
            not self._shut_down
            and not job.detached
            and (job.receiver is None or shiboken6.isValid(job.receiver))
        )

    def _finish(
        self,
        job: Job,
        callback: Callable[[Any], None] | None,
        result: Any,
        error: BaseException | None,
    ) -> None:
        if job in self._jobs:
            self._jobs.remove(job)
        if self._shut_down:
            if error is not None and job.label is not None:
                _log.warning("%s failed after the window closed: %s", job.label, error)
            return
        if self.wanted(job):
            if callback is not None:
                callback(result if error is None else error)
            elif error is not None:
                _log.error("Background task failed: %s", error, exc_info=error)
        elif job.label is not None:
            job.detach()  # its receiver is gone: the owner announces it
        if job.label is not None:
            self.command_finished.emit(job.outcome(result, error))
        if not self.in_flight():
            self.idle.emit()
