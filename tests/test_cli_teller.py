"""The teller's day on the command line: customers, reversals, holds, the journal, "as of" and
"why", on a real SQLite file, with the exit codes and messages a clerk or a script sees."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.test_cli import run

TODAY = datetime.now(UTC).date().isoformat()


@pytest.fixture
def store(tmp_path: Path) -> tuple[str, ...]:
    return ("--store", f"sqlite://{tmp_path / 'bank.db'}", "--clerk", "ann")


def _id(pattern: str, text: str) -> str:
    found = re.search(pattern, text)
    assert found is not None, text
    return found.group(0)


def test_customers_register_find_show_and_change(
    store: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    code, text = run(
        *store, "customers", "register", "--name", "Zoë Ångström", "--national-id", "za 998877",
        "--born", "1990-12-10", "--phone", "+41 44 123 45 67",
    )  # fmt: skip
    assert code == 0
    customer = _id(r"customer-\w+", text)
    assert text == f"Registered {customer}: Zoë Ångström (ZA 998877)\n"

    code, _ = run(*store, "customers", "register", "--name", "X Y", "--national-id", "ZA998877")
    assert code == 1
    assert f"already registered to customer {customer}" in capsys.readouterr().err

    _, text = run(*store, "open", "--customer", customer, "--initial", "10")
    account = _id(r"account-\w+", text)
    _, found = run(*store, "customers", "find", "ZOE angstrom")
    assert customer in found
    assert "1 account" in found
    _, shown = run(*store, "customers", "show", customer)
    assert "born: 1990-12-10" in shown
    assert account in shown
    _, listed = run(*store, "accounts")
    assert "Zoë Ångström" in listed

    code, text = run(*store, "customers", "change", customer, "--name", "Zoe Angstrom",
                     "--clear", "phone")  # fmt: skip
    assert code == 0
    assert text == f"Changed {customer}: Zoe Angstrom (ZA 998877)\n"
    assert "phone" not in run(*store, "customers", "show", customer)[1]
    assert run(*store, "customers", "list")[1].startswith("1 of 1 customers")


def test_bad_customer_details_are_refused_clearly(
    store: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = run(*store, "customers", "register", "--name", "Ada", "--national-id", "A1")
    assert code == 1
    assert "National id is too short" in capsys.readouterr().err
    code, _ = run(*store, "customers", "show", "customer-nobody")
    assert code == 1
    assert "is not registered" in capsys.readouterr().err


def test_reverse_hold_release_and_why(
    store: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    account = _id(r"account-\w+", run(*store, "open", "--customer", "c-1", "--initial", "100")[1])
    run(*store, "deposit", account, "500", "--description", "typo")
    shown = run(*store, "show", account)[1]
    deposit = _id(r"(?<=\[)[0-9a-f-]{36}(?=\])", shown.splitlines()[-1])

    code, text = run(*store, "reverse", account, deposit, "--reason", "Keyed 500 instead of 50",
                     "--request-id", "rev-1")  # fmt: skip
    assert (code, text) == (0, f"Reversed {deposit} in {account}; balance $100.00\n")
    assert run(*store, "reverse", account, deposit, "--reason", "Keyed 500 instead of 50",
               "--request-id", "rev-1")[0] == 0  # fmt: skip
    assert run(*store, "reverse", account, deposit, "--reason", "again")[0] == 1
    assert "already reversed" in capsys.readouterr().err
    shown = run(*store, "show", account)[1]
    assert "reversed by " in shown
    reversal = _id(r"(?<=\[)[0-9a-f-]{36}(?=\] reverses)", shown)

    code, why = run(*store, "why", account, reversal)
    assert code == 0
    assert "Who: ann" in why
    assert "Request: rev-1" in why
    assert "Reverses: deposit of $500.00" in why

    code, text = run(*store, "hold", account, "25", "--reason", "Cheque clearing")
    assert code == 0
    hold = _id(r"hold-\w+", text)
    assert text.endswith("available $75.00 of $100.00\n")
    assert run(*store, "withdraw", account, "80")[0] == 1
    assert "Insufficient funds. Available: $75.00, Requested: $80.00" in capsys.readouterr().err
    assert "available $75.00" in run(*store, "show", account)[1]
    assert run(*store, "close", account)[0] == 1
    assert "Release it first" in capsys.readouterr().err
    assert run(*store, "release", account, hold)[1].endswith("available $100.00\n")
    assert run(*store, "release", account, hold)[0] == 1
    assert "already released" in capsys.readouterr().err


def test_a_hold_that_expires(store: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    account = _id(r"account-\w+", run(*store, "open", "--customer", "c-1", "--initial", "100")[1])
    assert run(*store, "hold", account, "10", "--reason", "x", "--expires", "2001-01-01")[0] == 1
    assert "expiry must be in the future" in capsys.readouterr().err
    assert run(*store, "hold", account, "10", "--reason", "x", "--expires", "soon")[0] == 1
    assert "--expires must be a date" in capsys.readouterr().err
    code, _ = run(*store, "hold", account, "10", "--reason", "x", "--expires",
                     "2999-01-01T12:00", "--tz", "UTC")  # fmt: skip
    assert code == 0
    assert "until 2999-01-01T12:00:00+00:00" in run(*store, "show", account)[1]


def test_journal_and_as_of(store: tuple[str, ...], tmp_path: Path) -> None:
    account = _id(r"account-\w+", run(*store, "open", "--customer", "c-1", "--initial", "100")[1])
    run(*store, "deposit", account, "50")
    bob = (*store[:2], "--clerk", "bob")
    run(*bob, "withdraw", account, "30")

    code, text = run(*store, "journal", "--date", TODAY, "--tz", "UTC")
    assert code == 0
    assert f"Journal of {TODAY} (UTC" in text
    assert "Balances at end" in text
    assert text.rstrip().endswith("Reconciled.")
    code, text = run(*store, "journal", "--date", TODAY, "--tz", "UTC", "--clerk", "bob",
                     "--csv", str(tmp_path / "j.csv"))  # fmt: skip
    assert code == 0
    assert f"Journal of {TODAY} by bob" in text
    rows = list(csv.reader(io.StringIO((tmp_path / "j.csv").read_text())))
    assert [row[2] for row in rows[1:2]] == ["withdrawal"]
    assert ["reconciles", "yes"] in rows

    code, text = run(*store, "show", account, "--as-of", "2001-01-01")
    assert code == 0
    assert "not opened  $0.00" in text
    code, text = run(*store, "show", account, "--as-of", TODAY, "--tz", "UTC")
    assert "open  $120.00" in text
    assert run(*store, "journal", "--date", "yesterday")[0] == 1
    assert run(*store, "journal", "--date", TODAY, "--tz", "Mars/Olympus")[0] == 1
