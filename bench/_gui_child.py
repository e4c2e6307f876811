"""The processes bench/gui.py starts: a fresh window timed to "interactive", and a writer.

Usage:
  python bench/_gui_child.py startup DB DATA_DIR EXPECTED_ROWS [PROFILE_DIR]
  python bench/_gui_child.py memory DB EMPTY_DATA_DIR EXPECTED_ROWS
  python bench/_gui_child.py writer DB COUNT CHUNK PAUSE_MS SEED

startup: only the standard library is imported before the clock starts (T0 is the child's
first statement). It creates the window exactly as ``bank_desktop.gui.app.run`` does
(``create_main_window`` then ``show``), offscreen, and records when the window first paints,
when the accounts model holds EXPECTED_ROWS rows, when the status bar says "● live", and when a
0-ms QTimer posted after both fires ("interactive"). It prints ``READY {json}``, closes the
window the normal way (closeEvent saves the read model and waits for workers), prints
``CLOSED {json}`` and exits. The worker's load (restore + catch-up) is timed by a thin wrapper
around ``WindowSession._load`` installed here (no package change). With PROFILE_DIR, the GUI
thread and the loading worker are each profiled with cProfile and dumped there.

memory: the same start-up, but DATA_DIR holds no snapshot, so the window rebuilds its read model
from every event (and saves a snapshot, as it does after any long replay). Once interactive and
then ``SETTLE_MS`` idle, it prints ``MEMORY {json}``: the process's resident set (VmRSS) and its
peak (VmHWM) from /proc/self/status at each step (imports, window shown, interactive, settled),
then sorts the accounts by balance and reports the resident set again.

writer: opens DB, picks COUNT random open accounts (with repetition), folds each one's stream
to decide a deposit with the real account decider, encodes it with the metadata a clerk's
command carries (as bench/stream_length.py does), prints ``READY``, waits for a line on stdin,
then appends the deposits in transactions of CHUNK events through ``store.append_many``
(PAUSE_MS between transactions) and prints ``DONE {json}``.
"""

import json
import os
import sys
import time

T0 = time.perf_counter()


def emit(tag: str, **fields: object) -> None:
    print(f"{tag} {json.dumps(fields, default=str)}", flush=True)


SETTLE_MS = 1000


def resident() -> dict[str, float]:
    """VmRSS and VmHWM (peak) of this process in MiB, from /proc/self/status (Linux)."""
    out: dict[str, float] = {}
    try:
        with open("/proc/self/status") as status:
            for line in status:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    out[key] = int(value.split()[0]) / 1024
    except OSError:
        pass
    return out


# ── startup ───────────────────────────────────────────────────────────────────────────────


