"""``bank-desktop``: the command line, and the composition root for headless use.

Exit codes: 0 done, 1 refused by a business rule, 2 bad usage or configuration, 3 the store
is unavailable, 4 sent for approval (above the approval limit: nothing moved yet; the line
"Sent for approval: <id>" names the request), 141 the reader of our output went away.

Every command that writes carries a request id (``--request-id``, or a fresh one): when the
store fails under it, the outcome is unknown, and the error names the id with the exact
command that finishes the same operation. Running that again can never apply it twice; a plain
retry without the id would be a second request (a second transfer, once recovery has finished
the first).
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys
from collections.abc import Callable, Sequence
from typing import Any, Final, TextIO

from bank_desktop import __version__, staff_cli, teller_cli
from bank_desktop.application import BankService
from bank_desktop.application.demo_data import fill_demo_data
from bank_desktop.application.ids import new_command_id
from bank_desktop.application.projections import ReadModel, load_ledger
from bank_desktop.application.read_model_session import ReadModelSession
from bank_desktop.config import Settings, as_mapping, load_stored_settings, resolve_settings
from bank_desktop.console import print_store_notices, report_store_failure
from bank_desktop.domain import ApprovalRequired, DomainError, format_money
from bank_desktop.eventstore import (
    EventStore,
    EventStoreError,
    IdentityMismatchError,
    deploy_postgres,
    is_postgres_url,
    open_known_store,
    open_snapshot_store,
    prepare_store,
    redact_url,
    remember_store,
)
from bank_desktop.verify_command import add_verify_parser, run_verify_command

_log = logging.getLogger("bank_desktop")

#: Commands that write, and so carry a request id.
_WRITES: Final = frozenset({"open", "deposit", "withdraw", "transfer", "close"})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bank-desktop", description="Event-sourced banking for clerks."
    )
    _global_options(parser, defaults=True)
    parser.add_argument("--version", action="store_true", help="print version and store, then exit")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="check this installation: open an account and deposit in a hidden window, then exit",
    )
    parser.add_argument(
        "--demo",
        nargs="?",
        type=_positive_int,
        const=20_000,
        metavar="EVENTS",
        help="with the window: fill an empty store with sample data first (default 20,000 events)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_CommandParser)

    demo = commands.add_parser("demo-data", help="fill the store with realistic sample data")
    demo.add_argument("--events", type=_positive_int, default=2_000, help="events to write")
    demo.add_argument("--accounts", type=_positive_int, help="accounts (default: events / 10)")
    demo.add_argument("--seed", type=int, default=7, help="random seed")
    demo.add_argument("--days", type=_positive_int, default=120, help="days of history")
    demo.add_argument(
        "--customers", action="store_true", help="register most account holders as customers"
    )

    listing = commands.add_parser("accounts", help="list accounts and balances")
    listing.add_argument("--limit", type=_positive_int, default=50, help="rows to show")

    show = commands.add_parser("show", help="show one account and its ledger")
    show.add_argument("account")
    teller_cli.add_show_options(show)

    opening = commands.add_parser("open", help="open an account")
    opening.add_argument("--customer", required=True, help="customer id")
    opening.add_argument("--initial", default="0", help="initial balance, e.g. 1,234.56")
    _request_id(opening)

    for name, verb in (("deposit", "deposit into"), ("withdraw", "withdraw from")):
        sub = commands.add_parser(name, help=f"{verb} an account")
        sub.add_argument("account")
        sub.add_argument("amount", help="amount, e.g. 1,234.56")
        sub.add_argument("--description")
        _request_id(sub)

    transfer = commands.add_parser("transfer", help="move money between accounts")
    transfer.add_argument("source")
    transfer.add_argument("target")
    transfer.add_argument("amount")
    transfer.add_argument("--description")
    _request_id(transfer)

    close = commands.add_parser("close", help="close an account (balance must be zero)")
    close.add_argument("account")
    close.add_argument("--reason")
    _request_id(close)

    commands.add_parser(
        "recover", help="finish or reverse interrupted transfers; carry out approved requests"
    )
    teller_cli.add_commands(commands, _request_id)
    staff_cli.add_commands(commands, _request_id)

    _add_serve(commands)

    deploy = commands.add_parser(
        "deploy",
        help="prepare the store: the PostgreSQL schema, or on DeltaBase the event store and "
        "subscriptions of deltabase_config.py; safe to run again",
    )
    deploy.add_argument("--dry-run", action="store_true", help="say what would be done")
    deploy.add_argument(
        "--config", metavar="PATH", help="DeltaBase config (default: ./deltabase_config.py)"
    )
    _strict_identity_flags(deploy)
    add_verify_parser(commands)
    return parser


def _add_serve(commands: Any) -> None:
    """The headless REST API and its options (its own function: the parser grows per issue)."""
    serve = commands.add_parser(
        "serve",
        help="run the seed's REST API and projection webhook (headless)",
        description="Serve the seed-compatible REST API on uvicorn, on loopback only unless "
        "--allow-remote. Every request needs a clerk's API token (Authorization: Bearer; "
        "issue one with `bank-desktop staff token CLERK`), unless --open. The projection "
        "webhook is on when PROJECTION_AUTH_TOKEN is set to a secret of 32 or more characters "
        "(the seed's 'dev-token' only with --dev).",
    )
    serve.add_argument(
        "--open",
        action="store_true",
        help="the seed tutorial's mode: no client tokens, X-Clerk-Id names the clerk; "
        "loopback only",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument(
        "--port", type=_port, default=None, help="port (default: $PORT or 3001; 0 picks one)"
    )
    serve.add_argument(
        "--dev", action="store_true", help="allow the seed's default webhook token 'dev-token'"
    )
    serve.add_argument(
        "--allow-remote",
        action="store_true",
        help="confirm a --host beyond loopback: other machines can then reach the API",
    )
    serve.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="a name clients use for this server (repeatable; loopback names always work)",
    )


def _strict_identity_flags(deploy: argparse.ArgumentParser) -> None:
    """``deploy --strict-identity`` / ``--no-strict-identity``; neither keeps what the store has."""
    identity = deploy.add_mutually_exclusive_group()
    identity.add_argument(
        "--strict-identity",
        dest="strict_identity",
        action="store_true",
        default=None,
        help="PostgreSQL: refuse events whose clerk id is not the database login that appends "
        "them (the table's owner exempt); kept by later deploys",
    )
    identity.add_argument(
        "--no-strict-identity",
        dest="strict_identity",
        action="store_false",
        help="PostgreSQL: remove the strict-identity guard",
    )


class _CommandParser(argparse.ArgumentParser):
    """A command's parser: it also takes the global options, so ``bank-desktop deploy --store
    URL`` works as well as ``bank-desktop --store URL deploy``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _global_options(self, defaults=False)


