"""``bank-desktop serve``: the API on uvicorn, stopped gracefully by SIGTERM or Ctrl+C.

Exit codes as for the rest of the CLI: 0 stopped normally, 2 bad usage or configuration
(store URL, webhook token, address in use), 3 the store is unavailable.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
from pathlib import Path
from types import FrameType
from typing import Final, TextIO

import uvicorn

from bank_desktop.console import report_store_failure
from bank_desktop.eventstore import EventStoreError, open_known_store, redact_url
from bank_desktop.http.app import create_app
from bank_desktop.http.context import InsecureTokenError

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


def serve(
    *,
    store_url: str,
    clerk_id: str,
    data_dir: Path,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    dev: bool = False,
    projection_token: str | None = None,
    out: TextIO | None = None,
    accept_store_reset: bool = False,
) -> int:
    """Run the API until SIGTERM/SIGINT; returns the exit code."""
    out = out or sys.stdout
    token = projection_token if projection_token is not None else os.environ.get(ENV_TOKEN)
    http_log = logging.getLogger("bank_desktop.http")
    if http_log.getEffectiveLevel() > logging.INFO:
        http_log.setLevel(logging.INFO)  # the access log is on by default
    try:
        store = open_known_store(store_url, data_dir, accept_reset=accept_store_reset)
    except EventStoreError as exc:
        return report_store_failure(exc)
    try:
        app = create_app(
            store,
            clerk_id=clerk_id,
            projection_token=token,
            dev=dev,
            data_dir=data_dir,
            close_store=True,
        )
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
    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=False,  # our AccessLog writes one line per request, without secrets
        lifespan="on",
        server_header=False,
        timeout_graceful_shutdown=10,
    )
    server = _Server(config)
    print(
        f"Bank Desktop API on http://{shown_host}:{bound_port} "
        f"(store {redact_url(store.url)}, clerk {clerk_id}{', dev mode' if dev else ''})",
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
