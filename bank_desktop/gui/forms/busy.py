"""A form's one request in flight: what the command forms and the statement export share.

While a request is on its way its button is disabled (a second Enter posts nothing), and
after :data:`SLOW_AFTER_MS` the form says it is still waiting; Esc detaches the form from the
request, whose outcome then goes to the window (:class:`~bank_desktop.gui.workers.BackgroundWork`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QPushButton

from bank_desktop.gui.workers import Job

#: After this long in flight the form says it is still waiting (a slow or dead store).
SLOW_AFTER_MS: Final = 800


class Busy(QObject):
    """The request in flight (if any), the button it disables, the "still waiting" timer."""

    def __init__(
        self, button: QPushButton, still_waiting: Callable[[], None], parent: QObject
    ) -> None:
        super().__init__(parent)
        self._button = button
        self._still_waiting = still_waiting
        self._job: Job | None = None
        self._slow = QTimer(self)
        self._slow.setSingleShot(True)
        self._slow.setInterval(SLOW_AFTER_MS)
        self._slow.timeout.connect(self._slow_answer)

    @property
    def in_flight(self) -> bool:
        return self._job is not None

    def start(self, job: Job) -> None:
        """``job`` is on its way: disable the button, start counting."""
        self._job = job
        self._button.setEnabled(False)
        self._slow.start()

    def finished(self, *, enable: bool = True) -> None:
        """The answer came (or the form lets go of it); the button works again if ``enable``."""
        self._job = None
        self._slow.stop()
        if enable:
            self._button.setEnabled(True)

    def _slow_answer(self) -> None:
        if self._job is not None:
            self._still_waiting()

    def detach(self) -> None:
        """Esc or Cancel: the form stops waiting; the request is not taken back."""
        if self._job is not None:
            self._job.detach()
        self.finished()
