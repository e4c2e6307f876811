"""The seed-compatible REST API and projection webhook: ``bank-desktop serve``, headless."""

from __future__ import annotations

from bank_desktop.http.app import create_app
from bank_desktop.http.context import InsecureTokenError, ServeSettings

__all__ = ["InsecureTokenError", "ServeSettings", "create_app"]
