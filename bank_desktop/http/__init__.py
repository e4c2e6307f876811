"""The seed-compatible REST API and projection webhook: ``bank-desktop serve``, headless.

``app.py`` builds it (:func:`create_app` with :class:`ServeSettings`), ``commands.py`` and
``queries.py`` are its routes (each receives the context as the ``Api`` dependency),
``read_side.py`` keeps the read-model session live, ``server.py`` runs it on uvicorn.
"""

from __future__ import annotations

from bank_desktop.http.app import create_app
from bank_desktop.http.context import InsecureTokenError, ServeSettings

__all__ = ["InsecureTokenError", "ServeSettings", "create_app"]
