"""The command line as a clerk or a script uses it: real store files, exit codes, messages."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bank_desktop import __version__
from bank_desktop.cli import main


def run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(args), out=out)
    return code, out.getvalue()


def test_version_names_the_store_without_secrets(tmp_path: Path) -> None:
    code, text = run("--version")
    assert code == 0
    assert text.startswith(f"bank-desktop {__version__} (store: sqlite:///")
    assert "bank-desktop/bank.db" in text  # the default file in the user's data directory


def test_a_clerk_session_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = ("--store", f"sqlite://{tmp_path / 'bank.db'}", "--clerk", "clerk-3")
    code, text = run(*store, "open", "--customer", "cust-123", "--initial", "1,234.56")
    assert code == 0
    account = re.search(r"account-\w+", text).group(0)  # type: ignore[union-attr]
    assert run(*store, "deposit", account, "50", "--description", "Paycheck")[1].endswith(
        "balance $1,284.56\n"
    )
    assert run(*store, "withdraw", account, "5000")[0] == 1
    assert "Insufficient funds. Balance: $1,284.56, Requested: $5,000.00" in capsys.readouterr().err
    code, text = run(*store, "open", "--customer", "cust-9")
    other = re.search(r"account-\w+", text).group(0)  # type: ignore[union-attr]
    assert run(*store, "transfer", account, other, "84.56")[0] == 0
    assert run(*store, "withdraw", account, "10", "--request-id", "r-1")[1].endswith(
        "balance $1,190.00\n"
    )
    assert run(*store, "withdraw", account, "10", "--request-id", "r-1")[1].endswith(
        "balance $1,190.00\n"
    )
    code, text = run(*store, "accounts")
    assert code == 0
    assert "2 accounts, total $1,274.56" in text
    code, text = run(*store, "show", account)
    assert "transfer_out" in text
    assert "clerk-3" in text
    assert run(*store, "close", other)[0] == 1
    assert "non-zero balance" in capsys.readouterr().err
    assert run(*store, "recover")[1].startswith("Recovered 0 transfers")


def test_bad_input_and_bad_stores_exit_with_clear_messages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("--store", "ftp://nowhere", "accounts")[0] == 2
    assert "Unsupported store URL" in capsys.readouterr().err
    store = ("--store", f"sqlite://{tmp_path / 'bank.db'}")
    assert run(*store, "deposit", "account-x", "1e5")[0] == 1
    assert "must be a number like 1,234.56" in capsys.readouterr().err
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database" * 100)
    assert run("--store", f"sqlite://{garbage}", "accounts")[0] == 2
    assert "not a Bank Desktop store" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run(*store, "demo-data", "--events", "0")


def test_demo_data_then_accounts_uses_the_persisted_projection(tmp_path: Path) -> None:
    store = ("--store", f"sqlite://{tmp_path / 'bank.db'}")
    code, text = run(*store, "demo-data", "--events", "1500")
    assert code == 0
    assert "150 accounts" in text
    first = run(*store, "accounts", "--limit", "3")[1]
    second = run(*store, "accounts", "--limit", "3")[1]
    assert first == second
    assert "150 accounts" in first
    assert "… 147 more" in first


def test_the_console_script_runs_as_a_program(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bank_desktop", "--store", "memory://", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == f"bank-desktop {__version__} (store: memory://)"


def test_deploy_prepares_postgresql_once(postgres_url: str) -> None:
    code, text = run("--store", postgres_url, "deploy")
    assert (code, text.split(":")[0]) == (0, "created")
    code, text = run("--store", postgres_url, "deploy")
    assert (code, text.split(":")[0]) == (0, "unchanged")
    code, text = run("--store", postgres_url, "open", "--customer", "cust-1", "--initial", "5")
    assert code == 0
    assert run("--store", postgres_url, "deploy", "--dry-run")[1].startswith("plan:")


def test_deploy_names_a_missing_schema(capsys: pytest.CaptureFixture[str]) -> None:
    url = "postgresql://postgres@127.0.0.1:5432/test?options=-csearch_path%3Dno_such_schema"
    assert run("--store", url, "deploy")[0] == 2
    assert "does not exist" in capsys.readouterr().err
