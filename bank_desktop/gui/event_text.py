"""How the Event log writes an event: table cells, and the detail pane's exact JSON.

Pure text functions (plus the pane's font): a viewer must display whatever the store holds,
so nothing here raises on odd values, and control or bidi characters are escaped so a stream
name or payload cannot disguise itself in an audit view.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

from PySide6.QtGui import QFont, QFontDatabase

from bank_desktop.eventstore import RecordedEvent

NOT_LOADED: Final = "(not loaded)"


def visible_text(text: str) -> str:
    """``text`` with control and format characters escaped, so that a stream name or payload
    carrying a bidi override or a line break cannot disguise itself in an audit view."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else json.dumps(c)[1:-1] for c in text)


def _json_string(text: str) -> str:
    return visible_text(json.dumps(text, ensure_ascii=False))


def to_json(value: Any, *, level: int = 0) -> str:
    """Indented JSON with sorted keys, Decimals written exactly as JSON numbers (``120.35``,
    never ``120.34999…``); values JSON has no form for are shown as strings, never raised on,
    because a viewer must display whatever the store holds."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return str(value)  # finite ones are valid JSON numbers; NaN shows as NaN, like floats
    if isinstance(value, float):
        return json.dumps(value)
    if isinstance(value, str):
        return _json_string(value)
    inner, outer = "  " * (level + 1), "  " * level
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        items = sorted(value.items(), key=lambda item: str(item[0]))
        body = ",\n".join(
            f"{inner}{_json_string(str(key))}: {to_json(item, level=level + 1)}"
            for key, item in items
        )
        return f"{{\n{body}\n{outer}}}"
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        body = ",\n".join(f"{inner}{to_json(item, level=level + 1)}" for item in value)
        return f"[\n{body}\n{outer}]"
    return _json_string(str(value))


def _metadata(event: RecordedEvent) -> Mapping[str, Any] | None:
    try:
        return event.metadata
    except LookupError:  # read with with_metadata=False: unknown, not empty
        return None


def clerk_of(event: RecordedEvent) -> str:
    """The clerk recorded in the metadata, or "" when there is none or it was not loaded; for
    an event that carried out an approved request, also who asked and who approved
    ("sup-1 (requested by teller-1, approved by sup-1)")."""
    metadata = _metadata(event)
    clerk = metadata.get("clerkId") if metadata is not None else None
    shown = "" if clerk is None else visible_text(str(clerk))
    approval = approval_of(event)
    return f"{shown} ({approval})" if approval else shown


def approval_of(event: RecordedEvent) -> str:
    """ "requested by X, approved by Y" for an event that carried out an approved request (its
    metadata says so), or for a request and its decision in an approval stream; else ""."""
    metadata = _metadata(event) or {}
    data = event.data if isinstance(event.data, Mapping) else {}
    requested = metadata.get("requestedBy") or data.get("requestedBy")
    approved = metadata.get("approvedBy") or data.get("approvedBy")
    rejected = data.get("rejectedBy")
    parts = [
        f"{verb} by {visible_text(str(who))}"
        for verb, who in (("requested", requested), ("approved", approved), ("rejected", rejected))
        if who
    ]
    return ", ".join(parts)


def clerk_cell(event: RecordedEvent) -> str:
    """The Event log's Clerk cell: the clerk the event names, and, when the store recorded a
    database login that is not that clerk, the login too (``bob (login alice)``), so a claim
    the login does not back stands out in an audit."""
    clerk = clerk_of(event)
    role = event.db_role
    metadata = _metadata(event)
    claimed = metadata.get("clerkId") if metadata is not None else None
    if role is None or role == claimed:
        return clerk
    return f"{clerk} (login {visible_text(role)})" if clerk else f"(login {visible_text(role)})"


def _recorded_by(event: RecordedEvent) -> str:
    """Who the server says appended the event, where the store records it (PostgreSQL)."""
    if event.db_role is None:
        return ""
    return f"database login: {visible_text(event.db_role)} (recorded by the server)\n"


def format_event_details(event: RecordedEvent) -> str:
    """The detail pane's text: one header line, the database login that recorded the event
    when the store knows it, then data and metadata as indented JSON."""
    created = event.created_at.astimezone().isoformat(sep=" ", timespec="milliseconds")
    header = " · ".join(
        (
            visible_text(event.type),
            f"{visible_text(event.stream_id)}@{event.stream_position}",
            f"global #{event.global_position}",
            f"id {visible_text(event.event_id)}",
            created,
        )
    )
    if event.data is None:
        data = "data (damaged: the stored payload is not valid JSON):\nnull"
    else:
        data = f"data:\n{to_json(_shown_data(event))}"
    metadata = _metadata(event)
    meta = f"metadata: {NOT_LOADED}" if metadata is None else f"metadata:\n{to_json(metadata)}"
    approval = approval_of(event)
    if approval:
        approval_id = (metadata or {}).get("approvalId") or (
            event.data.get("approvalId") if isinstance(event.data, Mapping) else None
        )
        named = f" ({visible_text(str(approval_id))})" if approval_id else ""
        header += f"\nApproval{named}: {approval}"
    return f"{header}\n{_recorded_by(event)}\n{data}\n\n{meta}\n"


#: Event types whose data holds a secret, and its field: shown as a mark, never as text.
_SECRETS: Final = {"staff.token_key_created": "key"}


def _shown_data(event: RecordedEvent) -> Any:
    """The event's data as the pane shows it: a secret (the store's token key) masked."""
    field = _SECRETS.get(event.type)
    if field is None or not isinstance(event.data, Mapping) or field not in event.data:
        return event.data
    return {**event.data, field: "(secret, not shown)"}


def fixed_pitch_font() -> QFont:
    """The system's monospace font, asked for as fixed-pitch so JSON indentation lines up.

    The request says what is needed (fixed pitch, typewriter style) instead of trusting the
    family alone: which family that resolves to depends on the fonts a machine has.
    """
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    font.setStyleHint(QFont.StyleHint.TypeWriter)
    font.setFixedPitch(True)
    return font
