"""``bank-desktop`` with clerks' own PostgreSQL logins: ``deploy --strict-identity`` and
``--no-strict-identity``, the login as the default clerk, and a clerk-readable refusal (with
no "outcome unknown" advice: nothing was written) when the clerk id is not the login."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pytest

from bank_desktop.cli import main
from tests.postgres_logins import Server, deployed_server


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with deployed_server() as made:
        yield made


def run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(args), out=out)
    return code, out.getvalue()


def test_strict_identity_from_the_command_line(
    server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    owner = ("--store", server.url())
    code, text = run(*owner, "deploy", "--strict-identity")
    assert code == 0
    assert re.search(r"^created: strict identity: events whose clerk is not", text, re.M)
    code, text = run(*owner, "deploy")
    assert code == 0
    assert re.search(r"^unchanged: strict identity.*kept \(--no-strict-identity", text, re.M)

    alice = ("--store", server.url(server.alice))
    code, text = run(*alice, "open", "--customer", "cust-1", "--initial", "10")
    assert code == 0  # no --clerk: the login is the clerk
    account = re.search(r"account-\w+", text).group(0)  # type: ignore[union-attr]
    assert server.alice in run(*alice, "show", account)[1]

    capsys.readouterr()
    assert run(*alice, "--clerk", server.bob, "deposit", account, "5")[0] == 2
    err = capsys.readouterr().err
    assert f"works as the clerk id '{server.bob}'. Nothing was recorded." in err
    assert f"--clerk {server.alice}" in err
    assert "outcome is not known" not in err
    assert server.bob not in run(*alice, "show", account)[1]

    code, text = run(*owner, "deploy", "--no-strict-identity", "--dry-run")
    assert re.search(r"^plan: remove strict identity guard", text, re.M)
    code, text = run(*owner, "deploy", "--no-strict-identity")
    assert re.search(r"^removed: strict identity guard", text, re.M)
    assert run(*alice, "--clerk", server.bob, "deposit", account, "5")[0] == 0


def test_strict_identity_is_for_postgresql_stores_only(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("--store", "memory://", "deploy", "--strict-identity")[0] == 2
    assert "PostgreSQL stores only" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        run("--store", "memory://", "deploy", "--strict-identity", "--no-strict-identity")
    assert usage.value.code == 2
