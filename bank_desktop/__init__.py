"""Bank Desktop: an event-sourced desktop application for bank clerks.

A deposit is decided in ``application/bank_service.py`` (through ``command_handling.py`` and
the pure ``domain/accounts.py``), stored through the port in ``eventstore/port.py`` by the
adapter ``eventstore/urls.py`` picks, projected by ``application/read_model_session.py`` into
``application/projections/``, and shown by ``gui/session.py`` and ``gui/models/accounts.py``
(``http/`` for ``serve``, ``cli.py`` for the command line). The README's Layout has the map.
"""

from __future__ import annotations

__version__ = "0.1.0"
