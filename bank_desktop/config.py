"""Settings, resolved from (lowest to highest) defaults, environment variables and flags.

The embedded store lives in the user's data directory (``$XDG_DATA_HOME/bank-desktop`` on
Linux), so ``bank-desktop`` with no flags just works. The window adds QSettings between the
defaults and the environment.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "bank-desktop"
ENV_STORE_URL = "BANK_DESKTOP_STORE_URL"
ENV_CLERK_ID = "BANK_DESKTOP_CLERK_ID"


def data_directory() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_store_url() -> str:
    return f"sqlite://{(data_directory() / 'bank.db').absolute()}"


def default_clerk_id() -> str:
    try:
        return getpass.getuser() or "clerk"
    except (KeyError, OSError):  # no user name in a bare container
        return "clerk"


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
    """Flags beat the environment, which beats stored settings, which beat the defaults."""
    environ = os.environ if env is None else env
    saved = stored or {}

    def pick(flag: str | None, env_name: str, key: str, default: str) -> str:
        for candidate in (flag, environ.get(env_name), saved.get(key)):
            if candidate is not None and candidate.strip():
                return candidate.strip()
        return default

    return Settings(
        store_url=pick(store_url, ENV_STORE_URL, "store_url", default_store_url()),
        clerk_id=pick(clerk_id, ENV_CLERK_ID, "clerk_id", default_clerk_id()),
        data_dir=data_directory(),
    )
