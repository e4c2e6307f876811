"""PostgreSQL store URLs: checked and parsed here, before the driver ever sees them.

libpq quotes what it cannot parse, so a password with an unencoded ``%`` or a host such as
``[::1`` handed to the driver came back in its error text: the connection pool logged that
text, password and all, on every retry. Here the URL is checked first, with messages that show
it only masked; libpq's own parser then turns it into keywords, and the store connects with
those keywords, never with the URL text. Every password met here is also registered with
:func:`mask_in_driver_logs`, so no record the driver or its pool logs can carry it.

The same place adds what keeps a command from hanging on a stalled server: one bound (the
URL's ``connect_timeout``, libpq's own parameter, default 10 s) for connecting, for TCP
keepalives and unacknowledged data, and, on the server, for any one statement and any
transaction left idle. A URL that sets one of these itself keeps its own value.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

import psycopg
from psycopg.conninfo import conninfo_to_dict

from bank_desktop.eventstore.errors import StoreConfigError
from bank_desktop.eventstore.urls import redact_url

#: Seconds a command waits for the server before it fails as "store unavailable".
DEFAULT_TIMEOUT: Final = 10.0
#: What a masked secret shows as.
MASK: Final = "***"

_BAD_ESCAPE: Final = re.compile(r"%(?![0-9A-Fa-f]{2})")
_DRIVER_LOGGERS: Final = (
    "psycopg",
    "psycopg.pool",
    "psycopg.pq",
    "psycopg.debug",
    "psycopg.transaction",
    "psycopg.waiting",
    "psycopg_pool",
    "psycopg_pool.sched",
)


@dataclass(frozen=True, slots=True)
class PostgresTarget:
    """A checked PostgreSQL URL: libpq keywords, the URL as it may be shown, the bound."""

    params: dict[str, str]
    display_url: str
    #: Seconds to wait for the server before giving up (connect, any reply, a statement).
    timeout: float
    secrets: tuple[str, ...]


def parse_postgres_url(url: str, *, timeout: float | None = None) -> PostgresTarget:
    """Check ``url`` and turn it into libpq keywords; raises StoreConfigError, never showing a
    secret. ``timeout`` overrides the URL's ``connect_timeout`` as the bound."""
    url = url.strip()
    shown = redact_url(url)
    secrets = _secrets_in(url)
    mask_in_driver_logs(secrets)
    if url.lower().startswith(("postgresql://", "postgres://")):
        _check_escapes(url, shown)
        _check_brackets(url, shown)
    try:
        params = {key: str(value) for key, value in conninfo_to_dict(url).items()}
    except psycopg.Error as exc:
        reason = mask(str(exc), (url, *secrets)).strip().rstrip(".")
        raise StoreConfigError(f"The PostgreSQL URL {shown} is not valid: {reason}.") from None
    if params.get("password"):
        secrets = (*secrets, params["password"])
        mask_in_driver_logs(secrets)
    _check_ports(params.get("port"), shown)
    bound = timeout if timeout is not None else _url_timeout(params.get("connect_timeout"), shown)
    _with_timeouts(params, bound)
    params.setdefault("application_name", "bank-desktop")
    return PostgresTarget(params, shown, bound, secrets)


def _secrets_in(url: str) -> tuple[str, ...]:
    """The password as typed in the URL (between the user's ``:`` and the last ``@``), and a
    ``password=`` query value; the URL itself too, as libpq may quote it whole."""
    found = [url]
    rest = url.split("://", 1)[1] if "://" in url else ""
    if "@" in rest:
        userinfo = rest[: rest.rfind("@")]
        if ":" in userinfo:
            found.append(userinfo.split(":", 1)[1])
    found.extend(re.findall(r"(?i)[?&]password=([^&#]*)", url))
    return tuple(secret for secret in found if secret)


def _check_escapes(url: str, shown: str) -> None:
    bad = _BAD_ESCAPE.search(url)
    if bad is None:
        return
    rest_at = url.find("://") + 3 if "://" in url else 0
    userinfo_end = url.rfind("@")
    where = "in the user name or password" if rest_at <= bad.start() < userinfo_end else ""
    raise StoreConfigError(
        f"The PostgreSQL URL {shown} has a '%' that does not start a percent-escape"
        f"{' ' + where if where else ''}: write a literal % as %25 (and @ as %40, : as %3A, "
        "/ as %2F)."
    )


