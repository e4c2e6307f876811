"""PostgreSQL URLs are checked and parsed before the driver sees them; no secret reaches a log.

A password with an unencoded ``%`` or a host like ``[::1`` used to reach libpq as it was typed:
the connection pool then printed libpq's complaint, quoting the password or the whole URL, three
times per command, and the command failed as "unavailable" after the full timeout.
"""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest

from bank_desktop.eventstore import StoreConfigError, StoreUnavailableError, open_store
from bank_desktop.eventstore.postgres_url import DEFAULT_TIMEOUT, parse_postgres_url

#: (url, the secret in it, a word the message must contain to say what is wrong)
MALFORMED = [
    ("postgresql://postgres:pa%ss@127.0.0.1:5432/test", "pa%ss", "%25"),
    ("postgresql://postgres:50%off!@127.0.0.1:5432/test", "50%off!", "%25"),
    ("postgresql://postgres:hunter2@[::1/test", "hunter2", "]"),
    ("postgresql://postgres:hunter2@[::1:5432/test", "hunter2", "]"),
    ("postgresql://postgres:hunter2@127.0.0.1:54x2/test", "hunter2", "port"),
    ("postgresql://postgres:hunter2@127.0.0.1:99999/test", "hunter2", "port"),
    ("postgresql://postgres:hunter2@127.0.0.1:5432/test?bogus=1", "hunter2", "bogus"),
    ("postgresql://postgres:hunter2@127.0.0.1/test?connect_timeout=soon", "hunter2", "timeout"),
]


@pytest.mark.parametrize(("url", "secret", "hint"), MALFORMED)
def test_a_malformed_url_is_refused_at_once_and_its_secret_never_shown(
    url: str, secret: str, hint: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bank_desktop", "--store", url, "accounts", "-v"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert secret not in output
    assert url not in output
    assert result.returncode == 2, output  # configuration, not "unavailable"
    assert "***" in result.stderr
    assert hint in result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr  # ours alone, no library noise


def test_no_driver_log_record_carries_the_password(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    url = "postgresql://clerk:s3cret-pw@127.0.0.1:1/bank"
    with pytest.raises(StoreUnavailableError) as failed:
        open_store(url)
    assert "s3cret-pw" not in str(failed.value)
    # Whatever the driver or its pool may log later (libpq quotes what it could not parse),
    # the secret is masked in the record itself, before any handler formats it.
    logging.getLogger("psycopg.pool").warning('invalid token: "%s" in %s', "s3cret-pw", url)
    logging.getLogger("psycopg").info("conninfo %s", "password=s3cret-pw host=x")
    try:
        raise ValueError(f"cannot parse {url}")
    except ValueError:
        logging.getLogger("psycopg").exception("failed")
    shown = caplog.text + "\n".join(record.getMessage() for record in caplog.records)
    assert "s3cret-pw" not in shown
    assert "***" in shown


def test_a_valid_url_is_parsed_into_libpq_keywords_with_the_timeouts() -> None:
    target = parse_postgres_url(
        "postgresql://bank:p%40ss@db.example:6543/branch?options=-csearch_path%3Dbank"
    )
    params = target.params
    assert (params["host"], params["port"], params["dbname"]) == ("db.example", "6543", "branch")
    assert (params["user"], params["password"]) == ("bank", "p@ss")
    assert (
        target.display_url
        == "postgresql://bank:***@db.example:6543/branch?options=-csearch_path%3Dbank"
    )
    assert target.timeout == DEFAULT_TIMEOUT == 10.0
    assert params["connect_timeout"] == "10"
    assert params["keepalives"] == "1"
    assert params["tcp_user_timeout"] == "10000"
    assert params["options"].split() == [
        "-csearch_path=bank",
        "-c",
        "statement_timeout=10000",
        "-c",
        "idle_in_transaction_session_timeout=10000",
    ]
    # what the URL says wins; connect_timeout sets the whole bound
    own = parse_postgres_url(
        "postgresql://h/db?connect_timeout=3&keepalives_idle=7&options=-c%20statement_timeout%3D0"
    )
    assert own.timeout == 3.0
    assert own.params["keepalives_idle"] == "7"
    assert own.params["tcp_user_timeout"] == "3000"
    assert "statement_timeout=0" in own.params["options"]
    assert "statement_timeout=3000" not in own.params["options"]
    assert parse_postgres_url("postgres:///bank", timeout=1.5).timeout == 1.5


@pytest.mark.parametrize(("url", "secret", "hint"), MALFORMED)
def test_the_parser_names_the_problem_without_the_secret(url: str, secret: str, hint: str) -> None:
    with pytest.raises(StoreConfigError) as refused:
        parse_postgres_url(url)
    assert secret not in str(refused.value)
    assert hint in str(refused.value)
