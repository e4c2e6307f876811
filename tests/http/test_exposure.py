"""What a local ``serve`` exposes: only to requests that name it, never to other web pages,
never beyond this computer unless the operator says so, and never to a client that stalls.

DNS rebinding: a page on ``evil.example`` re-points its own name at 127.0.0.1 and then talks to
the API as "same-origin" (its requests say ``Host: evil.example:3001``). So the Host must be
one the server is known by, a request from another origin (``Origin``) is refused, and no
response ever carries CORS headers.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from bank_desktop.eventstore import open_store
from bank_desktop.http import ServeSettings, create_app
from tests.http.conftest import TOKEN, Server, ThreadedServer
from tests.http.serve_process import ServeProcess
from tests.http.test_serve_cli import issue_token

SECRET = "exposure-webhook-token-0123456789abcdef"
SERVE = (sys.executable, "-m", "bank_desktop", "serve")
#: A generous limit proving the server closes a connection (its own deadline is 1 s here).
NO_HANG = 20.0


def test_a_request_naming_another_host_is_refused(server: Server) -> None:
    port = server.url.rsplit(":", 1)[1]
    for host in ("evil.example", f"evil.example:{port}", "127.0.0.1.evil.example", "", "[::1"):
        refused = server.get("/accounts", headers={"Host": host})
        assert refused.status_code == 400, (host, refused.text)
        assert "Host" in refused.json()["error"]
        posted = server.post("/accounts", {"customerId": "c"}, headers={"Host": host})
        assert posted.status_code == 400
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "LOCALHOST", "127.0.0.1"):
        assert server.get("/accounts", headers={"Host": host}).status_code == 200, host
    assert server.get("/accounts").json() == []  # nothing was opened by the refused posts


def test_another_origin_is_refused_and_no_cors_is_granted(server: Server) -> None:
    own = server.url
    for origin in ("http://evil.example", "null", f"{own}.evil.example", "https://127.0.0.1"):
        refused = server.post("/accounts", {"customerId": "c"}, headers={"Origin": origin})
        assert refused.status_code == 403, (origin, refused.text)
        assert "origin" in refused.json()["error"].lower()
        assert server.get("/accounts", headers={"Origin": origin}).status_code == 403
    assert server.get("/accounts").json() == []
    same = server.post("/accounts", {"customerId": "c"}, headers={"Origin": own})
    assert same.status_code == 201  # the API's own pages (/docs) may use it
    preflight = server.client.options(
        "/accounts",
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
    )
    for response in (preflight, same, server.get("/accounts", headers={"Origin": own})):
        assert not [h for h in response.headers if h.lower().startswith("access-control-")]


@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_a_non_loopback_bind_needs_the_operators_word(tmp_path: Path, host: str) -> None:
    store = f"sqlite://{tmp_path / 'bank.db'}"
    try:
        result = subprocess.run(
            [*SERVE, "--store", store, "--host", host, "--port", "0", "--dev"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"serve started on {host} without a word")
    assert result.returncode == 2
    assert "--allow-remote" in result.stderr
    assert host in result.stderr


def test_a_confirmed_non_loopback_bind_says_so_and_still_checks_the_host(tmp_path: Path) -> None:
    store = f"sqlite://{tmp_path / 'bank.db'}"
    auth = issue_token(store, "teller-1")
    serve = ServeProcess(
        [
            "--store",
            store,
            "--host",
            "0.0.0.0",
            "--allow-remote",
            "--allowed-host",
            "bank-api.branch.example",
        ],
        env={"PROJECTION_AUTH_TOKEN": SECRET},
    )
    base = serve.wait_ready()
    port = base.rsplit(":", 1)[1]
    named = httpx.get(
        f"{base}/accounts", headers={"Host": f"bank-api.branch.example:{port}", **auth}
    )
    assert named.status_code == 200
    evil = httpx.get(f"{base}/accounts", headers={"Host": "evil.example", **auth})
    assert evil.status_code == 400
    assert serve.stop() == 0
    assert "other machines" in serve.output
    assert "bank-api.branch.example" in serve.output


def test_localhost_is_loopback_and_needs_no_confirmation(tmp_path: Path) -> None:
    serve = ServeProcess(
        ["--store", f"sqlite://{tmp_path / 'bank.db'}", "--host", "localhost"],
        env={"PROJECTION_AUTH_TOKEN": SECRET},
    )
    serve.wait_ready()
    assert serve.stop() == 0
    assert "other machines" not in serve.output


# ── slow clients ──────────────────────────────────────────────────────────────────────────


@pytest.fixture
def strict_server(tmp_path: Path) -> Callable[[], tuple[ThreadedServer, int]]:
    """A server with small deadlines for a request's head (1 s) and body (2 s)."""
    started: list[ThreadedServer] = []

    def make() -> tuple[ThreadedServer, int]:
        app = create_app(
            open_store("memory://"),
            ServeSettings(clerk_id="c", projection_token=TOKEN, open=True),
        )
        threaded = ThreadedServer(app, header_timeout=1.0, body_timeout=2.0)
        threaded.start()
        started.append(threaded)
        return threaded, threaded.port

    yield make
    for threaded in started:
        threaded.stop()


def _closed_by_server(sock: socket.socket) -> bytes:
    """Everything the server sent until it closed the connection (fails if it never does)."""
    sock.settimeout(NO_HANG)
    received = b""
    try:
        while chunk := sock.recv(4096):
            received += chunk
    except TimeoutError:
        pytest.fail(f"the server kept a slow connection open for {NO_HANG:.0f} s")
    return received


def test_slow_loris_connections_are_closed(
    strict_server: Callable[[], tuple[ThreadedServer, int]],
) -> None:
    _, port = strict_server()
    sockets = [socket.create_connection(("127.0.0.1", port)) for _ in range(40)]
    try:
        for sock in sockets:  # a request head that never ends
            sock.sendall(b"GET /accounts HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a")
        answers = [_closed_by_server(sock) for sock in sockets]
        assert all(answer == b"" or answer.startswith(b"HTTP/1.1 408") for answer in answers)
        # a body that never ends
        body = socket.create_connection(("127.0.0.1", port))
        sockets.append(body)
        body.sendall(
            b"POST /accounts HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"customerId": '
        )
        _closed_by_server(body)
        # the server still serves the patient
        assert httpx.get(f"http://127.0.0.1:{port}/accounts").status_code == 200
    finally:
        for sock in sockets:
            sock.close()


def test_a_trickling_client_does_not_reset_the_deadline(
    strict_server: Callable[[], tuple[ThreadedServer, int]],
) -> None:
    _, port = strict_server()
    sock = socket.create_connection(("127.0.0.1", port))
    closed = threading.Event()
    sent = 0

    def trickle() -> None:
        nonlocal sent
        head = b"GET /accounts HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Pad: " + b"a" * 10_000
        for byte in head:
            if closed.wait(0.05):  # one byte every 50 ms: the slow client under test
                return
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                return
            sent += 1

    sender = threading.Thread(target=trickle, daemon=True)
    sender.start()
    try:
        _closed_by_server(sock)
    finally:
        closed.set()
        sender.join(5)
        sock.close()
    assert sent < 10_000  # closed long before the head was complete
