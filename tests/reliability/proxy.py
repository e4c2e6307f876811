"""A TCP relay in front of the PostgreSQL server, so a test can take "the server" away.

The server itself is shared by everything on the machine and must not be stopped; cutting the
relay looks the same to the processes that connect through it: every open connection drops at
once, and new ones are refused (accepted and closed straight away, as a server that is shutting
down does) until the relay is restored.

Stalling it is the nastier failure of a real network (a NAT entry or a firewall state gone, a
half-dead VPN): connections stay open and new ones are accepted, but nothing is forwarded any
more, in either direction, and no error ever comes. ``delay`` makes a slow but live link.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time


class Relay:
    """Forwards 127.0.0.1:<port> to ``upstream``; ``cut()`` and ``restore()`` the line."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self._upstream = upstream
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._server.getsockname()[1]
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._up = True
        self._closed = False
        self._flowing = threading.Event()
        self._flowing.set()
        #: Seconds each chunk waits before it is forwarded (a slow link); 0: at once.
        self.delay = 0.0
        self._stall_on: bytes | None = None
        self.refused = 0  #: connections turned away while cut
        self._acceptor = threading.Thread(target=self._accept, name="relay", daemon=True)
        self._acceptor.start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return  # closed
            with self._lock:
                up = self._up and not self._closed
                if not up:
                    self.refused += 1
            if not up:
                _drop(client)
                continue
            try:
                server = socket.create_connection(self._upstream, timeout=5)
            except OSError:
                _drop(client)
                continue
            server.settimeout(None)
            with self._lock:
                self._sockets.update((client, server))
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                marker = self._stall_on
                if marker is not None and marker in data:
                    self.stall()
                self._flowing.wait()
                if self.delay:
                    time.sleep(self.delay)  # the link's latency, not synchronisation
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with self._lock:
                    self._sockets.discard(end)
                _drop(end)

    def cut(self) -> None:
        """Drop every connection now and refuse new ones until ``restore()``."""
        with self._lock:
            self._up = False
            sockets, self._sockets = self._sockets, set()
        for end in sockets:
            _drop(end)

    def restore(self) -> None:
        with self._lock:
            self._up = True

    def stall(self) -> None:
        """Forward nothing more, in either direction, and say nothing: connections stay open."""
        self._flowing.clear()

    def stall_on(self, marker: bytes) -> None:
        """Stall when a chunk containing ``marker`` passes (it is held, not forwarded)."""
        self._stall_on = marker

    def resume(self) -> None:
        """Forward again, starting with what was held."""
        self._stall_on = None
        self._flowing.set()

    @property
    def stalled(self) -> bool:
        return not self._flowing.is_set()

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self.cut()
        self._flowing.set()  # pumps held by a stall see their sockets closed and end
        _drop(self._server)  # shutdown() wakes the accept() blocked in the relay thread
        self._acceptor.join(5)


def _drop(end: socket.socket) -> None:
    with contextlib.suppress(OSError):
        end.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        end.close()
