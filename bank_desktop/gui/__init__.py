"""The clerk's window (PySide6). The only package that imports Qt.

``app.py`` wires it (the composition root), ``main_window.py`` lays it out and holds its
actions, ``session.py`` loads the read model and applies the live feed, ``accounts_page.py``
and ``models/`` show it, ``forms/`` take the clerk's commands, ``workers.py`` runs them.

``create_main_window`` is imported on first use, so importing one widget module (or a test of
it) does not load the whole window and everything it depends on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bank_desktop.gui.app import create_main_window

__all__ = ["create_main_window"]


def __getattr__(name: str) -> Any:
    if name == "create_main_window":
        from bank_desktop.gui.app import create_main_window

        return create_main_window
    raise AttributeError(name)
