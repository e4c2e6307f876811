"""What recording the login on every PostgreSQL event costs an append: the same work on schemas
deployed three ways.

- ``no identity``: deployed, then the ``bank_events_record_role`` trigger dropped (as a store
  deployed before identity appends: no trigger runs);
- ``login recorded``: deployed as shipped (one BEFORE INSERT trigger sets ``db_role``);
- ``strict identity``: ``deploy --strict-identity`` (a second trigger parses each row's
  metadata and compares its ``clerkId`` with the login).

Three workloads per variant: ``--commands`` sequential ``BankService.deposit`` calls (one
committed transaction each: what a clerk's command costs), ``--batch``-event bulk appends
(``append_many``), and the server alone inserting ``--rows`` rows in one ``INSERT ... SELECT``
(microseconds per row: the triggers' own cost, without the client's). Everything runs as
the schema's owner with the clerk id set to the login, so strict identity accepts it (the
owner is exempt anyway; the check still runs). Rounds alternate the order of the variants.
Figures only.
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from collections.abc import Callable

import psycopg
from _common import parser, print_header, print_table, section

from bank_desktop.application import BankService
from bank_desktop.eventstore import AppendRequest, NewEvent, deploy_postgres, redact_url
from bank_desktop.eventstore.postgres import PostgresEventStore
from bank_desktop.eventstore.postgres_deploy import ROLE_TRIGGER

DEFAULT_SERVER = os.environ.get(
    "BANK_DESKTOP_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)
VARIANTS = ("no identity", "login recorded", "strict identity")


def _schema_url(server: str, schema: str) -> str:
    joiner = "&" if "?" in server else "?"
    return f"{server}{joiner}options=-csearch_path%3D{schema}"


def _prepared(server: str, variant: str) -> tuple[str, str]:
    """A fresh schema deployed as ``variant``: (its name, its URL)."""
    schema = f"bench_identity_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    url = _schema_url(server, schema)
    deploy_postgres(url, strict_identity=variant == "strict identity")
    if variant == "no identity":
        with psycopg.connect(url, autocommit=True) as owner:
            owner.execute(f"DROP TRIGGER {ROLE_TRIGGER} ON bank_events")
    return schema, url


def _commands(url: str, commands: int, accounts: int) -> float:
    """Deposits per second, sequential, one committed transaction each."""
    store = PostgresEventStore(url)
    try:
        bank = BankService(store, clerk_id=store.database_role or "clerk")
        ids = [bank.open_account(f"cust-{n}", "0") for n in range(accounts)]
        for account in ids:
            bank.deposit(account, "1.00")  # warm the cache and the connection
        started = time.perf_counter()
        for n in range(commands):
            bank.deposit(ids[n % accounts], "1.00")
        return commands / (time.perf_counter() - started)
    finally:
        store.close()


def _batches(url: str, batch: int, batches: int) -> float:
    """Events per second appended ``batch`` at a time (one transaction per batch)."""
    store = PostgresEventStore(url)
    try:
        clerk = {"clerkId": store.database_role or "clerk"}
        started = time.perf_counter()
        for n in range(batches):
            events = [NewEvent("note.added", {"n": i}, clerk) for i in range(batch)]
            store.append_many([AppendRequest(f"notes-{n}", events, 0)])
        return batch * batches / (time.perf_counter() - started)
    finally:
        store.close()


def _server_rows(url: str, rows: int) -> float:
    """Microseconds per row for the server to insert ``rows`` events in one statement."""
    metadata = (
        '{"appVersion":"1","causationId":"c","clerkId":"%s","correlationId":"c",'
        '"hash":"h","prevHash":"p"}'
    )
    with psycopg.connect(url) as conn:
        found = conn.execute(
            "SELECT coalesce(max(global_position), 0), session_user FROM bank_events"
        ).fetchone()
        head, login = (int(found[0]), str(found[1])) if found else (0, "clerk")
        started = time.perf_counter()
        conn.execute(
            "INSERT INTO bank_events (global_position, stream_id, stream_position, event_id, "
            "type, data, metadata, created_at) SELECT %s + g, 'rows-' || (%s + g), 1, "
            "md5(g::text), 'note.added', '{\"n\":1}', %s, now() FROM generate_series(1, %s) g",
            (head, head, metadata.replace("%s", login), rows),
        )
        conn.commit()
        return (time.perf_counter() - started) / rows * 1e6


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--server", default=DEFAULT_SERVER, help="PostgreSQL server URL")
    p.add_argument("--commands", type=int, default=1_000, help="timed deposits per variant")
    p.add_argument("--accounts", type=int, default=50, help="accounts deposited round-robin")
    p.add_argument("--batch", type=int, default=1_000, help="events per bulk append")
    p.add_argument("--batches", type=int, default=20, help="bulk appends per variant")
    p.add_argument("--rows", type=int, default=50_000, help="rows of the server-side insert")
    p.add_argument("--rounds", type=int, default=3, help="rounds (variant order alternates)")
    args = p.parse_args()
    if args.quick:
        args.commands, args.batches, args.rows, args.rounds = 200, 5, 10_000, 1
    server, args.server = args.server, redact_url(args.server)
    print_header("postgres_identity: the cost of recording the login on every event", args)
    runs: dict[str, dict[str, list[float]]] = {
        v: {"commands": [], "events": [], "rows": []} for v in VARIANTS
    }
    workloads: dict[str, Callable[[str], float]] = {
        "commands": lambda url: _commands(url, args.commands, args.accounts),
        "events": lambda url: _batches(url, args.batch, args.batches),
        "rows": lambda url: _server_rows(url, args.rows),
    }
    for round_ in range(args.rounds):
        order = VARIANTS if round_ % 2 == 0 else tuple(reversed(VARIANTS))
        for variant in order:
            schema, url = _prepared(server, variant)
            try:
                for name, work in workloads.items():
                    runs[variant][name].append(work(url))
            finally:
                with psycopg.connect(server, autocommit=True) as admin:
                    admin.execute(f"DROP SCHEMA {schema} CASCADE")
    section("median of rounds")
    base = runs["no identity"]
    rows = []
    for variant in VARIANTS:
        deposits = statistics.median(runs[variant]["commands"])
        events = statistics.median(runs[variant]["events"])
        per_row = statistics.median(runs[variant]["rows"])
        rows.append(
            [
                variant,
                f"{deposits:,.0f}/s",
                f"{deposits / statistics.median(base['commands']):.2f}x",
                f"{events:,.0f}/s",
                f"{events / statistics.median(base['events']):.2f}x",
                f"{per_row:.2f} us",
                f"{per_row - statistics.median(base['rows']):+.2f} us",
            ]
        )
    headers = ("variant", "deposits", "vs none", "bulk events", "vs none", "server/row", "vs none")
    print_table(headers, rows)


if __name__ == "__main__":
    main()
