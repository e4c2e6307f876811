"""``bank-desktop verify`` as an auditor runs it: exit codes, each problem with its stream and
position, JSON, seals, a progress bar on a terminal only, and stores that were tampered with
(SQLite with ``sqlite3``, PostgreSQL with ``psycopg``, guards dropped first) or damaged."""

from __future__ import annotations

import json
import os
import pty
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from bank_desktop.auditing import last_verification
from bank_desktop.config import data_directory
from tests.test_cli import run


@pytest.fixture
def store_args(tmp_path: Path) -> tuple[str, str]:
    return ("--store", f"sqlite://{tmp_path / 'bank.db'}")


def day(store: tuple[str, ...]) -> dict[str, str]:
    """A few commands through the CLI, as clerks would."""
    ids = {}
    for name, initial in (("a", "100"), ("b", "0")):
        text = run(*store, "open", "--customer", f"cust-{name}", "--initial", initial)[1]
        ids[name] = re.search(r"account-\w+", text).group(0)  # type: ignore[union-attr]
    assert run(*store, "deposit", ids["a"], "50")[0] == 0
    assert run(*store, "transfer", ids["a"], ids["b"], "30")[0] == 0
    assert run(*store, "withdraw", ids["b"], "10")[0] == 0
    return ids


def sql(path: Path, *statements: str) -> None:
    raw = sqlite3.connect(path)
    try:
        for statement in statements:
            raw.execute(statement)
        raw.commit()
    finally:
        raw.close()


def db(store: tuple[str, str]) -> Path:
    return Path(store[1].removeprefix("sqlite://"))


def test_a_clean_store_exits_0(store_args: tuple[str, str]) -> None:
    day(store_args)
    code, text = run(*store_args, "verify")
    assert code == 0, text
    assert "No problems found." in text
    assert "Chains: 8 streams, 14 chained events" in text  # 2 accounts, 1 transfer, 5 claims
    code, text = run(*store_args, "verify", "--json")
    document = json.loads(text)
    assert (code, document["ok"], document["problems"]) == (0, True, 0)
    assert document["money"]["balances"] == "140.00"
    remembered = last_verification(data_directory(), document["store"])
    assert remembered is not None
    assert remembered.ok


def test_an_edit_made_after_dropping_the_guards_is_caught(store_args: tuple[str, str]) -> None:
    ids = day(store_args)
    path = db(store_args)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        sql(path, "UPDATE events SET data = replace(data, '50.00', '5000.00')")
    sql(
        path,
        "DROP TRIGGER events_refuse_update",
        "UPDATE events SET data = replace(data, '\"amount\":50.00', '\"amount\":5000.00') "
        f"WHERE stream_id = '{ids['a']}' AND type = 'money.deposited'",
    )
    code, text = run(*store_args, "verify")
    assert code == 1
    assert f"problem: [chain] {ids['a']} @ 2, global" in text
    assert "does not match its hash" in text
    assert "events_refuse_update" in text  # the dropped guard is named too
    document = json.loads(run(*store_args, "verify", "--json")[1])
    assert {f["kind"] for f in document["findings"] if f["problem"]} == {"chain", "store"}
    chain = next(f for f in document["findings"] if f["kind"] == "chain")
    assert (chain["streamId"], chain["position"]) == (ids["a"], 2)


def test_a_deleted_event_is_caught(store_args: tuple[str, str]) -> None:
    ids = day(store_args)
    sql(
        db(store_args),
        "DROP TRIGGER events_refuse_delete",
        f"DELETE FROM events WHERE stream_id = '{ids['a']}' AND stream_position = 2",
    )
    code, text = run(*store_args, "verify")
    assert code == 1
    assert f"problem: [position] {ids['a']} @ 3" in text
    assert "missing" in text


def test_a_store_that_went_backwards_is_named_not_refused(store_args: tuple[str, str]) -> None:
    day(store_args)
    sql(
        db(store_args),
        "DROP TRIGGER events_refuse_delete",
        "DELETE FROM events WHERE global_position > (SELECT max(global_position) - 3 FROM events)",
    )
    assert run(*store_args, "accounts")[0] == 2  # the everyday commands refuse it
    code, text = run(*store_args, "verify")
    assert code == 1
    assert "problem: [store]" in text
    assert "went backwards" in text


