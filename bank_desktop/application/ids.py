"""Identifiers: ids derived from command ids, and the two namespaces of command ids.

A command id names one request forever, and command handling applies a command at most once
per id and stream. Ids come from two places that must never meet:

- **client ids** (``str``): what a clerk's form, ``--request-id`` or an ``Idempotency-Key``
  sends, checked by :func:`checked_command_id`;
- **internal ids** (:class:`ScopedCommandId`): what the application derives for steps of its
  own, such as a transfer's debit, credit and refund (``internal_id(transfer_id, "credit")``)
  or the execution of an approved request (``internal_id(approval_id, "execute")``). They
  are recorded as ``commandId: <value>, commandScope: "internal"`` and indexed as a
  ``ScopedCommandId``, which is never equal to a ``str``: no client id can claim, replay or
  block an internal step, whatever text it holds, even one written by an older version that
  had no scopes.

Client ids of the shape of an internal id (``<derived id>:<anything>``, e.g.
``transfer-3kq7x2m9v1ab:credit``) are refused as reserved (:class:`CommandIdReservedError`),
so an id in the event log always means what it looks like, and a desk still running the
previous version (which looks internal steps up by that text alone) cannot be misled by a
client of this one.

The previous version recorded a transfer's steps under the same text with no scope. Such an
event is still an internal step (:func:`command_key`) when its data names the transfer the id
is derived from (``transferId``): only the transfer process writes that field, so a client's
deposit that merely carries the text stays a client id.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from bank_desktop.domain.errors import CommandIdReservedError, ValidationError
from bank_desktop.domain.text import required_text
from bank_desktop.eventstore.port import RecordedEvent, new_event_id

#: Metadata key naming the namespace of ``commandId`` (absent: a client id).
SCOPE_KEY: Final = "commandScope"
#: The namespace of the application's own steps.
INTERNAL: Final = "internal"
#: Kinds of ids derived from command ids by this module (``<kind>-`` + 12 base32 characters).
#: A kind added here makes ``<its id>:…`` reserved at once.
DERIVED_KINDS: Final = ("account", "transfer", "customer", "hold", "approval")
_DERIVED_ID: Final = re.compile(rf"(?:{'|'.join(DERIVED_KINDS)})-[a-z2-7]{{12}}")
#: Steps the transfer process of the previous version recorded as ``<transfer id>:<step>``.
_LEGACY_TRANSFER_STEPS: Final = frozenset(
    {"debit", "credit", "refund", "record-debit", "complete", "reject", "reverse"}
)


@dataclass(frozen=True, slots=True)
class ScopedCommandId:
    """A command id outside the clients' namespace; never equal to any ``str``."""

    scope: str
    value: str

    def __str__(self) -> str:
        return self.value


#: How command handling names a command: a client's text, or an id in another namespace.
CommandKey = str | ScopedCommandId


def new_command_id() -> str:
    return new_event_id()


def checked_command_id(command_id: str | None) -> str:
    """The caller's idempotency key, validated, or a fresh one when none was given."""
    if command_id is None:
        return new_command_id()
    if not isinstance(command_id, str):
        raise ValidationError("Request id must be text.", {"field": "commandId"})
    cleaned = required_text(command_id, "Request id", max_length=200)
    if is_reserved(cleaned):
        raise CommandIdReservedError(cleaned)
    return cleaned


def is_reserved(command_id: str) -> bool:
    """Whether a client id has the shape of an internal one (``<derived id>:<anything>``)."""
    owner, colon, _ = command_id.partition(":")
    return bool(colon) and _DERIVED_ID.fullmatch(owner) is not None


def internal_id(owner: str, step: str) -> ScopedCommandId:
    """The id of ``step`` of the process ``owner`` (a derived id) in the internal namespace.

    The text is ``<owner>:<step>``, what the previous version used for transfer steps, so a
    desk not yet upgraded finds a step this version recorded and never applies it twice.
    """
    return ScopedCommandId(INTERNAL, f"{owner}:{step}")


def command_metadata(command_id: CommandKey) -> dict[str, str]:
    """The metadata fields that record ``command_id`` on each event of its command."""
    if isinstance(command_id, ScopedCommandId):
        return {"commandId": command_id.value, SCOPE_KEY: command_id.scope}
    return {"commandId": command_id}


def command_key(event: RecordedEvent) -> CommandKey | None:
    """The command id a stored event was written under, in its namespace (None: no id)."""
    metadata: Mapping[str, Any] = event.metadata
    command_id = metadata.get("commandId")
    if type(command_id) is not str:
        return None
    scope = metadata.get(SCOPE_KEY)
    if scope is not None:  # ours, or a namespace of a newer version: never a client's
        return ScopedCommandId(scope if type(scope) is str else repr(scope), command_id)
    owner, colon, step = command_id.partition(":")
    if colon and step in _LEGACY_TRANSFER_STEPS:
        data = event.data
        if type(data) is dict and data.get("transferId") == owner:
            return ScopedCommandId(INTERNAL, command_id)  # the previous version's step
    return command_id


def derived_digest(kind: str, command_id: str, length: int = 12) -> str:
    """``length`` base32 characters of the digest of ``kind`` and ``command_id``: the part
    after the dash of every id derived from a command id (accounts, transfers, claims).

    The same characters as ``base64.b32encode(digest).lower()[:length]`` (stored ids depend
    on them), cut from an integer: the standard library's base32 is pure Python and costs a
    keyed command more than the rest of its id handling together."""
    raw = hashlib.sha256(f"{kind}:{command_id}".encode()).digest()
    if length > _FAST_DIGITS:
        return base64.b32encode(raw).decode().lower()[:length]
    bits = int.from_bytes(raw[:20], "big")
    return "".join(_B32[(bits >> shift) & 31] for shift in _SHIFTS[:length])


_B32: Final = "abcdefghijklmnopqrstuvwxyz234567"
_FAST_DIGITS: Final = 32  #: characters in the first 20 bytes of the digest
_SHIFTS: Final = tuple(155 - 5 * i for i in range(_FAST_DIGITS))


def account_id_for(command_id: str) -> str:
    """``account-`` and 12 base32 characters (60 bits) derived from the command id."""
    return f"account-{derived_digest('account', command_id)}"


def transfer_id_for(command_id: str) -> str:
    return f"transfer-{derived_digest('transfer', command_id)}"


def hold_id_for(command_id: str) -> str:
    return f"hold-{derived_digest('hold', command_id)}"


def approval_id_for(command_id: str) -> str:
    """``approval-`` and 12 base32 characters: the request held for approval under this id."""
    return f"approval-{derived_digest('approval', command_id)}"


def is_approval_id(value: str) -> bool:
    """Whether ``value`` has the shape of an approval id (only those name approval streams)."""
    return _APPROVAL_ID.fullmatch(value) is not None


_APPROVAL_ID: Final = re.compile(r"approval-[a-z2-7]{12}")
