"""The embedded store's file as the command line meets it: foreign, old, damaged, read-only.

Each test reproduces a defect of issue 11 the way a clerk or IT meets it, through the command
line on a real file: a foreign SQLite database must be refused untouched, a store made by the
previous version must keep working (and get marked as ours), a damaged file must refuse writes,
a malformed stored event is "damaged" (exit 2), and a store or snapshot folder the user may not
write to must still be readable.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bank_desktop.cli import main
from bank_desktop.config import data_directory

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(args), out=out)
    return code, out.getvalue()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def pragma(path: Path, name: str) -> object:
    raw = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return raw.execute(f"PRAGMA {name}").fetchone()[0]
    finally:
        raw.close()


# ── foreign and previous-version files ────────────────────────────────────────────────────


def test_a_foreign_sqlite_database_is_refused_and_left_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "notes.db"
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE notes (body TEXT)")
    raw.execute("INSERT INTO notes VALUES ('do not convert me')")
    raw.commit()
    raw.close()
    before = digest(path)
    for command in (["accounts"], ["open", "--customer", "c", "--initial", "1"]):
        assert run("--store", f"sqlite://{path}", *command)[0] == 2
        err = capsys.readouterr().err
        assert "not a Bank Desktop store" in err
        assert str(path) in err
        assert "notes" in err  # says what it found instead
    assert digest(path) == before
    assert pragma(path, "journal_mode") == "delete"  # not switched to WAL
    assert not Path(f"{path}-wal").exists()


def test_a_database_marked_by_another_application_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "other.db"
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA application_id=1234")
    raw.commit()
    raw.close()
    before = digest(path)
    assert run("--store", f"sqlite://{path}", "accounts")[0] == 2
    assert "not a Bank Desktop store" in capsys.readouterr().err
    assert digest(path) == before


def _previous_version_store(path: Path) -> None:
    """A store exactly as the previous version left it: our schema, user_version 1, no
    application_id, and the 0644 a file created outside the application gets."""
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("PRAGMA journal_mode=WAL")
    raw.executescript(
        """
        CREATE TABLE IF NOT EXISTS events (
            global_position INTEGER PRIMARY KEY,
            stream_id       TEXT    NOT NULL,
            stream_position INTEGER NOT NULL,
            event_id        TEXT    NOT NULL,
            type            TEXT    NOT NULL,
            data            TEXT    NOT NULL,
            metadata        TEXT    NOT NULL,
            created_at      TEXT    NOT NULL,
            UNIQUE (stream_id, stream_position)
        );
        CREATE INDEX IF NOT EXISTS events_by_type ON events (type, global_position);
        PRAGMA user_version=1;
        """
    )
    raw.execute(
        "INSERT INTO events VALUES (1, 'account-old', 1, 'e-1', 'account.opened', "
        '\'{"accountId":"account-old","customerId":"c-old","initialBalance":75.00,'
        "\"openedAt\":\"2026-01-02T03:04:05.000Z\"}', '{}', '2026-01-02T03:04:05.000000Z')"
    )
    raw.close()
    os.chmod(path, 0o644)


def test_a_store_of_the_previous_version_keeps_working_and_gets_marked(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bank.db"
    _previous_version_store(path)
    assert pragma(path, "application_id") == 0
    store = ("--store", f"sqlite://{path}")
    code, text = run(*store, "deposit", "account-old", "25")
    assert code == 0, text
    assert "balance $100.00" in text
    assert "1 accounts, total $100.00" in run(*store, "accounts")[1]
    from bank_desktop.eventstore.sqlite import APPLICATION_ID, SCHEMA_VERSION

    assert pragma(path, "application_id") == APPLICATION_ID
    assert pragma(path, "user_version") == SCHEMA_VERSION  # marked, and given its guards
    assert mode(path) == 0o600  # the pre-existing 0644 file is the user's only now


def test_first_run_folders_and_files_are_the_users_only(tmp_path: Path) -> None:
    data = data_directory()
    assert not data.exists()
    code, _ = run("open", "--customer", "c", "--initial", "1")  # the default store
    assert code == 0
    assert run("accounts")[0] == 0  # saves a snapshot too
    made = [data, *(p for p in data.rglob("*"))]
    folders = [p for p in made if p.is_dir()]
    assert folders
    assert all(mode(p) == 0o700 for p in folders), {str(p): oct(mode(p)) for p in folders}
    files = [p for p in made if p.is_file()]
    assert all(mode(p) == 0o600 for p in files), {str(p): oct(mode(p)) for p in files}


# ── damage ────────────────────────────────────────────────────────────────────────────────


def _demo_store(path: Path, events: int = 3000) -> None:
    assert run("--store", f"sqlite://{path}", "demo-data", "--events", str(events))[0] == 0
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw.close()


def _damage_a_page_in_the_middle(path: Path) -> None:
    page_size = int(pragma(path, "page_size"))  # type: ignore[call-overload]
    pages = path.stat().st_size // page_size
    with path.open("r+b") as handle:
        handle.seek(page_size * (pages // 2) + 64)
        handle.write(b"\xde\xad\xbe\xef" * 256)


def test_a_damaged_file_refuses_writes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bank.db"
    _demo_store(path)
    _damage_a_page_in_the_middle(path)
    capsys.readouterr()
    before = digest(path)
    store = ("--store", f"sqlite://{path}")
    # A brand-new account touches none of the damaged rows: the file must be refused anyway.
    code, _ = run(*store, "open", "--customer", "c-new", "--initial", "5")
    err = capsys.readouterr().err
    assert code == 2, err
    assert "damaged" in err
    assert str(path) in err
    assert digest(path) == before
    assert "unavailable" not in err


def test_a_malformed_stored_event_is_damage_not_unavailability(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bank.db"
    store = ("--store", f"sqlite://{path}")
    text = run(*store, "open", "--customer", "c", "--initial", "10")[1]
    account = re.search(r"account-\w+", text).group(0)  # type: ignore[union-attr]
    raw = sqlite3.connect(path)
    with raw:
        (head,) = raw.execute("SELECT max(global_position) FROM events").fetchone()
        raw.execute(
            "INSERT INTO events VALUES (?, ?, 2, 'raw-2', 'money.deposited', "
            "'{\"accountId\": 1', '{}', '2026-01-02T03:04:05.000000Z')",
            (head + 1, account),
        )
    raw.close()
    capsys.readouterr()
    assert run(*store, "deposit", account, "1")[0] == 2
    err = capsys.readouterr().err
    assert "malformed" in err
    assert "unavailable" not in err


# ── read-only files and folders ───────────────────────────────────────────────────────────


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder another user can enter (pytest's own tmp folders are private to us)."""
    path = Path(tempfile.mkdtemp(prefix="bank-desktop-ro-"))
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def as_other_user(args: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    """Run the CLI as a user who may read but not write what this test made: as root that is
    'nobody' (root may write anything), otherwise ourselves (permissions apply to us)."""
    env = {
        **os.environ,
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "HOME": str(home),
    }
    command = [sys.executable, "-m", "bank_desktop", *args]
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: cannot drop write permission")
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
        if home.exists():
            os.chown(home, 65534, 65534)
    return subprocess.run(
        command, capture_output=True, text=True, cwd=ROOT, env=env, timeout=120, check=False
    )


def _readable_store(folder: Path) -> Path:
    path = folder / "bank.db"
    assert run("--store", f"sqlite://{path}", "open", "--customer", "c", "--initial", "42")[0] == 0
    os.chmod(path, 0o644)  # others may read the file, nobody else may write it or the folder
    return path


def test_a_read_only_store_is_opened_for_reading_and_says_so(shared_dir: Path) -> None:
    path = _readable_store(shared_dir)
    before = digest(path)
    home = shared_dir / "home"
    home.mkdir()
    listing = as_other_user(["--store", f"sqlite://{path}", "accounts"], home)
    assert listing.returncode == 0, listing.stderr
    assert "1 accounts, total $42.00" in listing.stdout
    assert "read-only" in listing.stderr
    assert "unable to open" not in listing.stderr
    writing = as_other_user(["--store", f"sqlite://{path}", "open", "--customer", "x"], home)
    assert writing.returncode == 2, writing.stderr
    assert "read-only" in writing.stderr
    assert str(path) in writing.stderr
    assert digest(path) == before
