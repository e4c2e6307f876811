"""The command line as a clerk or a script uses it: real store files, exit codes, messages."""

from __future__ import annotations

import io
import os
import re
import shlex
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bank_desktop import __version__
from bank_desktop.cli import build_parser, main
from bank_desktop.eventstore.sqlite_guards import GUARDS


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


def test_deploy_says_what_it_did_to_a_sqlite_store(tmp_path: Path) -> None:
    """IT reads deploy's output: a store an earlier version made gets the append-only guards
    added, and deploy must say so (it said "unchanged"); guards someone dropped are put back
    and named; a store that needs nothing is unchanged."""
    path = tmp_path / "bank.db"
    url = f"sqlite://{path}"
    code, text = run("--store", url, "deploy")
    assert (code, text.split(":")[0]) == (0, "created")
    assert run("--store", url, "deploy")[1].startswith("unchanged:")

    def sql(*statements: str) -> None:
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            for statement in statements:
                conn.execute(statement)
        finally:
            conn.close()

    sql(*(f"DROP TRIGGER {name}" for name in GUARDS), "PRAGMA user_version=1")
    code, text = run("--store", url, "deploy")
    assert code == 0
    assert text.startswith("upgraded: added the append-only guards"), text
    assert run("--store", url, "deploy")[1].startswith("unchanged:")
    dropped = next(iter(GUARDS))
    sql(f"DROP TRIGGER {dropped}")
    code, text = run("--store", url, "deploy")
    assert code == 0
    assert text.startswith(f"repaired: put back the append-only guards ({dropped})"), text
    assert run("--store", url, "deploy")[1].startswith("unchanged:")


def test_deploy_names_a_missing_schema(capsys: pytest.CaptureFixture[str]) -> None:
    url = "postgresql://postgres@127.0.0.1:5432/test?options=-csearch_path%3Dno_such_schema"
    assert run("--store", url, "deploy")[0] == 2
    assert "does not exist" in capsys.readouterr().err


# ── global options on either side of the command (issue 10, item 16) ───────────────────────

#: Every command with the arguments it needs to parse.
COMMANDS: dict[str, list[str]] = {
    "demo-data": [],
    "accounts": [],
    "show": ["account-x"],
    "open": ["--customer", "c"],
    "deposit": ["account-x", "5"],
    "withdraw": ["account-x", "5"],
    "transfer": ["account-x", "account-y", "5"],
    "close": ["account-x"],
    "recover": [],
    "serve": [],
    "deploy": [],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_global_options_parse_on_either_side_of_every_command(command: str) -> None:
    parse = build_parser().parse_args
    rest = COMMANDS[command]
    before = parse(["--store", "memory://", "--clerk", "c-1", "-v", command, *rest])
    after = parse([command, *rest, "--store", "memory://", "--clerk", "c-1", "-v"])
    for args in (before, after):
        assert (args.store, args.clerk, args.verbose) == ("memory://", "c-1", True)
    # Given on one side only, the other side's absence must not reset it (the argparse trap:
    # a subcommand's default for the same option overwrites the value given before it).
    split = parse(["--store", "memory://", command, *rest, "--clerk", "c-2"])
    assert (split.store, split.clerk, split.verbose) == ("memory://", "c-2", False)
    # Given on both sides, the one nearer the end wins, as for any repeated option.
    both = parse(["--store", "sqlite:a.db", "--clerk", "a", command, *rest, "--store", "memory://"])
    assert (both.store, both.clerk) == ("memory://", "a")
    none = parse([command, *rest])
    assert (none.store, none.clerk, none.verbose) == (None, None, False)


def test_options_after_the_command_reach_the_store_and_the_events(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path / 'bank.db'}"
    code, text = run("open", "--customer", "cust-1", "--initial", "10", "--store", url)
    assert code == 0, text
    account = re.search(r"account-\w+", text).group(0)  # type: ignore[union-attr]
    assert run("deposit", account, "5", "--clerk", "teller-9", "--store", url)[0] == 0
    assert run("--store", url, "withdraw", account, "1", "--clerk", "teller-8")[0] == 0
    assert run("--clerk", "teller-7", "deposit", account, "2", "--store", url)[0] == 0
    code, text = run("show", account, "--store", url)
    assert code == 0
    assert [line.split()[5] for line in text.splitlines()[2:]] == [
        "teller-9",
        "teller-8",
        "teller-7",
    ]
    assert "balance" not in run("accounts", "--store", "memory://")[1]


def test_verbose_after_the_command_turns_on_logging(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bank_desktop", "accounts", "--store", "memory://", "-v"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "0 accounts" in result.stdout


def test_every_command_a_message_suggests_works_as_written(
    postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # A PostgreSQL store without the schema says what to run; that line must work verbatim.
    assert run("--store", postgres_url, "accounts")[0] == 2
    message = capsys.readouterr().err
    suggested = re.search(r"`bank-desktop ([^`]+)`", message)
    assert suggested, message
    code, text = run(*shlex.split(suggested.group(1)))
    assert code == 0, text
    assert text.startswith("created:")
    assert run("accounts", "--store", postgres_url)[0] == 0


@pytest.mark.parametrize("command", ["accounts", "show"])
def test_a_reader_that_stops_early_gets_no_traceback(tmp_path: Path, command: str) -> None:
    # `bank-desktop show X | head -1`: the reader is gone before the output is written. A pipe
    # whose read end is closed from the start makes that deterministic.
    url = f"sqlite://{tmp_path / 'bank.db'}"
    _, text = run("--store", url, "open", "--customer", "cust-1", "--initial", "10")
    account = re.search(r"account-\w+", text).group(0)  # type: ignore[union-attr]
    for amount in range(1, 30):
        assert run("--store", url, "deposit", account, str(amount))[0] == 0
    args = [command, account] if command == "show" else [command]
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "bank_desktop", "--store", url, *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert "Traceback" not in result.stderr
    assert "BrokenPipeError" not in result.stderr
    assert result.stderr == ""
    assert result.returncode == 141  # as a program killed by SIGPIPE reports it


def test_head_of_a_long_listing_in_a_shell_pipeline(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path / 'bank.db'}"
    assert run("--store", url, "demo-data", "--events", "3000")[0] == 0
    result = subprocess.run(
        f"{shlex.quote(sys.executable)} -m bank_desktop --store {shlex.quote(url)} "
        "accounts --limit 100000 | head -1",
        shell=True,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.stdout.startswith("300 accounts")
    assert result.stderr == ""