def _check_brackets(url: str, shown: str) -> None:
    rest = url.split("://", 1)[1] if "://" in url else url
    hosts = re.split(r"[/?#]", rest[rest.rfind("@") + 1 :], maxsplit=1)[0]
    if hosts.count("[") != hosts.count("]"):
        raise StoreConfigError(
            f"The PostgreSQL URL {shown} has an IPv6 host without its closing ']': write it "
            "as [::1] or [::1]:5432."
        )


def _check_ports(ports: str | None, shown: str) -> None:
    for port in (ports or "").split(","):
        if port and not (port.isdigit() and 1 <= int(port) <= 65535):
            raise StoreConfigError(
                f"The PostgreSQL URL {shown} has port {port!r}: a port is a number from 1 to 65535."
            )


def _url_timeout(value: str | None, shown: str) -> float:
    if value is None:
        return DEFAULT_TIMEOUT
    if not value.strip().isdigit() or int(value) < 1:
        raise StoreConfigError(
            f"The PostgreSQL URL {shown} has connect_timeout={value!r}: the timeout is a "
            "whole number of seconds, at least 1 (it bounds every wait for the server)."
        )
    return float(int(value))


def _with_timeouts(params: dict[str, str], bound: float) -> None:
    """Add the bound to the keywords, leaving whatever the URL set itself."""
    seconds = max(1, math.ceil(bound))
    millis = str(max(1, round(bound * 1000)))
    params.setdefault("connect_timeout", str(seconds))
    # A peer that vanished (cable, NAT, crashed host) is noticed by the kernel: keepalive
    # probes while idle, and no data left unacknowledged for longer than the bound.
    params.setdefault("keepalives", "1")
    params.setdefault("keepalives_idle", str(max(1, seconds // 2)))
    params.setdefault("keepalives_interval", "1")
    params.setdefault("keepalives_count", "3")
    params.setdefault("tcp_user_timeout", millis)
    # On the server: no statement runs longer than the bound (a lock wait included), and a
    # transaction whose client went silent is ended, so it cannot hold the append lock and
    # stop every other desk from writing.
    options = params.get("options", "")
    for setting in ("statement_timeout", "idle_in_transaction_session_timeout"):
        if setting not in options:
            options = f"{options} -c {setting}={millis}".strip()
    params["options"] = options


# ── no secret in a driver's log ───────────────────────────────────────────────────────────


def mask(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret replaced by ``***`` (longest first, so a URL goes whole)."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if secret and secret in text:
            text = text.replace(secret, MASK)
    return text


class _MaskSecrets(logging.Filter):
    """Rewrites a driver's log record before any handler sees it: message, exception text and
    stack with every registered secret masked."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self.secrets: frozenset[str] = frozenset()

    def add(self, secrets: Iterable[str]) -> None:
        with self._lock:
            self.secrets = self.secrets | {secret for secret in secrets if secret}

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = self.secrets
        if not secrets:
            return True
        message = record.getMessage()
        masked = mask(message, secrets)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info:
            record.exc_text = mask(logging.Formatter().formatException(record.exc_info), secrets)
            record.exc_info = None  # a handler would format the exception's text again
        elif record.exc_text:
            record.exc_text = mask(record.exc_text, secrets)
        if record.stack_info:
            record.stack_info = mask(record.stack_info, secrets)
        return True


_FILTER: Final = _MaskSecrets()
_installed = False
_install_lock = threading.Lock()


def mask_in_driver_logs(secrets: Iterable[str]) -> None:
    """Mask ``secrets`` in every record psycopg or its pool logs, from now on."""
    global _installed  # noqa: PLW0603 - one filter for the process, installed once
    _FILTER.add(secrets)
    with _install_lock:
        if _installed:
            return
        import psycopg_pool  # noqa: F401 - its loggers must exist to be given the filter

        names = set(_DRIVER_LOGGERS)
        names.update(
            name for name in logging.Logger.manager.loggerDict if name.startswith("psycopg")
        )
        for name in sorted(names):
            logging.getLogger(name).addFilter(_FILTER)
        _installed = True