def startup(
    db: str, data_dir: str, expected_rows: int, profile_dir: str | None, memory: bool = False
) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    memory_marks: dict[str, dict[str, float]] = {"start": resident()}
    from pathlib import Path

    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication

    from bank_desktop.gui.app import application, create_main_window
    from bank_desktop.gui.session import WindowSession

    clock = time.perf_counter
    marks: dict[str, float] = {"imports": clock() - T0}
    memory_marks["imports"] = resident()
    profiles: list = []
    if profile_dir:
        import cProfile

        gui_profile = cProfile.Profile()
        gui_profile.enable()

    import gc

    collections: list[tuple[int, float]] = []
    gc_started = [0.0]

    def on_gc(phase: str, info: dict) -> None:  # any thread; the GIL serialises collections
        if phase == "start":
            gc_started[0] = clock()
        else:
            collections.append((info["generation"], clock() - gc_started[0]))

    gc.callbacks.append(on_gc)
    original_load = WindowSession._load

    def timed_load(self: WindowSession):  # runs on a pool thread
        marks["load_start"] = clock() - T0
        if profile_dir:
            worker_profile = cProfile.Profile()
            worker_profile.enable()
            try:
                return original_load(self)
            finally:
                worker_profile.disable()
                profiles.append(("worker", worker_profile))
                marks["load_end"] = clock() - T0
        try:
            return original_load(self)
        finally:
            marks["load_end"] = clock() - T0

    WindowSession._load = timed_load  # type: ignore[method-assign]

    app = application()
    marks["application"] = clock() - T0
    window = create_main_window(f"sqlite://{db}", clerk_id="bench", data_dir=Path(data_dir))
    marks["created"] = clock() - T0
    model = window.accounts_model
    viewport = window.accounts_table.viewport()
    label = window.connection_label

    def check_live() -> None:
        if "live" not in marks and label.text() == "● live":
            marks["live"] = clock() - T0
            maybe_interactive()

    class Watcher(QObject):
        def eventFilter(self, obj: QObject, event: QEvent) -> bool:
            kind = event.type()
            if kind == QEvent.Type.Paint:
                now = clock() - T0
                if obj is window:
                    marks.setdefault("first_paint", now)
                elif obj is viewport and "loaded" in marks:
                    marks.setdefault("rows_painted", now)
            if obj is label:
                check_live()
            return False

    watcher = Watcher()
    window.installEventFilter(watcher)
    viewport.installEventFilter(watcher)
    label.installEventFilter(watcher)

    def about_to_reset() -> None:
        marks.setdefault("reset_start", clock() - T0)

    def reset_done() -> None:
        if "loaded" not in marks and model.rowCount() == expected_rows:
            marks["loaded"] = clock() - T0
            maybe_interactive()

    model.modelAboutToBeReset.connect(about_to_reset)
    model.modelReset.connect(reset_done)

    fallback = QTimer()
    fallback.setInterval(20)  # in case the label changed without an event reaching the filter
    fallback.timeout.connect(check_live)
    fallback.start()

    def maybe_interactive() -> None:
        if "loaded" in marks and "live" in marks and "posted" not in marks:
            marks["posted"] = clock() - T0
            QTimer.singleShot(0, interactive)

    def interactive() -> None:
        marks["interactive"] = clock() - T0
        fallback.stop()
        if profile_dir:
            gui_profile.disable()
            profiles.append(("gui", gui_profile))
        gc.callbacks.remove(on_gc)
        emit(
            "READY",
            **marks,
            gc_seconds=sum(c[1] for c in collections),
            gc_count=len(collections),
            gc_full=sum(c[0] == 2 for c in collections),
            rows=model.rowCount(),
            checkpoint=window.read_model.checkpoint if window.read_model else None,
            status=label.text(),
        )
        if memory:
            memory_marks["interactive"] = resident()
            QTimer.singleShot(SETTLE_MS, settled)
        else:
            QTimer.singleShot(0, close)

    def settled() -> None:
        from PySide6.QtCore import Qt

        from bank_desktop.gui.models.accounts import BALANCE

        memory_marks["settled"] = resident()
        window.accounts_table.sortByColumn(BALANCE, Qt.SortOrder.DescendingOrder)
        QTimer.singleShot(SETTLE_MS, sorted_settled)

    def sorted_settled() -> None:
        memory_marks["sorted"] = resident()
        emit("MEMORY", **memory_marks)
        QTimer.singleShot(0, close)

    def close() -> None:
        started = clock()
        window.close()
        marks["close"] = clock() - started
        app.quit()

    timeout = QTimer()
    timeout.setSingleShot(True)
    timeout.timeout.connect(lambda: (emit("TIMEOUT", **marks), app.exit(3)))
    timeout.start(900_000 if memory else 120_000)  # a full rebuild on a busy machine

    window.show()
    marks["shown"] = clock() - T0
    memory_marks["shown"] = resident()
    code = app.exec()
    if profile_dir:
        for name, profile in profiles:
            profile.dump_stats(str(Path(profile_dir) / f"startup-{name}.prof"))
    emit("CLOSED", close=marks.get("close"), exit_code=code)
    QApplication.instance()  # keep the import used
    sys.exit(code)


# ── writer ────────────────────────────────────────────────────────────────────────────────


