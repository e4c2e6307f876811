"""Identifiers derived from command ids, so a repeated command names the same account/transfer."""

from __future__ import annotations

import base64
import hashlib

from bank_desktop.domain.errors import ValidationError
from bank_desktop.domain.text import required_text
from bank_desktop.eventstore.port import new_event_id


def new_command_id() -> str:
    return new_event_id()


def checked_command_id(command_id: str | None) -> str:
    """The caller's idempotency key, validated, or a fresh one when none was given."""
    if command_id is None:
        return new_command_id()
    if not isinstance(command_id, str):
        raise ValidationError("Request id must be text.", {"field": "commandId"})
    return required_text(command_id, "Request id", max_length=200)


def _digest(kind: str, command_id: str) -> str:
    raw = hashlib.sha256(f"{kind}:{command_id}".encode()).digest()
    return base64.b32encode(raw).decode().lower()[:12]


def account_id_for(command_id: str) -> str:
    """``account-`` and 12 base32 characters (60 bits) derived from the command id."""
    return f"account-{_digest('account', command_id)}"


def transfer_id_for(command_id: str) -> str:
    return f"transfer-{_digest('transfer', command_id)}"
