"""Rules for what a clerk types about a customer: name, national id, birth date, phone, address.

Each check returns the cleaned value or raises ``ValidationError`` naming the field, so the
same words reach the window, the command line and the API. The national id is kept as typed
(trimmed, single spaces) for display; :func:`national_id_key` is its normal form (case, spaces
and dashes ignored), the one uniqueness is decided on.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from typing import Final

from bank_desktop.domain.errors import ValidationError
from bank_desktop.domain.text import optional_text, required_text

#: Optional details, in the order forms show them; only these can be cleared.
OPTIONAL_FIELDS: Final = ("date_of_birth", "phone", "address")
NAME_LIMIT: Final = 120
NATIONAL_ID_LIMIT: Final = 32
PHONE_LIMIT: Final = 32
ADDRESS_LIMIT: Final = 300
#: The earliest birth date taken as real (older ones are typing mistakes).
EARLIEST_BIRTH: Final = date(1900, 1, 1)
_SPACES: Final = re.compile(r"\s+")
_ID_SEPARATORS: Final = re.compile(r"[\s\-./]+")
_PHONE: Final = re.compile(r"\+?[0-9 ()./-]+")


def checked_full_name(value: str) -> str:
    """Trimmed, inner runs of spaces made one, with at least one letter."""
    text = required_text(value, "Full name", max_length=NAME_LIMIT, joiners=True)
    name = _SPACES.sub(" ", text)
    if not any(unicodedata.category(ch).startswith("L") for ch in name):
        raise ValidationError("Full name must contain letters.", {"field": "Full name"})
    return name


def national_id_key(value: str) -> str:
    """The form national ids are compared in: compatibility-normalised, upper case, without
    spaces, dashes, dots or slashes (``ab 123-456`` and ``AB123456`` are the same id)."""
    return _ID_SEPARATORS.sub("", unicodedata.normalize("NFKC", value)).upper()


def checked_national_id(value: str) -> str:
    """Trimmed, upper case, single spaces; letters and digits (and separators) only."""
    text = required_text(value, "National id", max_length=NATIONAL_ID_LIMIT)
    shown = _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).upper()
    key = national_id_key(shown)
    if len(key) < 4:
        raise ValidationError(
            "National id is too short: at least 4 letters or digits.",
            {"field": "National id", "length": len(key)},
        )
    if not key.isalnum():
        raise ValidationError(
            "National id may contain only letters, digits, spaces, dashes, dots and slashes.",
            {"field": "National id"},
        )
    return shown


def checked_birth_date(value: date | None, today: datetime) -> date | None:
    """A date not in the future (as of the command's time) and not before 1900."""
    if value is None:
        return None
    if isinstance(value, datetime) or not isinstance(value, date):
        raise ValidationError("Date of birth must be a date.", {"field": "Date of birth"})
    if value > today.date():
        raise ValidationError(
            "Date of birth cannot be in the future.",
            {"field": "Date of birth", "value": value.isoformat()},
        )
    if value < EARLIEST_BIRTH:
        raise ValidationError(
            f"Date of birth cannot be before {EARLIEST_BIRTH.isoformat()}.",
            {"field": "Date of birth", "value": value.isoformat()},
        )
    return value


def checked_phone(value: str | None) -> str | None:
    """Digits with the usual punctuation (``+41 (0)44 123-45-67``); at least 3 digits."""
    phone = optional_text(value, "Phone", max_length=PHONE_LIMIT)
    if phone is None:
        return None
    phone = _SPACES.sub(" ", phone)
    if _PHONE.fullmatch(phone) is None or sum(ch.isdigit() for ch in phone) < 3:
        raise ValidationError(
            "Phone must be digits, with spaces, +, -, ., / or brackets (e.g. +1 555 0100).",
            {"field": "Phone"},
        )
    return phone


def checked_address(value: str | None) -> str | None:
    """One line of text (a comma where a form would break the line)."""
    address = optional_text(value, "Address", max_length=ADDRESS_LIMIT, joiners=True)
    return None if address is None else _SPACES.sub(" ", address)


def parse_birth_date(text: str) -> date:
    """``YYYY-MM-DD`` as typed in the CLI, the API or a form."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(
            f"Date of birth must be a date like 1990-12-31 (got {text.strip()[:40]!r}).",
            {"field": "Date of birth"},
        ) from None
