"""Settings, resolved from (lowest to highest) defaults, stored settings, the environment and
flags; and the stored settings themselves, read without Qt.

The embedded store lives in the user's data directory (``$XDG_DATA_HOME/bank-desktop`` on
Linux), so ``bank-desktop`` with no flags just works.

Stored settings are what the clerk saved in the window (*File, Settings*): the window writes
them with QSettings to ``$XDG_CONFIG_HOME/BankDesktop/bank-desktop.conf`` (an INI file), and
every entry point reads them here, with :func:`load_stored_settings`, so a headless command
(``deposit``, ``serve``) never loads Qt (a sixth of a second) just to read two values.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import platformdirs

#: The organisation and application names: Qt's (QSettings, the window) and the data folder's.
ORGANIZATION: Final = "BankDesktop"
APP_NAME: Final = "bank-desktop"
ENV_STORE_URL: Final = "BANK_DESKTOP_STORE_URL"
ENV_CLERK_ID: Final = "BANK_DESKTOP_CLERK_ID"
#: Keys of the stored settings in the settings file's ``[General]`` section.
STORE_URL_KEY: Final = "store_url"
CLERK_ID_KEY: Final = "clerk_id"


def data_directory() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_store_url() -> str:
    return f"sqlite://{(data_directory() / 'bank.db').absolute()}"


def default_clerk_id() -> str:
    """The operating-system user: who is logged in at this desk."""
    try:
        return getpass.getuser() or "clerk"
    except (KeyError, OSError):  # no user name in a bare container
        return "clerk"


def default_clerk_for(store_url: str, env: Mapping[str, str] | None = None) -> str:
    """The clerk id when none is configured: on PostgreSQL the database login the store URL
    connects as (its ``session_user``, recorded on every event; with strict identity the
    only clerk id the store accepts), else the operating-system user."""
    from bank_desktop.eventstore.urls import is_postgres_url, postgres_login

    if is_postgres_url(store_url):
        environ = os.environ if env is None else env
        login = postgres_login(store_url) or environ.get("PGUSER", "").strip()
        if login:
            return login
    return default_clerk_id()


@dataclass(frozen=True, slots=True)
class StoredSettings:
    """What the clerk saved; ``None`` means "not set, use the environment or the default"."""

    store_url: str | None = None
    clerk_id: str | None = None

    def __repr__(self) -> str:
        from bank_desktop.eventstore.urls import redact_url  # the one masking of secrets

        url = None if self.store_url is None else redact_url(self.store_url)
        return f"StoredSettings(store_url={url!r}, clerk_id={self.clerk_id!r})"


def as_mapping(settings: StoredSettings) -> dict[str, str]:
    """The set values, keyed for :func:`resolve_settings` (``stored=...``)."""
    pairs = ((STORE_URL_KEY, settings.store_url), (CLERK_ID_KEY, settings.clerk_id))
    return {key: value for key, value in pairs if value is not None}


def settings_file() -> Path:
    """Where the window's QSettings keep the user's settings (its NativeFormat on Linux)."""
    base = os.environ.get("XDG_CONFIG_HOME", "").strip()
    folder = Path(base) if base and Path(base).is_absolute() else Path.home() / ".config"
    return folder / ORGANIZATION / f"{APP_NAME}.conf"


def load_stored_settings(path: Path | None = None) -> StoredSettings:
    """The settings the clerk saved, read from QSettings' INI file without Qt; empty ones when
    none are saved or the file cannot be read (a missing setting is never an error)."""
    try:
        text = (path or settings_file()).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return StoredSettings()
    values = _general_section(text)
    return StoredSettings(
        store_url=_text_value(values.get(STORE_URL_KEY)),
        clerk_id=_text_value(values.get(CLERK_ID_KEY)),
    )


def _general_section(text: str) -> dict[str, str]:
    """``key=raw value`` lines of the ``[General]`` section (QSettings' top-level keys)."""
    values: dict[str, str] = {}
    section = "General"
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith((";", "#")):
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1]
            continue
        key, equals, raw = line.partition("=")
        if section == "General" and equals:
            values[key.strip()] = raw.strip()
    return values


_ESCAPES: Final = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "0": "\0",
    '"': '"',
    "\\": "\\",
    "?": "?",
    "'": "'",
}


def _text_value(raw: str | None) -> str | None:
    """A string value as QSettings writes it (quoted when it holds ``,;=`` or edge spaces,
    backslash escapes, ``\\x`` hex codes, ``@`` doubled at the start); None for anything
    that is not one string (a list, ``@Invalid()``, a byte array) or is blank."""
    if raw is None:
        return None
    out: list[str] = []
    quoted = False
    index = 0
    while index < len(raw):
        char = raw[index]
        if char == '"':
            quoted = not quoted
        elif char == "\\" and index + 1 < len(raw):
            index += 1
            code = raw[index]
            if code == "x":
                digits = ""
                while index + 1 < len(raw) and raw[index + 1] in "0123456789abcdefABCDEF":
                    index += 1
                    digits += raw[index]
                out.append(chr(int(digits, 16)) if digits else "x")
            else:
                out.append(_ESCAPES.get(code, code))
        elif char in ",;" and not quoted:
            return None  # a list of values, not one
        else:
            out.append(char)
        index += 1
    value = "".join(out)
    if value.startswith("@"):
        if not value.startswith("@@"):
            return None  # @Invalid(), @ByteArray(...), @Variant(...): not a string
        value = value[1:]
    return value.strip() or None


@dataclass(frozen=True, slots=True)
class Settings:
    store_url: str
    clerk_id: str
    data_dir: Path


def resolve_settings(
    *,
    store_url: str | None = None,
    clerk_id: str | None = None,
    stored: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Flags beat the environment, which beats stored settings, which beat the defaults (the
    clerk's: :func:`default_clerk_for` the store chosen)."""
    environ = os.environ if env is None else env
    saved = stored or {}

    def pick(flag: str | None, env_name: str, key: str, default: str) -> str:
        for candidate in (flag, environ.get(env_name), saved.get(key)):
            if candidate is not None and candidate.strip():
                return candidate.strip()
        return default

    url = pick(store_url, ENV_STORE_URL, "store_url", default_store_url())
    return Settings(
        store_url=url,
        clerk_id=pick(clerk_id, ENV_CLERK_ID, "clerk_id", default_clerk_for(url, environ)),
        data_dir=data_directory(),
    )