def writer(db: str, count: int, chunk: int, pause_ms: float, seed: int) -> None:
    import random
    import uuid
    from datetime import UTC, datetime
    from decimal import Decimal

    from bank_desktop import __version__
    from bank_desktop.application.appending import ChainedAppender
    from bank_desktop.application.clock import wire_precision
    from bank_desktop.application.fingerprints import command_fingerprint
    from bank_desktop.application.stream_kinds import ACCOUNTS
    from bank_desktop.domain import accounts
    from bank_desktop.eventstore import AppendRequest, NewEvent, open_store

    clock = time.perf_counter
    store = open_store(f"sqlite://{db}")
    started = clock()
    conn = store._connection()  # bench-only: the port has no "list streams of a type"
    opened = [
        r[0]
        for r in conn.execute(
            "SELECT stream_id FROM events WHERE type = ?", (accounts.AccountOpened.type,)
        )
    ]
    closed = {
        r[0]
        for r in conn.execute(
            "SELECT stream_id FROM events WHERE type = ?", (accounts.AccountClosed.type,)
        )
    }
    candidates = [a for a in opened if a not in closed]
    rng = random.Random(seed)
    chosen = [rng.choice(candidates) for _ in range(count)]
    states: dict[str, object] = {}
    positions: dict[str, int] = {}
    for account_id in set(chosen):
        state = ACCOUNTS.initial_state()
        last = 0
        for recorded in store.read_stream(account_id):
            event = ACCOUNTS.decode(recorded)
            if event is not None:
                state = ACCOUNTS.evolve(state, event)
            last = recorded.stream_position
        states[account_id] = state
        positions[account_id] = last
    starts = dict(positions)
    requests: list[AppendRequest] = []
    for account_id in chosen:
        command_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        amount = Decimal(rng.randint(500, 40_000)) / 100
        at = wire_precision(datetime.now(UTC))
        command = accounts.DepositMoney(account_id, amount, "Burst deposit", at)
        metadata = {
            "clerkId": "bench-burst",
            "correlationId": command_id,
            "causationId": command_id,
            "appVersion": __version__,
            "commandId": command_id,
            "requestHash": command_fingerprint(command),
        }
        state = states[account_id]
        events = []
        for event in ACCOUNTS.decide(command, state):  # type: ignore[arg-type]
            state = ACCOUNTS.evolve(state, event)  # type: ignore[arg-type]
            events.append(NewEvent(*ACCOUNTS.encode(event), metadata))
        states[account_id] = state
        requests.append(AppendRequest(account_id, events, positions[account_id]))
        positions[account_id] += len(events)
    chunks: list[list[AppendRequest]] = []
    current: list[AppendRequest] = []
    size = 0
    for request in requests:
        current.append(request)
        size += len(request.events)
        if size >= chunk:
            chunks.append(current)
            current, size = [], 0
    if current:
        chunks.append(current)
    head_before = store.head_position()
    appender = ChainedAppender(store, cache_size=len(starts) + 1)
    for account_id, start in starts.items():  # learn each head now, not while timed
        appender.head(account_id, start)
    emit(
        "READY",
        prepare=clock() - started,
        head=head_before,
        events=sum(len(r.events) for r in requests),
        accounts=len(set(chosen)),
        chunks=len(chunks),
    )
    sys.stdin.readline()
    go = clock()
    commits = []
    for index, part in enumerate(chunks):
        t0 = clock()
        appender.append_many(part)  # linked into the hash chain, as every append is
        commits.append((t0, clock()))
        if pause_ms and index + 1 < len(chunks):
            time.sleep(pause_ms / 1000)
    done = clock()
    head = store.head_position()
    store.close()
    emit(
        "DONE",
        go=go,
        first_commit=commits[0][1] if commits else go,
        done=done,
        head=head,
        commit_seconds=[b - a for a, b in commits],
    )


def main() -> None:
    kind, *rest = sys.argv[1:]
    if kind == "startup":
        db, data_dir, expected = rest[:3]
        startup(db, data_dir, int(expected), rest[3] if len(rest) > 3 else None)
    elif kind == "memory":
        db, data_dir, expected = rest[:3]
        startup(db, data_dir, int(expected), None, memory=True)
    elif kind == "writer":
        db, count, chunk, pause_ms, seed = rest
        writer(db, int(count), int(chunk), float(pause_ms), int(seed))
    else:
        raise SystemExit(f"unknown child kind {kind!r}")


if __name__ == "__main__":
    main()
