"""The subscriber process of ``postgres.py``'s live-delivery measurement.

Started as ``python bench/_pg_child.py STORE_URL``: opens the store, runs a SubscriptionRunner
(the app's defaults) from the current head, prints ``ready`` once live, and stamps every event
delivered with the system-wide monotonic clock (``CLOCK_MONOTONIC``, the same in every process
on the machine). When a line ``stop N`` arrives on stdin it waits until it has received N
commands and prints one JSON line: command id → delivery time in nanoseconds, then exits.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any


def now_ns() -> int:
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def main() -> None:
    from bank_desktop.application import SubscriptionRunner, SubscriptionState
    from bank_desktop.eventstore import open_store

    store = open_store(sys.argv[1])
    received: dict[str, int] = {}
    changed = threading.Condition()

    def on_events(batch: Sequence[Any]) -> None:
        stamp = now_ns()  # first thing: the moment the page reached the consumer
        with changed:
            for event in batch:
                if event.type != "money.deposited":
                    continue  # the request id's claim comes first; the deposit is what counts
                command_id = event.metadata.get("commandId")
                if isinstance(command_id, str):
                    received[command_id] = stamp
            changed.notify_all()

    live = threading.Event()
    runner = SubscriptionRunner(
        store,
        on_events,
        after=store.head_position(),
        on_status=lambda s: live.set() if s.state is SubscriptionState.LIVE else None,
        name="bench-subscriber",
    )
    runner.start()
    if not live.wait(30):
        raise SystemExit("the subscription never went live")
    print("ready", flush=True)
    for line in sys.stdin:
        command, _, value = line.strip().partition(" ")
        if command == "stop":
            with changed:
                changed.wait_for(lambda n=int(value): len(received) >= n, timeout=60)
            break
    runner.stop()
    store.close()
    print(json.dumps(received), flush=True)


if __name__ == "__main__":
    main()
