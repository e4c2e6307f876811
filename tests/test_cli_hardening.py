"""The command line under issue 11: absurd amounts, request ids that resume, unread history."""

from __future__ import annotations

import io
import re
import shlex
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bank_desktop import cli
from bank_desktop.cli import main
from bank_desktop.eventstore import EventStore, NewEvent, StoreUnavailableError, open_store


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


# ── item 2: the advised retry must resume, never pay twice ─────────────────────────────────


class _FailsOnce:
    """The store, except that the first append to ``stream_id`` fails as a full disk would."""

    def __init__(self, inner: EventStore, stream_id: str) -> None:
        self.inner = inner
        self.stream_id = stream_id
        self.failed = False

    def append(self, stream_id: str, events: Sequence[NewEvent], expected: Any) -> Any:
        if stream_id == self.stream_id and not self.failed:
            self.failed = True
            raise StoreUnavailableError("disk I/O error. Try again in a moment.")
        return self.inner.append(stream_id, events, expected)

    def __getattr__(self, name: str) -> Any:
        if name in (
            "append_decided",
            "append_many",
        ):  # only the optimistic path, which the failure hits
            raise AttributeError(name)
        return getattr(self.inner, name)


def test_a_transfer_interrupted_between_debit_and_credit_prints_the_command_that_resumes_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite://{tmp_path / 'bank.db'}"
    store = ("--store", url)
    source = _account(run(*store, "open", "--customer", "c-1", "--initial", "100")[1])
    target = _account(run(*store, "open", "--customer", "c-2", "--initial", "0")[1])
    capsys.readouterr()

    real_open = cli.open_known_store
    monkeypatch.setattr(
        cli, "open_known_store", lambda u, *a, **k: _FailsOnce(real_open(u, *a, **k), target)
    )
    code, _ = run(*store, "transfer", source, target, "30")
    monkeypatch.setattr(cli, "open_known_store", real_open)
    err = capsys.readouterr().err
    assert code == 3
    assert "nothing was" not in err.lower()  # the debit happened: no false reassurance
    resume = [line.strip() for line in err.splitlines() if line.strip().startswith("bank-desktop")]
    assert len(resume) == 1, err
    argv = shlex.split(resume[0])[1:]
    assert "--request-id" in argv
    assert argv[argv.index("--request-id") + 1] in err.replace(resume[0], "")  # named as well

    assert run(*argv)[0] == 0  # exactly the advised command
    assert run(*argv)[0] == 0  # and again: still the same single transfer
    assert run(*store, "recover")[1].startswith("Recovered 0 transfers")
    assert "$70.00" in run(*store, "show", source)[1].splitlines()[0]
    assert "$30.00" in run(*store, "show", target)[1].splitlines()[0]


@pytest.mark.parametrize("command", ["deposit", "withdraw", "open", "close"])
def test_every_write_command_names_its_request_id_when_the_store_fails(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    command: str,
) -> None:
    url = f"sqlite://{tmp_path / 'bank.db'}"
    store = ("--store", url, "--clerk", "clerk 7")
    account = _account(run(*store, "open", "--customer", "c-1", "--initial", "0")[1])
    args = {
        "deposit": ["deposit", account, "5", "--description", "cash in"],
        "withdraw": ["withdraw", account, "0.00"],
        "open": ["open", "--customer", "c 2"],
        "close": ["close", account],
    }[command]
    if command == "withdraw":
        run(*store, "deposit", account, "5")
        args = ["withdraw", account, "5"]
    capsys.readouterr()

    class Down:
        def __init__(self, inner: EventStore) -> None:
            self.inner = inner

        def append(self, *_: Any) -> Any:
            raise StoreUnavailableError("the connection was lost")

        def __getattr__(self, name: str) -> Any:
            if name in ("append_decided", "append_many"):
                raise AttributeError(name)
            return getattr(self.inner, name)

    real_open = cli.open_known_store
    monkeypatch.setattr(cli, "open_known_store", lambda u, *a, **k: Down(real_open(u, *a, **k)))
    assert run(*store, *args)[0] == 3
    monkeypatch.setattr(cli, "open_known_store", real_open)
    err = capsys.readouterr().err
    resume = [line.strip() for line in err.splitlines() if line.strip().startswith("bank-desktop")]
    assert len(resume) == 1, err
    argv = shlex.split(resume[0])[1:]
    assert argv[: len(store) + len(args)] == [*store, *args]
    assert run(*argv)[0] == 0
    assert run(*argv)[0] == 0  # repeated: applied once


# ── item 7: history this version does not understand ──────────────────────────────────────


def test_accounts_and_show_mark_an_account_whose_history_is_not_understood(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite://{tmp_path / 'bank.db'}"
    store = ("--store", url)
    account = _account(run(*store, "open", "--customer", "c-1", "--initial", "100")[1])
    run(*store, "deposit", account, "5")
    other = _account(run(*store, "open", "--customer", "c-2", "--initial", "7")[1])
    raw = open_store(url)
    data = {"accountId": account, "amount": Decimal(90), "withdrawnAt": "2026-11-02T09:00Z"}
    raw.append(account, [NewEvent("money.withdrawn.v2", data, {"commandId": "x"})], 2)
    raw.close()
    capsys.readouterr()

    code, text = run(*store, "accounts")
    assert code == 0
    line = next(row for row in text.splitlines() if row.startswith(account))
    assert "$105.00" not in line
    assert "unknown" in line
    assert next(row for row in text.splitlines() if row.startswith(other)).count("$7.00") == 1
    assert "total $7.00" in text
    assert "1 account" in text.splitlines()[0]
    assert "cannot read" in text

    code, text = run(*store, "show", account)
    assert code == 0
    assert "$105.00" not in text.splitlines()[0]
    assert "money.withdrawn.v2" in text

    assert run(*store, "withdraw", account, "50")[0] == 1
    err = capsys.readouterr().err
    assert "refused:" in err
    assert "money.withdrawn.v2" in err
