"""The teller's day on the command line: customers, reversals, holds, the journal, "as of"
and "why" (``bank_desktop.cli`` adds these commands and hands them over here).

    bank-desktop customers register --name "Ada Lovelace" --national-id AB123456
    bank-desktop customers show|list|find|change …
    bank-desktop reverse ACCOUNT EVENT_ID --reason "Keyed 500 instead of 50"
    bank-desktop hold ACCOUNT 25.00 --reason "Cheque clearing" [--expires 2026-11-30]
    bank-desktop release ACCOUNT HOLD_ID
    bank-desktop journal --date 2026-11-03 [--clerk C] [--csv FILE] [--tz ZONE]
    bank-desktop show ACCOUNT --as-of 2026-11-01 [--tz ZONE]
    bank-desktop why ACCOUNT EVENT_ID

Dates are ``YYYY-MM-DD`` in the machine's local zone unless ``--tz`` names another.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any, Final

from bank_desktop.application import BankService
from bank_desktop.application.days import parse_day, parse_zone
from bank_desktop.application.journal import Journal, journal_csv, journal_from_store
from bank_desktop.application.projections import LedgerEntry, ReadModel, load_ledger
from bank_desktop.application.projections.as_of import as_of, end_of_day
from bank_desktop.application.projections.why import explain_line
from bank_desktop.domain import ValidationError, format_money
from bank_desktop.domain.accounts import AccountState
from bank_desktop.domain.errors import AccountNotFoundError
from bank_desktop.eventstore import EventStore

Say = Callable[[str], None]
#: The commands of this module (for the command line's dispatch).
COMMANDS: Final = frozenset({"customers", "reverse", "hold", "release", "journal", "why"})
_CUSTOMER_WRITES: Final = frozenset({"register", "change"})


def add_commands(commands: Any, request_id: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add the teller's commands to the command line's subparsers."""
    customers = commands.add_parser("customers", help="register, find and change customers")
    actions = customers.add_subparsers(dest="customers_command", metavar="ACTION", required=True)
    register = actions.add_parser("register", help="register a customer")
    register.add_argument("--name", required=True, help="full name")
    register.add_argument("--national-id", required=True, help="national id (unique)")
    _details(register)
    request_id(register)
    change = actions.add_parser("change", help="change a customer's details (recorded)")
    change.add_argument("customer")
    change.add_argument("--name", help="new full name")
    change.add_argument("--national-id", help="new national id")
    _details(change)
    change.add_argument(
        "--clear",
        action="append",
        default=[],
        choices=["date-of-birth", "phone", "address"],
        help="remove an optional detail (repeatable)",
    )
    request_id(change)
    show = actions.add_parser("show", help="a customer's details and accounts")
    show.add_argument("customer")
    listing = actions.add_parser("list", help="customers in registration order")
    listing.add_argument("--limit", type=int, default=50, help="rows to show")
    find = actions.add_parser("find", help="find customers by name or national id")
    find.add_argument("text", help="part of a name or national id (case and accents ignored)")
    find.add_argument("--limit", type=int, default=20, help="rows to show")

    reverse = commands.add_parser(
        "reverse", help="reverse a deposit or withdrawal keyed by mistake"
    )
    reverse.add_argument("account")
    reverse.add_argument("event_id", metavar="EVENT_ID", help="the line's event id (see show)")
    reverse.add_argument("--reason", required=True)
    request_id(reverse)

    hold = commands.add_parser("hold", help="set money aside on an account (a hold)")
    hold.add_argument("account")
    hold.add_argument("amount", help="amount, e.g. 1,234.56")
    hold.add_argument("--reason", required=True)
    hold.add_argument(
        "--expires",
        help="when the hold stops counting: a date (its end) or a date and time, local unless --tz",
    )
    hold.add_argument("--tz", help="time zone of --expires (default: local)")
    request_id(hold)

    release = commands.add_parser("release", help="release a hold")
    release.add_argument("account")
    release.add_argument("hold_id", metavar="HOLD_ID")
    request_id(release)

    journal = commands.add_parser(
        "journal",
        help="the end-of-day journal: transactions, totals by kind, balance sums",
        description="Every transaction of a day (midnight to midnight in --tz, default the "
        "machine's local zone) with totals by kind and the sum of all balances at the start "
        "and end of the day.",
        conflict_handler="resolve",  # its own --clerk: whose journal, not who acts
    )
    journal.add_argument("--date", required=True, help="the day, e.g. 2026-11-03")
    journal.add_argument(
        "--clerk",
        dest="journal_clerk",
        metavar="ID",
        help="only this clerk's transactions (after the command; before it, --clerk is who "
        "acts, as everywhere)",
    )
    journal.add_argument(
        "--csv", metavar="FILE", help="also write the journal as CSV ('-': stdout)"
    )
    journal.add_argument("--tz", help="time zone the day is cut in (default: local)")

    why = commands.add_parser("why", help="who, when and why for one line of a ledger")
    why.add_argument("account")
    why.add_argument("event_id", metavar="EVENT_ID")


