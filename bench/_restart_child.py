"""The process restart.py starts and times: open, restore, catch up, answer all balances.

Usage: python bench/_restart_child.py {ours|es-replay|es-view} DB [SNAPSHOT_DIR | VIEW_DB]

Only the standard library is imported before the clock starts, so the in-process figures
include importing the application (or the library) and opening its files. Prints
``READY {json}`` once it could serve requests, then ``QUERY {json}`` once it has the balance
of every account, then exits.
"""

import json
import sys
import time

T0 = time.perf_counter()


def emit(tag: str, **fields: object) -> None:
    print(f"{tag} {json.dumps(fields, default=str)}", flush=True)


def ours(db: str, snapshot_dir: str) -> None:
    from bank_desktop.application.projections import ReadModel, catch_up
    from bank_desktop.eventstore import open_store
    from bank_desktop.eventstore.snapshots import FileSnapshotStore

    t_import = time.perf_counter()
    store = open_store(f"sqlite:///{db}")
    t_open = time.perf_counter()
    model = ReadModel.restore(FileSnapshotStore(snapshot_dir), store)
    restored = model is not None
    if model is None:
        model = ReadModel()
    t_restore = time.perf_counter()
    caught_up = catch_up(model, store)
    t_ready = time.perf_counter()
    emit(
        "READY",
        imports=t_import - T0,
        open=t_open - t_import,
        restore=t_restore - t_open,
        catch_up=t_ready - t_restore,
        ready=t_ready - T0,
        restored=restored,
        caught_up=caught_up,
        checkpoint=model.checkpoint,
    )
    balances = {row.account_id: row.balance for row in model.balances}
    t_query = time.perf_counter()
    emit(
        "QUERY",
        query=t_query - t_ready,
        answered=t_query - T0,
        accounts=len(balances),
        total=sum(balances.values()),
    )
    store.close()


def es_replay(db: str) -> None:
    from _es_bank import fold_balances, open_bank

    t_import = time.perf_counter()
    app, _ = open_bank(db)
    t_open = time.perf_counter()
    balances: dict = {}
    closed: set = set()
    count, last = fold_balances(app, balances, closed)
    t_ready = time.perf_counter()
    emit(
        "READY",
        imports=t_import - T0,
        open=t_open - t_import,
        restore=0.0,
        catch_up=t_ready - t_open,
        ready=t_ready - T0,
        restored=False,
        caught_up=count,
        checkpoint=last,
    )
    emit(
        "QUERY",
        query=0.0,
        answered=t_ready - T0,
        accounts=len(balances),
        total=sum(balances.values()),
    )
    app.close()


def es_view(db: str, view_db: str) -> None:
    from _es_bank import catch_up_view, open_bank, open_view

    t_import = time.perf_counter()
    app, _ = open_bank(db)
    view, _ = open_view(view_db)
    t_open = time.perf_counter()
    start = view.max_tracking_id(app.name) or 0
    t_restore = time.perf_counter()
    count, last = catch_up_view(app, view, after=start)
    t_ready = time.perf_counter()
    emit(
        "READY",
        imports=t_import - T0,
        open=t_open - t_import,
        restore=t_restore - t_open,
        catch_up=t_ready - t_restore,
        ready=t_ready - T0,
        restored=start > 0,
        caught_up=count,
        checkpoint=last,
    )
    balances = view.all_balances()
    t_query = time.perf_counter()
    emit(
        "QUERY",
        query=t_query - t_ready,
        answered=t_query - T0,
        accounts=len(balances),
        total=sum(balances.values()),
    )
    view.datastore.close()
    app.close()


def main() -> None:
    kind, db, *rest = sys.argv[1:]
    if kind == "ours":
        ours(db, rest[0])
    elif kind == "es-replay":
        es_replay(db)
    elif kind == "es-view":
        es_view(db, rest[0])
    else:
        raise SystemExit(f"unknown kind {kind!r}")


if __name__ == "__main__":
    main()
