"""Process entry points for the multi-process SQLite tests.

They live in their own small module so a spawned child imports only this and the adapter,
not the test module and pytest. Each worker reports through a queue with a small message:
("ok", payload) or ("error", traceback text), so the parent never waits on a dead child.
"""

from __future__ import annotations

import random
import time
import traceback
from typing import Any

from bank_desktop.eventstore import ANY, NO_STREAM, ConcurrencyError, NewEvent
from bank_desktop.eventstore.sqlite import SqliteEventStore

BARRIER_TIMEOUT = 60.0


def hot_stream_writer(
    path: str, worker: int, *, hot_count: int, own_count: int, start: Any, results: Any
) -> None:
    """Append ``hot_count`` events to "hot" (with expected positions, retrying on conflicts)
    and ``own_count`` events to "own-<worker>" in batches of two, interleaved."""
    try:
        rng = random.Random(worker)
        store = SqliteEventStore(path)
        ids: list[str] = []
        conflicts = 0
        own_written = 0
        start.wait(BARRIER_TIMEOUT)
        for i in range(hot_count):
            event = NewEvent("hot.appended", {"worker": worker, "i": i})
            while True:
                seen = store.stream_position("hot")
                try:
                    store.append("hot", [event], seen)
                    break
                except ConcurrencyError:
                    conflicts += 1
                    time.sleep(rng.uniform(0, 0.002))  # backoff, not synchronisation
            ids.append(event.event_id)
            # Pace the writer so the others get the lock: SQLite's busy handler backs off while
            # the holder re-takes the lock at once, which would run the workers one by one.
            time.sleep(rng.uniform(0, 0.001))
            if own_written < own_count and i % 2 == 1:
                own_written += _own_batch(store, worker, own_written, own_count, ids)
        while own_written < own_count:
            own_written += _own_batch(store, worker, own_written, own_count, ids)
        store.close()
        results.put(("ok", {"worker": worker, "ids": ids, "conflicts": conflicts}))
    except BaseException:
        results.put(("error", traceback.format_exc()))


def _own_batch(
    store: SqliteEventStore, worker: int, written: int, total: int, ids: list[str]
) -> int:
    batch = [
        NewEvent("own.appended", {"worker": worker, "i": written + k})
        for k in range(min(2, total - written))
    ]
    store.append(f"own-{worker}", batch, written if written else NO_STREAM)
    ids.extend(e.event_id for e in batch)
    return len(batch)


def gap_writer(path: str, worker: int, *, appends: int, start: Any, results: Any) -> None:
    """``appends`` appends of 1-4 events each, to a shared stream and an own stream (ANY)."""
    try:
        rng = random.Random(1000 + worker)
        store = SqliteEventStore(path)
        written = 0
        start.wait(BARRIER_TIMEOUT)
        for i in range(appends):
            stream_id = "shared" if i % 2 == 0 else f"gap-{worker}"
            batch = [
                NewEvent("gap.appended", {"worker": worker, "i": i, "k": k})
                for k in range(rng.randint(1, 4))
            ]
            store.append(stream_id, batch, ANY)
            written += len(batch)
            time.sleep(rng.uniform(0, 0.001))  # pacing, as in hot_stream_writer
        store.close()
        results.put(("ok", {"worker": worker, "written": written}))
    except BaseException:
        results.put(("error", traceback.format_exc()))


def open_fresh(path: str, start: Any, results: Any) -> None:
    """Open a store on a file that several processes create at the same moment."""
    try:
        start.wait(BARRIER_TIMEOUT)
        store = SqliteEventStore(path)
        store.append(f"opener-{random.random()}", [NewEvent("opened", {})], ANY)
        store.close()
        results.put(("ok", None))
    except BaseException:
        results.put(("error", traceback.format_exc()))