def add_show_options(show: argparse.ArgumentParser) -> None:
    show.add_argument("--as-of", metavar="DATE", help="history and balance at the end of a day")
    show.add_argument("--tz", help="time zone of --as-of (default: local)")


def _details(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--date-of-birth", "--born", dest="date_of_birth", help="YYYY-MM-DD")
    parser.add_argument("--phone")
    parser.add_argument("--address")


def writes(args: argparse.Namespace) -> bool:
    """Whether the command writes (and so carries a request id)."""
    if args.command == "customers":
        return bool(args.customers_command in _CUSTOMER_WRITES)
    return args.command in {"reverse", "hold", "release"}


def dispatch(
    args: argparse.Namespace,
    bank: BankService,
    store: EventStore,
    load_model: Callable[[], ReadModel],
    say: Say,
) -> int:
    """Run one of :data:`COMMANDS`; DomainError and store errors go to the caller."""
    match args.command:
        case "customers":
            return _customers(args, bank, load_model, say)
        case "reverse":
            balance = bank.reverse(
                args.account, args.event_id, args.reason, command_id=args.request_id
            )
            say(f"Reversed {args.event_id} in {args.account}; balance {format_money(balance)}")
        case "hold":
            hold_id = bank.place_hold(
                args.account,
                args.amount,
                args.reason,
                expires_at=_expiry(args.expires, parse_zone(args.tz)),
                command_id=args.request_id,
            )
            state = bank.get_account(args.account)
            say(
                f"Hold {hold_id} placed on {args.account}; available "
                f"{format_money(state.available_balance)} of {format_money(state.balance)}"
            )
        case "release":
            available = bank.release_hold(args.account, args.hold_id, command_id=args.request_id)
            say(f"Released {args.hold_id} on {args.account}; available {format_money(available)}")
        case "journal":
            clerk = args.journal_clerk
            journal = journal_from_store(store, parse_day(args.date), parse_zone(args.tz), clerk)
            print_journal(journal, say)
            if args.csv:
                _write_csv(journal, args.csv, say)
        case "why":
            ledger = load_ledger(store, args.account)
            bank.get_account(args.account)  # a clear refusal for an unknown account
            for line in explain_line(ledger, args.event_id).lines():
                say(line)
    return 0


def _customers(
    args: argparse.Namespace, bank: BankService, load_model: Callable[[], ReadModel], say: Say
) -> int:
    match args.customers_command:
        case "register":
            customer_id = bank.register_customer(
                args.name,
                args.national_id,
                date_of_birth=args.date_of_birth,
                phone=args.phone,
                address=args.address,
                command_id=args.request_id,
            )
            state = bank.get_customer(customer_id)
            say(f"Registered {customer_id}: {state.full_name} ({state.national_id})")
        case "change":
            state = bank.change_customer_details(
                args.customer,
                full_name=args.name,
                national_id=args.national_id,
                date_of_birth=args.date_of_birth,
                phone=args.phone,
                address=args.address,
                clear=[name.replace("-", "_") for name in args.clear],
                command_id=args.request_id,
            )
            say(f"Changed {args.customer}: {state.full_name} ({state.national_id})")
        case "show":
            state = bank.get_customer(args.customer)
            say(f"{state.customer_id}  {state.full_name}  national id {state.national_id}")
            for label, value in (
                ("born", state.date_of_birth.isoformat() if state.date_of_birth else None),
                ("phone", state.phone),
                ("address", state.address),
            ):
                if value:
                    say(f"  {label}: {value}")
            model = load_model()
            for account_id in model.balances.accounts_of(args.customer):
                account = model.balances.get(account_id)
                if account is not None:
                    status = "open" if account.is_open else "closed"
                    say(f"  {account_id:<22} {format_money(account.balance):>16} {status}")
        case "list" | "find":
            model = load_model()
            customers = model.customers
            if args.customers_command == "find":
                rows = customers.search(args.text, limit=max(1, args.limit))
            else:
                rows = list(customers)[: max(1, args.limit)]
            say(f"{len(rows):,} of {len(customers):,} customers")
            for row in rows:
                accounts = len(model.balances.accounts_of(row.customer_id))
                say(
                    f"{row.customer_id:<22} {row.full_name:<30} {row.national_id:<16} "
                    f"{accounts} account{'s' if accounts != 1 else ''}"
                )
    return 0


def line_links(entry: LedgerEntry, reversed_by: Mapping[str, str]) -> str:
    """What ``show`` prints after a line: its event id (to reverse or explain it) and the
    reversal links."""
    links = [f"  [{entry.event_id}]"]
    if entry.reverses_event_id:
        links.append(f" reverses {entry.reverses_event_id}")
    undone = reversed_by.get(entry.event_id)
    if undone:
        links.append(f" reversed by {undone}")
    return "".join(links)


def print_holds(state: AccountState, say: Say) -> None:
    """The available balance and the active holds, under an account's header line."""
    if not state.holds:
        return
    say(f"  available {format_money(state.available_balance)}")
    for hold in state.holds:
        until = f" until {hold.expires_at.isoformat()}" if hold.expires_at else ""
        say(f"  hold {hold.hold_id} {format_money(hold.amount)} ({hold.reason}){until}")


def print_as_of(
    store: EventStore, account_id: str, day_text: str, zone_name: str | None, say: Say
) -> None:
    day = parse_day(day_text, "As-of date")
    moment = end_of_day(day, parse_zone(zone_name))
    ledger = load_ledger(store, account_id)
    if not ledger.entries:
        raise AccountNotFoundError(account_id, "show the account")
    state = as_of(account_id, ledger.entries, moment)
    say(
        f"{account_id} as of the end of {day.isoformat()} ({moment.isoformat()}): "
        f"{state.status.replace('_', ' ')}  {format_money(state.balance)}  available "
        f"{format_money(state.available_balance)}"
    )
    for entry in state.entries:
        amount = format_money(entry.amount) if entry.amount else ""
        say(
            f"{entry.occurred_at:%Y-%m-%d %H:%M:%S}  {entry.kind:<13} {amount:>14} "
            f"{format_money(entry.balance):>14}  {entry.clerk_id or '':<12} {entry.description}"
            + line_links(entry, {})
        )


def print_journal(journal: Journal, say: Say) -> None:
    who = f" by {journal.clerk_id}" if journal.clerk_id else ""
    say(
        f"Journal of {journal.day.isoformat()}{who} ({journal.zone}, "
        f"{journal.start.isoformat()} to {journal.end.isoformat()}): {len(journal.lines):,} lines"
    )
    for line in journal.lines:
        amount = format_money(line.amount) if line.amount else ""
        held = f"held {format_money(line.held)}" if line.held is not None else ""
        local = line.occurred_at.astimezone(journal.start.tzinfo)
        approval = (
            f" (requested by {line.requested_by}, approved by {line.approved_by})"
            if line.approved_by
            else ""
        )
        say(
            f"{local:%H:%M:%S}  {line.account_id:<22} {line.kind:<13} {amount:>14} {held:<16} "
            f"{line.clerk_id or '':<12} {line.description}{approval}"
        )
    say("Totals:")
    for kind, total in journal.totals.items():
        if total.count:
            say(f"  {kind:<14} {total.count:>6}  {format_money(total.amount):>16}")
    say(f"  transfers      {journal.transfers:>6}")
    say(f"Balances at start  {format_money(journal.opening_total):>18}")
    say(f"Net of the lines   {format_money(journal.net):>18}")
    if journal.clerk_id is not None:
        say(f"Net of others      {format_money(journal.others_net):>18}")
    say(f"Balances at end    {format_money(journal.closing_total):>18}")
    say("Reconciled." if journal.reconciles else "NOT RECONCILED: the sums do not add up.")
    if journal.skipped:
        say(f"Left out: {journal.skipped:,} stored event(s) this version cannot read.")


def _write_csv(journal: Journal, target: str, say: Say) -> None:
    text = journal_csv(journal)
    if target == "-":
        sys.stdout.write(text)
        return
    path = Path(target)
    path.write_text(text, encoding="utf-8", newline="")
    say(f"Wrote {path}")


def _expiry(text: str | None, zone: tzinfo | None) -> datetime | None:
    """``--expires``: a date means the end of that day; a date and time, that moment."""
    if text is None:
        return None
    cleaned = text.strip()
    try:
        if "T" in cleaned or " " in cleaned:
            moment = datetime.fromisoformat(cleaned)
        else:
            return end_of_day(date.fromisoformat(cleaned), zone)
    except ValueError:
        raise ValidationError(
            f"--expires must be a date like 2026-11-30 or a time like 2026-11-30T17:00 "
            f"(got {cleaned[:40]!r}).",
            {"field": "expires"},
        ) from None
    if moment.tzinfo is None:
        moment = moment.astimezone() if zone is None else moment.replace(tzinfo=zone)
    return moment