def test_a_damaged_file_is_verified_as_far_as_it_can_be(store_args: tuple[str, str]) -> None:
    day(store_args)
    path = db(store_args)
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw.close()
    size = path.stat().st_size
    with path.open("r+b") as handle:  # the last page overwritten
        handle.seek(size - 2048)
        handle.write(b"\xff" * 2048)
    code, text = run(*store_args, "verify")
    assert code == 1
    assert "damaged" in text


def test_a_missing_store_is_unavailable_and_not_created(tmp_path: Path) -> None:
    path = tmp_path / "nothing.db"
    assert run("--store", f"sqlite://{path}", "verify")[0] == 3
    assert not path.exists()


def test_an_unreachable_postgresql_store_is_unavailable() -> None:
    assert run("--store", "postgresql://clerk@127.0.0.1:1/bank", "verify")[0] == 3


def test_a_foreign_file_is_bad_usage(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    sql(path, "CREATE TABLE notes (text TEXT)")
    assert run("--store", f"sqlite://{path}", "verify")[0] == 2


def test_seals_prove_nothing_changed_up_to_them(
    store_args: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = day(store_args)
    seal = tmp_path / "seal.json"
    code, text = run(*store_args, "verify", "--seal", str(seal))
    assert code == 0
    assert f"Seal written to {seal}" in text
    assert json.loads(seal.read_text())["format"] == "bank-desktop-seal/1"
    assert run(*store_args, "verify", "--seal", str(seal))[0] == 2  # never overwritten
    assert "never overwritten" in capsys.readouterr().err
    assert run(*store_args, "deposit", ids["b"], "1")[0] == 0  # new history is fine
    code, text = run(*store_args, "verify", "--against", str(seal))
    assert code == 0, text
    sql(
        db(store_args),
        "DROP TRIGGER events_refuse_delete",
        f"DELETE FROM events WHERE stream_id = '{ids['b']}' AND stream_position = 1",
    )
    code, text = run(*store_args, "verify", "--against", str(seal))
    assert code == 1
    assert f"problem: [seal] {ids['b']}" in text


def test_a_seal_that_cannot_be_used_is_bad_usage(
    store_args: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    day(store_args)
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    assert run(*store_args, "verify", "--against", str(bad))[0] == 2
    assert "not a Bank Desktop seal" in capsys.readouterr().err
    assert run(*store_args, "verify", "--against", str(tmp_path / "none.json"))[0] == 2


def test_a_progress_bar_on_a_terminal_and_none_otherwise(store_args: tuple[str, str]) -> None:
    day(store_args)
    command = [sys.executable, "-m", "bank_desktop.cli", *store_args, "verify"]
    piped = subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)
    assert piped.returncode == 0, piped.stderr
    assert "Verifying" not in piped.stderr
    leader, follower = pty.openpty()
    try:
        on_terminal = subprocess.run(
            command, stdout=subprocess.PIPE, stderr=follower, check=False, timeout=60
        )
        os.close(follower)
        follower = -1
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(leader)
        if follower >= 0:
            os.close(follower)
    assert on_terminal.returncode == 0
    assert b"Verifying [" in shown
    assert b"Verifying" not in on_terminal.stdout


def test_postgresql_tampering_by_the_owner_is_caught(postgres_url: str) -> None:
    store = ("--store", postgres_url)
    assert run(*store, "deploy")[0] == 0
    ids = day(store)
    assert run(*store, "verify")[0] == 0
    with psycopg.connect(postgres_url, autocommit=True) as owner:
        with pytest.raises(psycopg.errors.RaiseException):
            owner.execute("DELETE FROM bank_events")
        owner.execute("DROP TRIGGER bank_events_refuse_update_delete ON bank_events")
        owner.execute(
            "UPDATE bank_events SET data = replace(data, '\"amount\":50.00', '\"amount\":5.00') "
            "WHERE stream_id = %s AND type = 'money.deposited'",
            (ids["a"],),
        )
    code, text = run(*store, "verify")
    assert code == 1
    assert f"problem: [chain] {ids['a']} @ 2" in text
    assert "bank_events_refuse_update_delete" in text