def _global_options(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
    """``--store``, ``--clerk``, ``-v`` and ``--accept-store-reset``, on the main parser and
    on every command's.

    A command's parser copies every attribute it has onto the namespace the main parser
    filled, defaults included: a ``None`` default there would erase a ``--store`` given
    before the command. So on commands these options have no default at all (SUPPRESS) and
    appear only when given; given on both sides, the later one wins.
    """
    absent: Any = None if defaults else argparse.SUPPRESS
    parser.add_argument(
        "--store",
        metavar="URL",
        default=absent,
        help="event store URL (default: embedded SQLite)",
    )
    parser.add_argument(
        "--clerk", metavar="ID", default=absent, help="clerk id recorded on every event"
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=False if defaults else argparse.SUPPRESS,
        help="log what happens",
    )
    parser.add_argument(
        "--accept-store-reset",
        action="store_true",
        default=False if defaults else argparse.SUPPRESS,
        help="accept that the store was emptied, replaced, deleted or restored from an older "
        "backup: forget what this computer saw in it and take it as it is now",
    )


def _request_id(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--request-id", help="idempotency key: repeating it never applies the command twice"
    )


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0-65535)")
    return int(text)


def _positive_int(text: str) -> int:
    try:
        value = int(text.replace(",", "").replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


#: Exit code when the reader of our output went away (``… | head -1``): what a shell reports
#: for a program ended by SIGPIPE, so ``set -o pipefail`` scripts see the usual value.
EXIT_READER_GONE = 128 + 13


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """Run the command line; returns the exit code."""
    out = out or sys.stdout
    try:
        code = _main(argv, out)
        out.flush()  # here, not at exit, so a closed pipe is caught below
    except BrokenPipeError:
        # The reader stopped early: as quiet as `cat`. Whatever is still buffered for stdout
        # would fail again at interpreter exit, so stdout is pointed at /dev/null.
        _silence(out)
        return EXIT_READER_GONE
    return code


def _silence(out: TextIO) -> None:
    try:
        descriptor = out.fileno()
    except (OSError, ValueError):  # not a real file (tests pass a StringIO)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, descriptor)
    finally:
        os.close(devnull)


def _main(argv: Sequence[str] | None, out: TextIO) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.smoke:
        from bank_desktop.gui.smoke import run_smoke

        return run_smoke()
    settings = resolve_settings(
        store_url=args.store, clerk_id=args.clerk, stored=as_mapping(load_stored_settings())
    )
    if args.version:
        print(f"bank-desktop {__version__} (store: {redact_url(settings.store_url)})", file=out)
        return 0
    if args.command is None:
        from bank_desktop.gui.app import run  # Qt is loaded only for the window

        return run(settings, demo_events=args.demo or 0, accept_store_reset=args.accept_store_reset)
    # Commands that open the store their own way (verify: read-only, and never refused).
    own_store: dict[str, Callable[[], int]] = {
        "deploy": lambda: _deploy(
            settings.store_url,
            dry_run=args.dry_run,
            config=args.config,
            strict_identity=args.strict_identity,
            out=out,
        ),
        "verify": lambda: run_verify_command(args, settings.store_url, settings.data_dir, out),
    }
    if args.command in own_store:
        return own_store[args.command]()
    if args.command == "serve":
        from bank_desktop.http.server import default_port, serve

        return serve(
            store_url=settings.store_url,
            clerk_id=settings.clerk_id,
            data_dir=settings.data_dir,
            host=args.host,
            port=default_port() if args.port is None else args.port,
            dev=args.dev,
            allow_remote=args.allow_remote,
            extra_hosts=args.allowed_host,
            out=out,
            accept_store_reset=args.accept_store_reset,
            open_mode=args.open,
        )
    writes = args.command in _WRITES or teller_cli.writes(args) or staff_cli.writes(args)
    if writes and not args.request_id:
        args.request_id = new_command_id()  # named on failure, so a retry resumes, not repeats
    try:
        store = open_known_store(
            settings.store_url,
            settings.data_dir,
            accept_reset=args.accept_store_reset,
            notify=lambda text: print(f"notice: {text}", file=sys.stderr),
        )
    except EventStoreError as exc:
        return report_store_failure(exc)
    print_store_notices(store)
    try:
        return _dispatch(args, settings, store, out)
    except (DomainError, TypeError) as exc:
        return _refused(exc, out)
    except EventStoreError as exc:
        code = report_store_failure(exc)
        if writes and not isinstance(exc, IdentityMismatchError):  # refused: nothing written
            raw = list(argv) if argv is not None else sys.argv[1:]
            print(resume_advice(raw, args.request_id), file=sys.stderr)
        return code
    finally:
        remember_store(store, settings.data_dir)
        store.close()


def _refused(exc: DomainError | TypeError, out: TextIO) -> int:
    """What a command that did not go through prints, and its exit code."""
    if isinstance(exc, ApprovalRequired):  # not a refusal: recorded, waiting for a supervisor
        print(f"Sent for approval: {exc.approval_id}", file=out)
        print(f"note: {exc.message}", file=sys.stderr)
        return staff_cli.EXIT_SENT_FOR_APPROVAL
    if isinstance(exc, DomainError):
        print(f"refused: {exc.message}", file=sys.stderr)
        return 1
    print(f"error: {exc}", file=sys.stderr)
    return 2


def resume_advice(argv: Sequence[str], request_id: str) -> str:
    """What to tell a clerk whose write met a store failure: the request id, and the exact
    command (their own arguments plus that id) that finishes the same operation once."""
    shown: list[str] = []
    redacted = False
    after_store = False
    for word in argv:
        masked = redact_url(word) if after_store or word.startswith("--store=") else word
        redacted = redacted or masked != word
        after_store = word == "--store"
        shown.append(masked)
    if "--request-id" not in argv and not any(w.startswith("--request-id=") for w in argv):
        shown += ["--request-id", request_id]
    note = " (with the store's password where *** stands)" if redacted else ""
    return (
        f"The outcome is not known yet; request id {request_id}. To finish this operation, "
        f"run exactly this{note}; it is never applied twice:\n  "
        + shlex.join(["bank-desktop", *shown])
    )


def _deploy(
    url: str, *, dry_run: bool, config: str | None, strict_identity: bool | None, out: TextIO
) -> int:
    """Create what the store needs (idempotent); --dry-run only says what would happen."""
    if strict_identity is not None and not is_postgres_url(url):
        flag = "--strict-identity" if strict_identity else "--no-strict-identity"
        print(
            f"error: {flag} applies to PostgreSQL stores only (their logins are what it "
            f"checks clerk ids against); {redact_url(url)} is not one.",
            file=sys.stderr,
        )
        return 2
    if url.strip().lower().startswith("deltabase"):
        from bank_desktop.eventstore.deltabase import run_deploy

        try:
            report = run_deploy(url.strip(), config_path=config, dry_run=dry_run)
        except EventStoreError as exc:
            return report_store_failure(exc)
        print(report, file=out)
        return 0
    shown = redact_url(url)
    if is_postgres_url(url):
        try:
            steps = deploy_postgres(url, dry_run=dry_run, strict_identity=strict_identity)
        except EventStoreError as exc:
            return report_store_failure(exc)
        plans = {"would create": "create", "would remove": "remove"}
        for outcome, what in steps:
            plan = plans.get(outcome, "keep")
            print(f"plan: {plan} {what}" if dry_run else f"{outcome}: {what}", file=out)
        if not dry_run:
            print(f"The Bank Desktop store in {shown} is ready.", file=out)
        return 0
    if dry_run:
        print(f"plan: prepare the Bank Desktop schema in {shown} (tables are kept)", file=out)
        return 0
    try:
        store, created = prepare_store(url)
    except EventStoreError as exc:
        return report_store_failure(exc)
    done: list[tuple[str, str]] = list(getattr(store, "prepared", ()))
    store.close()
    if created or not done:
        print(f"{'created' if created else 'unchanged'}: Bank Desktop schema in {shown}", file=out)
    else:  # upgraded or repaired (a repair is also logged, with what to do next)
        for outcome, what in done:
            print(f"{outcome}: {what} in {shown}", file=out)
    return 0


def _dispatch(args: argparse.Namespace, settings: Settings, store: EventStore, out: TextIO) -> int:
    bank = BankService(store, clerk_id=settings.clerk_id)
    command: str | None = args.command
    say: Callable[[str], None] = lambda text: print(text, file=out)  # noqa: E731
    if command in teller_cli.COMMANDS:
        return teller_cli.dispatch(args, bank, store, lambda: _load_model(settings, store), say)
    if command in staff_cli.COMMANDS:
        return staff_cli.run(args, bank, say)
    match command:
        case "accounts":
            _print_accounts(settings, store, say, args.limit)
        case "demo-data":
            summary = fill_demo_data(
                store,
                events=args.events,
                accounts=args.accounts,
                seed=args.seed,
                days=args.days,
                customers=args.customers,
            )
            say(
                f"Wrote {summary.events:,} events: {summary.accounts:,} accounts, "
                f"{summary.transfers:,} transfers, {summary.closed:,} closed "
                f"in {summary.seconds:.1f} s to {redact_url(store.url)}"
            )
        case "show" if args.as_of:
            teller_cli.print_as_of(store, args.account, args.as_of, args.tz, say)
        case "show":
            _print_account(bank, store, args.account, say)
        case "open":
            account_id = bank.open_account(args.customer, args.initial, command_id=args.request_id)
            say(f"Opened {account_id} for {args.customer}")
        case "deposit":
            balance = bank.deposit(
                args.account, args.amount, args.description, command_id=args.request_id
            )
            say(f"Deposited into {args.account}; balance {format_money(balance)}")
        case "withdraw":
            balance = bank.withdraw(
                args.account, args.amount, args.description, command_id=args.request_id
            )
            say(f"Withdrew from {args.account}; balance {format_money(balance)}")
        case "transfer":
            transfer_id = bank.transfer(
                args.source, args.target, args.amount, args.description, command_id=args.request_id
            )
            say(f"Transfer {transfer_id} completed")
        case "close":
            bank.close_account(args.account, args.reason, command_id=args.request_id)
            say(f"Closed {args.account}")
        case "recover":
            return _recover(bank, say)
    return 0


def _load_model(settings: Settings, store: EventStore) -> ReadModel:
    """The read model from its snapshot and the store (notices go to stderr)."""
    session = ReadModelSession(store, open_snapshot_store(store, settings.data_dir), save_after=1)
    model = session.load().model
    for notice in session.notices:
        print(f"notice: {notice}", file=sys.stderr)
    return model


def _recover(bank: BankService, say: Callable[[str], None]) -> int:
    report = bank.recover()
    say(
        f"Recovered {report.finished} transfers: {len(report.completed)} completed, "
        f"{len(report.reversed)} reversed, {len(report.rejected)} rejected, "
        f"{len(report.failed)} failed"
    )
    carried = len(report.approvals_executed) + len(report.approvals_failed)
    if carried:
        say(
            f"Carried out {carried} approved requests: {len(report.approvals_executed)} done, "
            f"{len(report.approvals_failed)} refused when they ran"
        )
    return 3 if report.failed else 0


def _print_accounts(
    settings: Settings, store: EventStore, say: Callable[[str], None], limit: int
) -> None:
    model = _load_model(settings, store)
    total = model.balances.total()
    unreadable = model.balances.unreadable()
    left_out = (
        f" ({unreadable:,} account{'s' if unreadable != 1 else ''} whose history this version "
        "cannot read left out)"
        if unreadable
        else ""
    )
    say(
        f"{len(model.balances):,} accounts, total {format_money(total)}{left_out}, "
        f"{len(model.transfers.unfinished())} transfers in flight, "
        f"events to {model.checkpoint:,} ({redact_url(store.url)})"
    )
    for index, row in enumerate(model.balances):
        if index >= limit:
            say(f"… {len(model.balances) - limit:,} more")
            break
        status = "open" if row.is_open else "closed"
        # A balance that ignores part of the history is no balance: show the mark instead.
        shown = format_money(row.balance) if row.unrecognized is None else "unknown"
        say(
            f"{row.account_id:<22} {row.customer_id:<14} {shown:>16} "
            f"{status:<6} {row.last_activity_at:%Y-%m-%d %H:%M}"
            + (f"  (cannot read: {row.unrecognized})" if row.unrecognized else "")
            + (f"  {row.customer_name}" if row.customer_name else "")
        )


def _print_account(
    bank: BankService, store: EventStore, account_id: str, say: Callable[[str], None]
) -> None:
    state = bank.get_account(account_id)
    status = "open" if state.is_open else "closed"
    if state.unrecognized is not None:
        say(f"{account_id}  customer {state.customer_id}  {status}  balance unknown")
        say(f"  this version cannot read its history: {state.unrecognized}")
    else:
        say(f"{account_id}  customer {state.customer_id}  {status}  {format_money(state.balance)}")
        teller_cli.print_holds(state, say)
    ledger = load_ledger(store, account_id)
    for entry in ledger.entries:
        amount = format_money(entry.amount) if entry.amount else ""
        # From the first event it cannot read on, a running balance ignores part of history.
        unread = (
            ledger.unrecognized_at is not None and entry.stream_position > ledger.unrecognized_at
        )
        running = "unknown" if unread else format_money(entry.balance)
        say(
            f"{entry.occurred_at:%Y-%m-%d %H:%M:%S}  {entry.kind:<12} {amount:>14} "
            f"{running:>14}  {entry.clerk_id or '':<12} {entry.description}"
            + teller_cli.line_links(entry, ledger.reversed_by)
        )
    if ledger.unrecognized is not None:
        say(f"  not shown: {ledger.unrecognized} (this version cannot read it)")


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
