"""The command line's staff, policy and approvals commands as DESIGN §10 fixes them, on a real
SQLite file: exit codes, what is printed, and who the store says acted."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from bank_desktop.cli import main
from bank_desktop.eventstore import open_store
from bank_desktop.eventstore.port import RecordedEvent


def run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(args), out=out)
    return code, out.getvalue()


@pytest.fixture
def store(tmp_path: Path) -> tuple[str, str]:
    return ("--store", f"sqlite://{tmp_path / 'bank.db'}")


def as_clerk(store: tuple[str, str], clerk: str) -> tuple[str, ...]:
    return (*store, "--clerk", clerk)


def everything(store: tuple[str, str]) -> list[RecordedEvent]:
    opened = open_store(store[1])
    try:
        return opened.read_all(limit=100_000)
    finally:
        opened.close()


def staffed(store: tuple[str, str]) -> None:
    admin = as_clerk(store, "admin-1")
    assert run(*admin, "staff", "grant", "admin-1", "admin") == (
        0,
        "admin-1 now holds: teller, admin\n",
    )
    assert run(*admin, "staff", "grant", "sup-1", "supervisor")[0] == 0
    assert run(*admin, "policy", "set-limit", "5,000.00") == (
        0,
        "Approval limit set to $5,000.00\n",
    )


def test_above_the_limit_is_sent_for_approval_and_a_supervisor_approves(
    store: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    staffed(store)
    teller, sup = as_clerk(store, "teller-1"), as_clerk(store, "sup-1")
    code, text = run(*teller, "open", "--customer", "cust-1", "--initial", "10000")
    account = re.search(r"account-\w+", text).group(0)  # type: ignore[union-attr]
    code, text = run(*teller, "withdraw", account, "6000", "--request-id", "w-1")
    assert code == 4
    (line,) = text.splitlines()
    approval_id = re.fullmatch(r"Sent for approval: (approval-[a-z2-7]{12})", line).group(1)  # type: ignore[union-attr]
    assert "above the approval limit of $5,000.00" in capsys.readouterr().err
    assert run(*teller, "show", account)[1].splitlines()[0].endswith("$10,000.00")

    code, text = run(*sup, "approvals", "list")
    assert code == 0
    assert approval_id in text
    assert "withdrawal of $6,000.00" in text
    assert "asked by teller-1" in text

    assert run(*teller, "approvals", "approve", approval_id)[0] == 1
    assert "not a supervisor" in capsys.readouterr().err
    code, text = run(*sup, "approvals", "approve", approval_id)
    assert (code, text) == (0, f"Approved {approval_id} and carried it out; balance $4,000.00\n")
    assert run(*sup, "approvals", "list")[1] == "No requests wait for approval.\n"
    # the teller's repeat of the original request now reports its result
    code, text = run(*teller, "withdraw", account, "6000", "--request-id", "w-1")
    assert (code, text) == (0, f"Withdrew from {account}; balance $4,000.00\n")
    assert run(*sup, "approvals", "approve", approval_id)[0] == 1
    assert "carried out" in capsys.readouterr().err


def test_a_rejection_records_its_reason(
    store: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    staffed(store)
    teller, sup = as_clerk(store, "teller-1"), as_clerk(store, "sup-1")
    text = run(*teller, "open", "--customer", "c", "--initial", "9000")[1]
    source = re.search(r"account-\w+", text).group(0)  # type: ignore[union-attr]
    text = run(*teller, "open", "--customer", "d")[1]
    target = re.search(r"account-\w+", text).group(0)  # type: ignore[union-attr]
    code, text = run(*teller, "transfer", source, target, "7000", "--request-id", "t-1")
    assert code == 4
    approval_id = text.split(": ")[1].strip()
    with pytest.raises(SystemExit) as usage:  # --reason is required
        run(*sup, "approvals", "reject", approval_id)
    assert usage.value.code == 2
    capsys.readouterr()
    code, text = run(*sup, "approvals", "reject", approval_id, "--reason", "Call the customer")
    assert (code, text) == (0, f"Rejected {approval_id}: Call the customer\n")
    assert run(*teller, "transfer", source, target, "7000", "--request-id", "t-1")[0] == 1
    assert "rejected by sup-1: Call the customer" in capsys.readouterr().err
    code, text = run(*teller, "approvals", "show", approval_id)
    assert "rejected by sup-1 (Call the customer)" in text


def test_staff_changes_need_an_admin_once_there_is_one(
    store: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(*as_clerk(store, "someone"), "staff", "grant", "sup-1", "supervisor")[0] == 1
    assert "no admin yet" in capsys.readouterr().err
    staffed(store)
    for command in (
        ("staff", "grant", "x", "supervisor"),
        ("staff", "revoke", "sup-1", "supervisor"),
        ("policy", "set-limit", "1"),
        ("staff", "token", "teller-1"),
    ):
        assert run(*as_clerk(store, "sup-1"), *command)[0] == 1
        assert "is not an admin" in capsys.readouterr().err
    assert run(*as_clerk(store, "admin-1"), "staff", "grant", "x", "boss")[0] == 1
    assert "roles are teller, supervisor, admin" in capsys.readouterr().err
    code, text = run(*store, "staff", "list")
    assert code == 0
    assert re.search(r"admin-1\s+teller, admin\s+none", text)
    assert re.search(r"sup-1\s+teller, supervisor\s+none", text)
    assert text.endswith("Approval limit: $5,000.00\n")
    code, text = run(*as_clerk(store, "admin-1"), "staff", "revoke", "sup-1", "supervisor")
    assert (code, text) == (0, "sup-1 now holds: teller\n")
    assert run(*as_clerk(store, "admin-1"), "policy", "set-limit", "none")[1].startswith(
        "No approval limit"
    )
    assert run(*store, "policy", "show")[1] == "No approval limit\n"


def test_a_token_is_printed_alone_on_the_last_line_and_never_stored(
    store: tuple[str, str],
) -> None:
    staffed(store)
    code, text = run(*as_clerk(store, "admin-1"), "staff", "token", "teller-1")
    assert code == 0
    token = text.splitlines()[-1]
    assert re.fullmatch(r"bdt_[0-9a-f]{16}_[A-Za-z0-9_-]{43}", token)
    assert token not in repr([(e.data, e.metadata) for e in everything(store)])
    assert "issued" in run(*store, "staff", "list")[1]
    code, text = run(*as_clerk(store, "admin-1"), "staff", "revoke-token", "teller-1")
    assert (code, text) == (0, "Revoked the API token of teller-1\n")
    assert run(*as_clerk(store, "admin-1"), "staff", "revoke-token", "teller-1")[1] == (
        "teller-1 had none\n"
    )


def test_without_clerk_the_operating_system_user_acts(
    store: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOGNAME", "ada")
    monkeypatch.setenv("USER", "ada")
    assert run(*store, "staff", "grant", "ada", "admin") == (0, "ada now holds: teller, admin\n")
    (granted,) = [e for e in everything(store) if e.type == "staff.role_granted"]
    assert granted.metadata["clerkId"] == "ada"
    assert granted.data["grantedBy"] == "ada"


def test_a_store_with_staff_tokens_and_approvals_verifies_clean(
    store: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Every dual-control event is chained and its money adds up: ``verify`` finds nothing."""
    staffed(store)
    admin, teller, sup = (as_clerk(store, c) for c in ("admin-1", "teller-1", "sup-1"))
    assert run(*admin, "staff", "token", "teller-1")[0] == 0
    text = run(*teller, "open", "--customer", "c", "--initial", "20000")[1]
    account = re.search(r"account-\w+", text).group(0)  # type: ignore[union-attr]
    approvals = []
    for amount in ("6000", "7000", "8000"):
        code, text = run(*teller, "withdraw", account, amount)
        assert code == 4
        approvals.append(text.split(": ")[1].strip())
    assert run(*sup, "approvals", "approve", approvals[0])[0] == 0
    assert run(*sup, "approvals", "reject", approvals[1], "--reason", "no")[0] == 0
    assert run(*teller, "withdraw", account, "4000")[0] == 0  # 10,000 left: 8,000 still fits
    assert run(*teller, "withdraw", account, "4000")[0] == 0  # 6,000 left: now it does not
    assert run(*sup, "approvals", "approve", approvals[2])[0] == 1
    assert "could not be carried out" in capsys.readouterr().err
    code, text = run(*store, "verify")
    assert code == 0, text
    assert "No problems found." in text
