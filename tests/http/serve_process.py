"""``bank-desktop serve`` as a separate process, the way an operator starts it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

_LINE = re.compile(r"Bank Desktop API on (http://\S+) ")


class ServeProcess:
    """Starts ``python -m bank_desktop serve``; stdout/stderr are collected for inspection."""

    def __init__(self, args: Sequence[str], *, env: dict[str, str] | None = None) -> None:
        environ = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bank_desktop", "serve", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env=environ,
            cwd=Path(__file__).resolve().parents[2],
            text=True,
        )
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._readers = [
            threading.Thread(target=self._pump, args=(self.proc.stdout, self.stdout), daemon=True),
            threading.Thread(target=self._pump, args=(self.proc.stderr, self.stderr), daemon=True),
        ]
        for reader in self._readers:
            reader.start()
        self.url = ""

    @staticmethod
    def _pump(stream: object, sink: list[str]) -> None:
        for line in stream:  # type: ignore[attr-defined]
            sink.append(line)

    def wait_ready(self, timeout: float = 30.0) -> str:
        """The base URL once the server answers /health; raises with its output otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.stdout:
                match = _LINE.search(line)
                if match:  # a wildcard address is reached (and named) as loopback
                    self.url = match.group(1).replace("//0.0.0.0:", "//127.0.0.1:")
                    self.url = self.url.replace("//[::]:", "//[::1]:")
            if self.url:
                try:
                    # 401: it answers, and wants a clerk's token (all but --open do)
                    if httpx.get(f"{self.url}/health", timeout=2).status_code in (200, 401):
                        return self.url
                except httpx.TransportError:
                    pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"serve did not start:\n{self.output}")

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM, as a service manager stops it; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for reader in self._readers:
            reader.join(5)
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()  # read to the end by now; left open it warns when collected
        return self.proc.returncode

    @property
    def output(self) -> str:
        return "".join(self.stdout) + "".join(self.stderr)
