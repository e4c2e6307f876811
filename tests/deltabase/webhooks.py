"""Webhook delivery of the test DeltaBase: ``{"events": [...]}`` posts, retried per policy."""

from __future__ import annotations

import queue
import threading
from typing import Any

import httpx
import msgspec

_encoder = msgspec.json.Encoder(decimal_format="number")


class WebhookDelivery:
    """Posts ``{"events": [...]}`` to subscribed URLs on a thread, with the configured retries.

    ``backoffMinutes`` are scaled by ``seconds_per_minute`` so that retries take milliseconds.
    Deliveries are sequential, so they stay in order per stream.
    """

    def __init__(self, *, seconds_per_minute: float) -> None:
        self.seconds_per_minute = seconds_per_minute
        self.attempts: list[tuple[str, int | str]] = []  # (url, status or error)
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._client = httpx.Client(trust_env=False)

    def enqueue(self, record: dict[str, Any], envelopes: list[dict[str, Any]]) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)
            self._thread.start()
        self._queue.put((record, envelopes))

    def _run(self) -> None:
        while not self._stop.is_set():
            job = self._queue.get()
            if job is None:
                return
            record, envelopes = job
            self._deliver(record, envelopes)

    def _deliver(self, record: dict[str, Any], envelopes: list[dict[str, Any]]) -> None:
        config = record["subscriberConfig"]
        policy = config.get("retryPolicy") or {"maxAttempts": 3, "backoffMinutes": 1}
        timeout = (config.get("timeoutMs") or 10_000) / 1000
        body = _encoder.encode({"events": envelopes})
        headers = {"Content-Type": "application/json", **(config.get("headers") or {})}
        for attempt in range(1, int(policy.get("maxAttempts", 3)) + 1):
            try:
                response = self._client.post(
                    config["url"], content=body, headers=headers, timeout=timeout
                )
                outcome: int | str = response.status_code
            except httpx.HTTPError as exc:
                outcome = type(exc).__name__
            self.attempts.append((config["url"], outcome))
            if isinstance(outcome, int) and 200 <= outcome < 300:
                record["lastProcessedEventGlobalPosition"] = envelopes[-1]["globalPosition"]
                return
            if attempt < int(policy.get("maxAttempts", 3)):
                self._stop.wait(float(policy.get("backoffMinutes", 1)) * self.seconds_per_minute)

    def close(self) -> None:
        self._stop.set()
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(5)
        self._client.close()
