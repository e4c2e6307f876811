"""The command line under issue 11: absurd amounts, request ids that resume, unread history."""

from __future__ import annotations

import io
import re
from decimal import Decimal
from pathlib import Path

import pytest

from bank_desktop.cli import main
from bank_desktop.eventstore import NewEvent, open_store


def run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(args), out=out)
    return code, out.getvalue()


def _account(text: str) -> str:
    found = re.search(r"account-\w+", text)
    assert found is not None, text
    return found.group(0)


# ── item 8: absurd amounts ────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("amount", ["1E+999999999", "1e309", "9" * 60, "0.0000000001"])
def test_absurd_amounts_on_the_command_line_are_refused_clearly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], amount: str
) -> None:
    store = ("--store", f"sqlite://{tmp_path / 'bank.db'}")
    account = _account(run(*store, "open", "--customer", "c-1", "--initial", "10")[1])
    capsys.readouterr()
    assert run(*store, "deposit", account, amount)[0] == 1
    assert run(*store, "open", "--customer", "c-2", "--initial", amount)[0] == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.count("refused: ") == 2


def test_accounts_and_show_survive_a_stored_absurd_amount(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite://{tmp_path / 'bank.db'}"
    store = ("--store", url)
    account = _account(run(*store, "open", "--customer", "c-1", "--initial", "10")[1])
    raw = open_store(url)
    data = {
        "accountId": account,
        "amount": Decimal("1E+999999999"),
        "depositedAt": "2026-11-02T09:00:00.000Z",
    }
    raw.append(account, [NewEvent("money.deposited", data, {"commandId": "raw"})], 1)
    raw.close()
    code, text = run(*store, "accounts")
    assert code == 0
    assert account in text
    code, _ = run(*store, "deposit", account, "1")
    assert code in (2, 3)  # refused with the store's problem named, not a crash
    assert "'amount'" in capsys.readouterr().err


# ── minor: a --request-id names one request forever ──────────────────────────────────────


def test_a_request_id_reused_on_another_account_is_refused_not_applied_twice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = ("--store", f"sqlite://{tmp_path / 'bank.db'}")
    first = _account(run(*store, "open", "--customer", "c-1", "--initial", "10")[1])
    second = _account(run(*store, "open", "--customer", "c-2", "--initial", "10")[1])
    assert run(*store, "deposit", first, "5", "--request-id", "r-1")[0] == 0
    capsys.readouterr()
    assert run(*store, "deposit", second, "5", "--request-id", "r-1")[0] == 1
    assert "already used for a different request" in capsys.readouterr().err
    assert "$10.00" in run(*store, "show", second)[1].splitlines()[0]
    assert run(*store, "deposit", first, "5", "--request-id", "r-1")[1].endswith("$15.00\n")
