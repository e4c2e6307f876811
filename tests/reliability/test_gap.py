"""Gap test: eight writer processes append while live subscribers record what they see.

One SubscriptionRunner runs in the test process, another in a reader process of its own; both
must deliver every event exactly once, in global order, identical to a final ``read_all``.
Concurrent transactions commit out of order on a server, so a store that hands out positions
before commit would show a reader N+1 before N: this is the test that would catch it.
"""

from __future__ import annotations

import pytest

from bank_desktop.application import SubscriptionRunner, SubscriptionState
from bank_desktop.eventstore import open_store
from tests.reliability import workers
from tests.reliability.audit import read_everything
from tests.reliability.conftest import Figures, Target, scaled
from tests.reliability.helpers import SPAWN, Recorder, gather

pytestmark = pytest.mark.slow

WRITERS = 8


def test_live_subscribers_see_every_event_once_in_order(target: Target, figures: Figures) -> None:
    appends = scaled(120)
    store = open_store(target.url)
    seen = Recorder()
    runner = SubscriptionRunner(
        store, seen.on_events, on_status=seen.on_status, batch_size=17, idle_wait=0.2
    )
    runner.start()

    reader_ready = SPAWN.Event()
    reader_until = SPAWN.Queue()
    reader_results = SPAWN.Queue()
    reader = SPAWN.Process(
        target=workers.gap_reader,
        args=(target.url, reader_ready, reader_until, reader_results),
        name="reader",
        daemon=True,
    )
    start = SPAWN.Barrier(WRITERS + 1)
    results = SPAWN.Queue()
    writers = [
        SPAWN.Process(
            target=workers.gap_writer,
            args=(target.url, worker, appends, start, results),
            name=f"writer-{worker}",
            daemon=True,
        )
        for worker in range(WRITERS)
    ]
    try:
        reader.start()
        for writer in writers:
            writer.start()
        assert reader_ready.wait(workers.BARRIER_TIMEOUT)
        seen.wait(lambda: SubscriptionState.LIVE in seen.states(), what="live before writes")
        start.wait(workers.BARRIER_TIMEOUT)
        replies = gather(results, writers)
        head = store.head_position()
        reader_until.put(head)
        seen.wait(lambda: seen.position >= head, what=f"in-process subscriber at {head}")
        (read_back,) = gather(reader_results, [reader])
    finally:
        runner.stop()
        for process in [reader, *writers]:
            if process.is_alive():
                process.kill()

    written = sum(reply["written"] for reply in replies)
    everything = read_everything(store)
    store.close()
    violations = list(seen.problems) + list(read_back["problems"])
    if [e.global_position for e in everything] != list(range(1, written + 1)):
        violations.append(f"the store holds {len(everything)} events, {written} were written")
    if seen.events != everything:
        violations.append("the in-process subscriber's events differ from read_all")
    if read_back["seen"] != [workers.describe(e) for e in everything]:
        violations.append("the reader process's events differ from read_all")
    figures.add(
        store=target.kind,
        appends=WRITERS * appends,
        events_checked=len(seen.events) + len(read_back["seen"]),
        events=len(everything),
        batches_delivered_live=seen.batches,
        violations=len(violations),
    )
    assert violations == []
    assert len(everything) == written >= WRITERS * appends
    assert seen.states()[-1] is SubscriptionState.STOPPED
