"""Starting the window: the QApplication, the style, the composition root, the event loop."""

from __future__ import annotations

import linecache
import sys
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QSettings
from PySide6.QtWidgets import QApplication

from bank_desktop import __version__
from bank_desktop.config import APP_NAME, ORGANIZATION, Settings
from bank_desktop.gui import assets
from bank_desktop.gui.context import AppContext
from bank_desktop.gui.display import display_problem
from bank_desktop.gui.main_window import MainWindow


def application() -> QApplication:
    """The process's QApplication, created and styled once."""
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        QCoreApplication.setOrganizationName(ORGANIZATION)
        QCoreApplication.setApplicationName(APP_NAME)
        QCoreApplication.setApplicationVersion(__version__)
        app = QApplication(sys.argv[:1])
    if not app.property("bankDesktopStyled"):
        app.setStyleSheet(assets.style_sheet())
        app.setWindowIcon(assets.app_icon())
        app.setProperty("bankDesktopStyled", True)
    return app


def create_main_window(
    store_url: str,
    *,
    clerk_id: str,
    data_dir: Path | None = None,
    demo_events: int = 0,
    start: bool = True,
    offline_ok: bool = False,
    accept_store_reset: bool = False,
) -> MainWindow:
    """The window on ``store_url`` for ``clerk_id``; loading starts at once in the background.

    Raises EventStoreError when the store cannot be opened (bad URL, damaged file), unless
    ``offline_ok``: then the window opens offline, says why, offers Settings and keeps
    trying to open the store.
    """
    application()
    opener = AppContext.open_or_offline if offline_ok else AppContext.open
    context = opener(
        store_url,
        clerk_id=clerk_id,
        data_dir=data_dir,
        demo_events=demo_events,
        accept_store_reset=accept_store_reset,
    )
    window = MainWindow(context)
    if start:
        _drop_source_lines()
        window.start()
    return window


def _drop_source_lines() -> None:
    """PySide6's import hook (for ``from __feature__ import ...``) reads the source of every
    module imported after it into ``linecache``: some 8 MB of line strings here, kept for
    nothing. They go before the read model loads into the heap (a traceback that needs a line
    reads it again)."""
    linecache.clearcache()


def run(settings: Settings, *, demo_events: int = 0, accept_store_reset: bool = False) -> int:
    """Show the window and run the event loop until the clerk quits.

    Where no window can open (no display, a missing X11 library) it says so in one line and
    returns 2, before Qt would abort the process with a misleading message.
    """
    problem = display_problem()
    if problem is not None:
        print(f"bank-desktop: {problem}", file=sys.stderr)
        return 2
    app = application()
    window = create_main_window(
        settings.store_url,
        clerk_id=settings.clerk_id,
        data_dir=settings.data_dir,
        demo_events=demo_events,
        offline_ok=True,  # a store that cannot be opened must not lock the clerk out
        accept_store_reset=accept_store_reset,
    )
    if window.store_problem() is not None:
        print(
            f"bank-desktop: the store cannot be opened: {window.store_problem()}", file=sys.stderr
        )
    geometry = QSettings().value("window/geometry")
    if geometry is not None:
        window.restoreGeometry(geometry)
    window.show()
    return app.exec()
