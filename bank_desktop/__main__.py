"""``python -m bank_desktop``: the same as the ``bank-desktop`` command."""

from __future__ import annotations

from bank_desktop.cli import main

raise SystemExit(main())
