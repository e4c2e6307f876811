"""Store URLs: picking the adapter, naming the SQLite file, and keeping secrets out of text."""

from __future__ import annotations

from pathlib import Path

import pytest

from bank_desktop.eventstore import NO_STREAM, NewEvent, StoreConfigError, open_store, redact_url
from bank_desktop.eventstore.memory import MemoryEventStore
from bank_desktop.eventstore.sqlite import SqliteEventStore
from bank_desktop.eventstore.urls import sqlite_path
from tests.eventstore.contract import run_threads


def test_memory_url() -> None:
    first = open_store("memory://")
    second = open_store("  MEMORY://  ")
    try:
        assert isinstance(first, MemoryEventStore)
        assert isinstance(second, MemoryEventStore)
        assert first.url == "memory://"
        first.append("a", [NewEvent("t", {})], NO_STREAM)
        assert second.head_position() == 0  # every open is a new, empty store
    finally:
        first.close()
        second.close()


@pytest.mark.parametrize("slashes", ["///", "////"], ids=["sqlite:///abs", "sqlite:////abs"])
def test_sqlite_absolute_url(tmp_path: Path, slashes: str) -> None:
    path = tmp_path / "stores" / "bank.db"
    url = f"sqlite:{slashes}{str(path).lstrip('/')}"
    store = open_store(url)
    try:
        assert isinstance(store, SqliteEventStore)
        assert store.path == path
        assert path.is_file()
        assert store.url == f"sqlite://{path}"
        store.append("a", [NewEvent("t", {})], NO_STREAM)
    finally:
        store.close()
    # The URL a store reports opens the same file again.
    again = open_store(f"sqlite://{path}")
    try:
        assert again.head_position() == 1
    finally:
        again.close()


def test_sqlite_relative_url_is_relative_to_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_store("sqlite:relative.db")
    try:
        assert isinstance(store, SqliteEventStore)
        store.append("a", [NewEvent("t", {})], NO_STREAM)
        assert (tmp_path / "relative.db").is_file()
        # resolved once, at open: later threads and a changed directory use the same file
        assert store.url == f"sqlite://{tmp_path / 'relative.db'}"
    finally:
        store.close()
    assert sqlite_path("sqlite:sub/dir/x.db") == Path("sub/dir/x.db")


def test_sqlite_home_and_escaped_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert sqlite_path("sqlite:~/bank.db") == tmp_path / "bank.db"
    assert sqlite_path("sqlite:///tmp/with%20space.db") == Path("/tmp/with space.db")
    assert sqlite_path("sqlite:my%20bank.db") == Path("my bank.db")


SUPPORTED_SCHEMES = ("memory://", "sqlite:")


@pytest.mark.parametrize(
    "url",
    [
        "",
        "   ",
        None,
        "bank.db",
        "/abs/bank.db",
        "mysql://user:secret@db.example/bank",
        "ftp://files.example/bank.db",
        "memoryx://",
        "sqlite3:///tmp/bank.db",
    ],
)
def test_unsupported_urls(url: str | None) -> None:
    with pytest.raises(StoreConfigError) as info:
        open_store(url)  # type: ignore[arg-type]
    message = str(info.value)
    for scheme in SUPPORTED_SCHEMES:
        assert scheme in message
    assert "secret" not in message


@pytest.mark.parametrize(
    "url",
    [
        "sqlite://host/bank.db",
        "sqlite://user:secret@host/bank.db",
        "sqlite:///tmp/bank.db?mode=ro",
        "sqlite:bank.db?cache=shared",
        "sqlite:///tmp/bank.db?token=secret",
        "sqlite:///tmp/bank.db#frag",
        "sqlite:",
        "sqlite://",
        "sqlite:///",
        "sqlite:///tmp/folder/",
    ],
)
def test_bad_sqlite_urls(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StoreConfigError) as info:
        open_store(url)
    assert "secret" not in str(info.value)
    assert list(tmp_path.iterdir()) == []  # nothing was created on the way


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("postgresql://u:secret@h/db", "secret"),
        ("postgresql://bank:p%40ss%3Aw0rd@db.example:5432/bank", "p%40ss%3Aw0rd"),
        ("postgresql://u:pa@ss@h/db", "pa@ss"),
        ("deltabase+https://h/x?apiKey=dbk_123", "dbk_123"),
        ("deltabase+https://h/x?store=banking&api_key=dbk_456", "dbk_456"),
        ("deltabase+https://h/x?API-KEY=dbk_789&x=1", "dbk_789"),
        ("https://h/x?token=tok_abc", "tok_abc"),
        ("https://h/x?access_token=tok_def", "tok_def"),
        ("postgresql://h/db?password=hunter2", "hunter2"),
        ("postgresql://h/db?sslmode=require&secret=s3cr3t", "s3cr3t"),
        ("https://h/x?key=k_1", "k_1"),
    ],
)
def test_redact_url_masks_secrets(url: str, secret: str) -> None:
    redacted = redact_url(url)
    assert secret not in redacted
    assert "***" in redacted


def test_redact_url_keeps_what_is_not_secret() -> None:
    assert redact_url("postgresql://u:secret@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert redact_url("postgresql://bank@h/db") == "postgresql://bank@h/db"
    assert (
        redact_url("deltabase+https://api.example/v1?apiKey=dbk_123&store=banking")
        == "deltabase+https://api.example/v1?apiKey=***&store=banking"
    )
    for plain in ("memory://", "sqlite:///tmp/bank.db", "sqlite:rel/bank.db", "https://h/x?a=1"):
        assert redact_url(plain) == plain


@pytest.mark.parametrize("password", ["s3cr#et", "s3cr?et", "s3cr/et"])
def test_redact_url_masks_passwords_with_unescaped_delimiters(password: str) -> None:
    assert "s3cr" not in redact_url(f"postgresql://u:{password}@h/db")


def test_relative_store_keeps_its_file_after_chdir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    monkeypatch.chdir(tmp_path / "first")
    store = open_store("sqlite:bank.db")
    try:
        store.append("a", [NewEvent("t", {})], NO_STREAM)
        monkeypatch.chdir(tmp_path / "second")
        seen: list[int] = []
        assert run_threads([lambda: seen.append(store.head_position())]) == []
        assert seen == [1]
        assert not (tmp_path / "second" / "bank.db").exists()
    finally:
        store.close()
