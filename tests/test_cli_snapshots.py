"""The projection snapshot as ``accounts`` meets it: edited, bit-flipped, "NaN", foreign.

A snapshot only saves replaying history; it is never a source of truth. Whatever happened to
the file, ``accounts`` shows what the store says, tells the clerk why it rebuilt, and never
crashes; a snapshot folder it may not write does not make it fail.
"""

from __future__ import annotations

import io
import os
import re
import shutil
from pathlib import Path

import pytest

from bank_desktop.cli import main
from bank_desktop.config import data_directory
from tests.test_cli_store_files import as_other_user, shared_dir  # noqa: F401 - a fixture


def run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(args), out=out)
    return code, out.getvalue()


def _snapshot_file() -> Path:
    found = list((data_directory() / "projections").glob("*/read-model.snapshot.json"))
    assert len(found) == 1, found
    return found[0]


def _store_with_a_snapshot(path: Path) -> tuple[str, ...]:
    store = ("--store", f"sqlite://{path}")
    text = run(*store, "open", "--customer", "cust-a", "--initial", "50")[1]
    assert re.search(r"account-\w+", text)
    assert run(*store, "accounts")[0] == 0  # saves the snapshot
    assert b'"cents":[5000]' in _snapshot_file().read_bytes()
    return store


def _edit(old: bytes, new: bytes) -> None:
    """Replace the balance ``old`` (in cents, in the balances' column of them: a bare number
    elsewhere could be a time's seconds or a revision) with ``new``."""
    old, new = b'"cents":[' + old + b"]", b'"cents":[' + new + b"]"
    path = _snapshot_file()
    body = path.read_bytes()
    assert body.count(old) == 1, body
    path.write_bytes(body.replace(old, new))


@pytest.mark.parametrize(
    ("old", "new"),
    [
        pytest.param(b"5000", b"100010000", id="edited balance"),
        pytest.param(b"5000", b"5800", id="one digit flipped"),
        pytest.param(b"5000", b'"NaN"', id="NaN balance"),
        pytest.param(b"5000", b'"Infinity"', id="infinite balance"),
    ],
)
def test_a_tampered_snapshot_is_rebuilt_from_the_store_with_a_notice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], old: bytes, new: bytes
) -> None:
    store = _store_with_a_snapshot(tmp_path / "bank.db")
    _edit(old, new)
    capsys.readouterr()
    code, text = run(*store, "accounts")
    err = capsys.readouterr().err
    assert code == 0, err
    assert "1 accounts, total $50.00" in text
    assert "notice:" in err
    assert "rebuilt" in err
    # The rebuilt model replaced the bad snapshot: the next run is quiet and right.
    code, text = run(*store, "accounts")
    assert (code, capsys.readouterr().err) == (0, "")
    assert "1 accounts, total $50.00" in text


def test_a_snapshot_of_another_store_is_not_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _store_with_a_snapshot(tmp_path / "first.db")
    first_snapshot = _snapshot_file().read_bytes()
    second = ("--store", f"sqlite://{tmp_path / 'second.db'}")
    assert run(*second, "open", "--customer", "cust-b", "--initial", "7")[0] == 0
    assert run(*second, "accounts")[0] == 0
    folders = sorted((data_directory() / "projections").iterdir())
    assert len(folders) == 2
    for folder in folders:  # whatever folder belongs to the second store gets the first's
        (folder / "read-model.snapshot.json").write_bytes(first_snapshot)
    capsys.readouterr()
    assert "1 accounts, total $7.00" in run(*second, "accounts")[1]
    assert "1 accounts, total $50.00" in run(*first, "accounts")[1]


def test_a_read_only_snapshot_folder_does_not_fail_accounts(
    shared_dir: Path,  # noqa: F811 - the fixture
) -> None:
    path = shared_dir / "bank.db"
    assert run("--store", f"sqlite://{path}", "open", "--customer", "c", "--initial", "42")[0] == 0
    os.chmod(path, 0o666)  # the other user may write the store ...
    os.chmod(shared_dir, 0o777)
    home = shared_dir / "home"  # ... but not their data folder, where snapshots go
    (home / "data").mkdir(parents=True)
    os.chmod(home / "data", 0o555)
    try:
        result = as_other_user(["--store", f"sqlite://{path}", "accounts"], home)
    finally:
        os.chmod(home / "data", 0o755)
    assert result.returncode == 0, result.stderr
    assert "1 accounts, total $42.00" in result.stdout
    assert "snapshot" in result.stderr  # said, not failed
    shutil.rmtree(home, ignore_errors=True)
