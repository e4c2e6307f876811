"""Shared fixtures: every test gets its own data directory, so nothing touches the real one."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_data_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    home = tmp_path_factory.mktemp("xdg")
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.delenv("BANK_DESKTOP_STORE_URL", raising=False)
    monkeypatch.delenv("BANK_DESKTOP_CLERK_ID", raising=False)
    # Qt reads XDG_CONFIG_HOME only for the first QSettings of the process: point every
    # QSettings of this test (the window's and the CLI's) at this test's folder explicitly.
    from PySide6.QtCore import QSettings

    QSettings.setPath(
        QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(home / "config")
    )
    return home


#: The PostgreSQL server the machine runs (trust auth). Tests use it for real; each gets a
#: schema of its own, dropped afterwards, so tests never see each other's events.
POSTGRES_SERVER = os.environ.get(
    "BANK_DESKTOP_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:16]}"
    try:
        admin = psycopg.connect(POSTGRES_SERVER, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:  # a failure, not a skip: CI must run these
        pytest.fail(f"PostgreSQL at {POSTGRES_SERVER} is not reachable: {exc}")
    with admin:
        admin.execute(f"CREATE SCHEMA {schema}")
        try:
            yield f"{POSTGRES_SERVER}?options=-csearch_path%3D{schema}"
        finally:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")
