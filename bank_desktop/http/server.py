"""``bank-desktop serve``: the API on uvicorn, stopped gracefully by SIGTERM or Ctrl+C.

Exit codes as for the rest of the CLI: 0 stopped normally, 2 bad usage or configuration
(store URL, webhook token, address in use, a non-loopback address not confirmed with
``--allow-remote``, ``--open`` beyond loopback), 3 the store is unavailable.

Every request needs a clerk's API token (``bank-desktop staff token CLERK``), and the server
starts with no tokens of its own: the store's staff register says whose each one is. By
default it listens on loopback only and answers only requests that name it by a loopback
name; listening anywhere else takes the operator's explicit ``--allow-remote`` (and TLS in
front of it: a token travels with every request). ``--open`` is the seed tutorial's mode, no
tokens at all: anyone who can reach it acts as any clerk, so it is loopback only.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Final, TextIO

import uvicorn
from fastapi import FastAPI

from bank_desktop.console import report_store_failure
from bank_desktop.eventstore import EventStoreError, open_known_store, redact_url
from bank_desktop.http.app import create_app
from bank_desktop.http.context import MIN_TOKEN_LENGTH, InsecureTokenError, ServeSettings
from bank_desktop.http.host_guard import LOOPBACK_NAMES
from bank_desktop.http.slow_clients import BODY_TIMEOUT, HEADER_TIMEOUT, deadline_protocol
from bank_desktop.http.webhook import PATH as WEBHOOK_PATH

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 3001
ENV_PORT: Final = "PORT"
ENV_TOKEN: Final = "PROJECTION_AUTH_TOKEN"


class _Server(uvicorn.Server):
    """uvicorn's server, except that SIGTERM/SIGINT are the normal way to stop: after the
    graceful shutdown (lifespan: subscription stopped, snapshot saved) ``serve`` returns 0
    instead of uvicorn re-raising the signal and dying by it."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        self._captured_signals.clear()


def default_port(environ: dict[str, str] | None = None) -> int:
    """``$PORT`` (the seed's variable) or 3001."""
    value = (environ if environ is not None else dict(os.environ)).get(ENV_PORT, "").strip()
    return int(value) if value.isdigit() and 0 <= int(value) < 65536 else DEFAULT_PORT


def listen(host: str, port: int) -> socket.socket:
    """A bound, listening socket (port 0 picks a free one)."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except BaseException:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def is_loopback(host: str) -> bool:
    """Every address ``host`` resolves to is this machine's loopback (an unresolvable name
    counts as loopback here: binding it fails with its own message)."""
    try:
        found = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError):
        return True
    addresses = {str(info[4][0]).split("%", 1)[0] for info in found}
    return all(ipaddress.ip_address(address).is_loopback for address in addresses)


def allowed_hosts(host: str, extra: Sequence[str] = ()) -> list[str]:
    """The names requests may use for this server: loopback, the address it listens on
    (unless a wildcard), ``extra``; on a wildcard address also this machine's own names."""
    names = [*LOOPBACK_NAMES, *extra]
    try:
        wildcard = ipaddress.ip_address(host).is_unspecified
    except ValueError:
        wildcard = not host
    if wildcard:
        names += [socket.gethostname(), socket.getfqdn()]
    else:
        names.append(host)
    return list(dict.fromkeys(name.lower() for name in names if name))


def server_config(
    app: FastAPI, *, header_timeout: float = HEADER_TIMEOUT, body_timeout: float = BODY_TIMEOUT
) -> uvicorn.Config:
    """uvicorn as ``serve`` runs it (tests run the same): our access log, no server header,
    deadlines for a slow client's request head and body."""
    return uvicorn.Config(
        app,
        http=deadline_protocol(header_timeout, body_timeout),
        log_config=None,
        access_log=False,  # our AccessLog writes one line per request, without secrets
        lifespan="on",
        server_header=False,
        timeout_graceful_shutdown=10,
    )


def serve(
    *,
    store_url: str,
    clerk_id: str,
    data_dir: Path,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    dev: bool = False,
    projection_token: str | None = None,
    allow_remote: bool = False,
    extra_hosts: Sequence[str] = (),
    out: TextIO | None = None,
    accept_store_reset: bool = False,
    open_mode: bool = False,
) -> int:
    """Run the API until SIGTERM/SIGINT; returns the exit code."""
    out = out or sys.stdout
    if open_mode and (allow_remote or not is_loopback(host)):
        print(
            "error: --open serves without tokens (anyone who reaches it acts as any clerk), "
            f"so only on loopback: drop --allow-remote and keep --host {DEFAULT_HOST}, or "
            "serve with clerks' API tokens (without --open).",
            file=sys.stderr,
        )
        return 2
    if not allow_remote and not is_loopback(host):
        print(
            f"error: --host {host} listens beyond this computer: other machines could reach "
            "the API. Pass --allow-remote to confirm (and --allowed-host NAME for each name "
            f"clients use), or keep the default --host {DEFAULT_HOST}.",
            file=sys.stderr,
        )
        return 2
    hosts = allowed_hosts(host, extra_hosts)
    token = projection_token if projection_token is not None else os.environ.get(ENV_TOKEN)
    http_log = logging.getLogger("bank_desktop.http")
    if http_log.getEffectiveLevel() > logging.INFO:
        http_log.setLevel(logging.INFO)  # the access log is on by default
    try:
        store = open_known_store(store_url, data_dir, accept_reset=accept_store_reset)
    except EventStoreError as exc:
        return report_store_failure(exc)
    try:
        settings = ServeSettings(
            clerk_id=clerk_id,
            projection_token=token,
            dev=dev,
            data_dir=data_dir,
            close_store=True,
            allowed_hosts=tuple(hosts),
            open=open_mode,
        )
        app = create_app(store, settings)
        sock = listen(host, port)
    except InsecureTokenError as exc:
        store.close()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        store.close()
        print(f"error: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    bound_host, bound_port = sock.getsockname()[:2]
    shown_host = f"[{bound_host}]" if ":" in bound_host else bound_host
    server = _Server(server_config(app))
    print(
        f"Bank Desktop API on http://{shown_host}:{bound_port} "
        f"(store {redact_url(store.url)}, clerk {clerk_id}{', dev mode' if dev else ''})",
        file=out,
        flush=True,
    )
    if open_mode:
        print(
            "Open mode (the seed tutorial's): no client tokens; anyone on this computer can act "
            "as any clerk (X-Clerk-Id). Listening on loopback only.",
            file=out,
            flush=True,
        )
    else:
        print(
            "Clients send 'Authorization: Bearer <token>' on every request; an admin issues a "
            "clerk's token with: bank-desktop staff token CLERK",
            file=out,
            flush=True,
        )
    if app.state.api.settings.projection_token is None:
        print(
            f"The projection webhook (POST {WEBHOOK_PATH}) is disabled: set "
            f"{ENV_TOKEN} to a secret of {MIN_TOKEN_LENGTH} or more characters to enable it.",
            file=out,
            flush=True,
        )
    if not is_loopback(host):
        print(
            f"warning: listening on {host}: other machines can reach the API, and every "
            "request carries a clerk's token in the clear: put it behind TLS. "
            f"Requests must name this server as one of: {', '.join(hosts)}.",
            file=out,
            flush=True,
        )
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    if not server.started:
        print("error: the API could not start (is the store reachable?)", file=sys.stderr)
        return 3
    print("Bank Desktop API stopped.", file=out, flush=True)
    return 0
