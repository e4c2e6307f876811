"""A store that was emptied, deleted, replaced or rolled back is an error, not a new bank.

This computer remembers each store it used (its identity, the id of its first event, and the
last position it saw) beside its snapshots. A store found empty, missing, another, or behind
that position stops every command with exit 2 and a message naming the file, until the clerk
says explicitly (``--accept-store-reset``) that the change is intended. A path never used
before is still a new store, created on first open.
"""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import psycopg
import pytest

from bank_desktop.cli import main
from bank_desktop.config import data_directory
from tests.test_cli_store_files import mode

FLAG = "--accept-store-reset"


def run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(args), out=out)
    return code, out.getvalue()


def _bank(path: Path) -> tuple[str, ...]:
    store = ("--store", f"sqlite://{path}")
    text = run(*store, "open", "--customer", "cust-1", "--initial", "100")[1]
    account = re.search(r"account-\w+", text).group(0)  # type: ignore[union-attr]
    assert run(*store, "deposit", account, "50")[0] == 0
    assert "1 accounts, total $150.00" in run(*store, "accounts")[1]
    return store


def _refused(capsys: pytest.CaptureFixture[str], *args: str, says: str) -> str:
    code, text = run(*args)
    err = capsys.readouterr().err
    assert code == 2, (text, err)
    assert text == ""
    assert says in err, err
    assert FLAG in err  # the clerk is told how to say "yes, start over"
    return err


def test_a_store_file_emptied_to_zero_bytes_is_an_error_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bank.db"
    store = _bank(path)
    path.write_bytes(b"")
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    capsys.readouterr()
    err = _refused(capsys, *store, "accounts", says="empty")
    assert str(path) in err
    assert "4 events" in err  # what this computer last saw there (2 commands, 2 request claims)
    _refused(capsys, *store, "open", "--customer", "x", "--initial", "1", says="empty")
    assert path.read_bytes() == b""  # nothing was written into it


def test_a_deleted_store_file_is_an_error_and_is_not_recreated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bank.db"
    store = _bank(path)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    capsys.readouterr()
    err = _refused(capsys, *store, "accounts", says="missing")
    assert str(path) in err
    assert not path.exists()


def test_a_store_restored_from_an_older_copy_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bank.db"
    store = ("--store", f"sqlite://{path}")
    text = run(*store, "open", "--customer", "cust-1", "--initial", "100")[1]
    account = re.search(r"account-\w+", text).group(0)  # type: ignore[union-attr]
    older = tmp_path / "older.db"
    shutil.copyfile(path, older)
    assert run(*store, "deposit", account, "50")[0] == 0
    shutil.copyfile(older, path)
    capsys.readouterr()
    err = _refused(capsys, *store, "deposit", account, "1", says="went backwards")
    assert str(path) in err


def test_a_store_replaced_by_another_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bank.db"
    store = _bank(path)
    other = ("--store", f"sqlite://{tmp_path / 'other.db'}")
    for customer in ("a", "b", "c", "d"):  # more events than the first: only its identity
        assert run(*other, "open", "--customer", customer, "--initial", "1")[0] == 0
    shutil.copyfile(tmp_path / "other.db", path)
    capsys.readouterr()
    _refused(capsys, *store, "accounts", says="another store")


def test_the_clerk_can_say_explicitly_that_starting_over_is_intended(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bank.db"
    store = _bank(path)
    path.unlink()
    capsys.readouterr()
    code, text = run(*store, FLAG, "accounts")
    assert code == 0, capsys.readouterr().err
    assert "0 accounts" in text
    assert "accept" in capsys.readouterr().err.lower()  # it says what it forgot
    # From now on the new store is the one remembered: no flag needed.
    assert run(*store, "open", "--customer", "c", "--initial", "1")[0] == 0
    assert "1 accounts, total $1.00" in run(*store, "accounts")[1]


def test_a_path_never_used_is_a_new_store(tmp_path: Path) -> None:
    path = tmp_path / "new" / "bank.db"
    store = ("--store", f"sqlite://{path}")
    assert run(*store, "accounts")[1].startswith("0 accounts")
    assert path.exists()
    assert run(*store, "open", "--customer", "c", "--initial", "1")[0] == 0


def test_a_data_folder_left_open_by_the_previous_version_is_made_private() -> None:
    data = data_directory()
    data.mkdir(parents=True)
    data.chmod(0o755)
    assert run("open", "--customer", "c", "--initial", "1")[0] == 0
    assert mode(data) == 0o700


def test_an_emptied_postgresql_store_is_an_error(
    postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    store = ("--store", postgres_url)
    assert run(*store, "deploy")[0] == 0
    assert run(*store, "open", "--customer", "c", "--initial", "10")[0] == 0
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("DROP TRIGGER bank_events_refuse_truncate ON bank_events")  # as an intruder
        conn.execute("TRUNCATE bank_events")
    capsys.readouterr()
    err = _refused(capsys, *store, "accounts", says="empty")
    assert "postgresql://postgres@127.0.0.1" in err


def test_serve_refuses_an_emptied_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bank.db"
    store = _bank(path)
    path.write_bytes(b"")
    monkeypatch.setenv("PROJECTION_AUTH_TOKEN", "a-webhook-token-of-32-characters-or-more")
    capsys.readouterr()
    assert run(*store, "serve", "--port", "0")[0] == 2
    err = capsys.readouterr().err
    assert str(path) in err
    assert FLAG in err
    assert path.read_bytes() == b""
