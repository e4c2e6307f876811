"""The one way off the GUI thread: run a function on a worker, get its result back by signal.

Modelled on superqt's thread worker: the runnable's signals live on a separate QObject (so they
are delivered on the GUI thread through queued connections), every exception becomes
``failed``, and running workers are kept referenced until they finish. Slots never block:
anything that can wait on disk or network goes through :func:`run_in_background`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

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
