"""The command line's dual-control commands: staff, policy and approvals (DESIGN §10).

    bank-desktop staff grant CLERK ROLE        bank-desktop policy set-limit AMOUNT|none
    bank-desktop staff revoke CLERK ROLE       bank-desktop policy show
    bank-desktop staff list                    bank-desktop approvals list
    bank-desktop staff token CLERK             bank-desktop approvals show ID
    bank-desktop staff revoke-token CLERK      bank-desktop approvals approve ID
                                               bank-desktop approvals reject ID --reason TEXT

The acting clerk is ``--clerk`` (default: the operating-system user). Changing the staff, the
limit or tokens takes the admin role once the store has an admin; approving or rejecting takes
the supervisor role. ``staff token`` prints the new token alone on the last line of its output:
the store keeps only its keyed hash, so it cannot be shown again.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Final

from bank_desktop.application import BankService
from bank_desktop.application.projections.approvals import ApprovalSummary
from bank_desktop.domain import format_money
from bank_desktop.domain.staff import ROLES, StaffState

#: Exit code of a command sent for approval instead of carried out.
EXIT_SENT_FOR_APPROVAL: Final = 4
COMMANDS: Final = frozenset({"staff", "policy", "approvals"})
#: (command, action) pairs that write and take a request id.
_WRITES: Final = frozenset(
    {
        ("staff", "grant"),
        ("staff", "revoke"),
        ("policy", "set-limit"),
        ("approvals", "approve"),
        ("approvals", "reject"),
    }
)

Say = Callable[[str], None]


def add_commands(
    commands: argparse._SubParsersAction,  # type: ignore[type-arg]
    request_id: Callable[[argparse.ArgumentParser], None],
) -> None:
    """Add ``staff``, ``policy`` and ``approvals`` to the command line's commands.

    The clerk a staff command is about is ``args.member``: ``args.clerk`` is who acts
    (``--clerk``), which every command's parser also takes.
    """
    roles = ", ".join(ROLES)
    staff = commands.add_parser("staff", help="who holds which role; API tokens")
    staff_actions = staff.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, verb in (("grant", "grant a role to"), ("revoke", "revoke a role from")):
        sub = staff_actions.add_parser(name, help=f"{verb} a clerk (admins)")
        sub.add_argument("member", metavar="CLERK")
        sub.add_argument("role", metavar="ROLE", help=roles)
        request_id(sub)
    staff_actions.add_parser("list", help="clerks, their roles and API tokens; the limit")
    token = staff_actions.add_parser(
        "token", help="issue a new API token for a clerk (printed once, on the last line)"
    )
    token.add_argument("member", metavar="CLERK")
    revoke_token = staff_actions.add_parser("revoke-token", help="revoke a clerk's API token")
    revoke_token.add_argument("member", metavar="CLERK")

    policy = commands.add_parser("policy", help="the approval limit")
    policy_actions = policy.add_subparsers(dest="action", metavar="ACTION", required=True)
    limit = policy_actions.add_parser(
        "set-limit",
        help="withdrawals, transfers and reversals above AMOUNT need a supervisor's approval "
        "(admins; 'none' removes the limit)",
    )
    limit.add_argument("amount", metavar="AMOUNT")
    request_id(limit)
    policy_actions.add_parser("show", help="the approval limit in force")

    approvals = commands.add_parser("approvals", help="requests waiting for a supervisor")
    approval_actions = approvals.add_subparsers(dest="action", metavar="ACTION", required=True)
    approval_actions.add_parser("list", help="requests waiting for approval, oldest first")
    show = approval_actions.add_parser("show", help="one request and where it stands")
    show.add_argument("approval", metavar="ID")
    approve = approval_actions.add_parser(
        "approve", help="approve another clerk's request and carry it out (supervisors)"
    )
    approve.add_argument("approval", metavar="ID")
    request_id(approve)
    reject = approval_actions.add_parser("reject", help="reject a request (supervisors)")
    reject.add_argument("approval", metavar="ID")
    reject.add_argument("--reason", required=True, help="why (recorded)")
    request_id(reject)


def writes(args: argparse.Namespace) -> bool:
    return (args.command, getattr(args, "action", None)) in _WRITES


def run(args: argparse.Namespace, bank: BankService, say: Say) -> int:
    """Run one staff, policy or approvals command; returns the exit code."""
    {"staff": _staff, "policy": _policy, "approvals": _approvals}[args.command](args, bank, say)
    return 0


def _staff(args: argparse.Namespace, bank: BankService, say: Say) -> None:
    match args.action:
        case "grant":
            held = bank.grant_role(args.member, args.role, command_id=args.request_id)
            say(f"{args.member} now holds: {_roles(held)}")
        case "revoke":
            held = bank.revoke_role(args.member, args.role, command_id=args.request_id)
            say(f"{args.member} now holds: {_roles(held)}")
        case "list":
            _print_staff(bank.staff(), say)
            limit = bank.approval_limit()
            say(f"Approval limit: {'none' if limit is None else format_money(limit)}")
        case "token":
            token = bank.issue_token(args.member)
            say(
                f"API token for {args.member} (it replaces any earlier one; keep it secret, it "
                "is shown only now):"
            )
            say(token)
        case "revoke-token":
            had = bank.revoke_token(args.member)
            say(f"Revoked the API token of {args.member}" if had else f"{args.member} had none")


def _policy(args: argparse.Namespace, bank: BankService, say: Say) -> None:
    match args.action:
        case "set-limit":
            text = args.amount.strip()
            value = None if text.lower() in ("none", "off") else text
            limit = bank.set_approval_limit(value, command_id=args.request_id)
            say(
                "No approval limit: nothing needs approval"
                if limit is None
                else f"Approval limit set to {format_money(limit)}"
            )
        case "show":
            limit = bank.approval_limit()
            say("No approval limit" if limit is None else f"Approval limit {format_money(limit)}")


def _approvals(args: argparse.Namespace, bank: BankService, say: Say) -> None:
    match args.action:
        case "list":
            pending = bank.pending_approvals()
            if not pending:
                say("No requests wait for approval.")
            for row in pending:
                say(_line(row))
        case "show":
            say(_line(bank.get_approval(args.approval)))
        case "approve":
            done = bank.approve(args.approval, command_id=args.request_id)
            if done.transfer_id is not None:
                result = f"transfer {done.transfer_id} completed"
            elif done.balance is not None:
                result = f"balance {format_money(done.balance)}"
            else:
                result = done.status
            say(f"Approved {done.approval_id} and carried it out; {result}")
        case "reject":
            done = bank.reject(args.approval, args.reason, command_id=args.request_id)
            say(f"Rejected {done.approval_id}: {done.reason}")


def _roles(roles: frozenset[str]) -> str:
    return ", ".join(role for role in ROLES if role in roles)


def _print_staff(state: StaffState, say: Say) -> None:
    clerks = sorted(state.granted.keys() | state.tokens.keys())
    if not clerks:
        say("No roles granted: every clerk is a teller, and the store has no admin yet.")
        return
    say(f"{'clerk':<24} {'roles':<28} API token")
    for clerk in clerks:
        token = state.tokens.get(clerk)
        issued = (
            "none"
            if token is None
            else f"issued {token.issued_at:%Y-%m-%d %H:%M} by {token.issued_by}"
        )
        say(f"{clerk:<24} {_roles(state.roles_of(clerk)):<28} {issued}")


def _line(row: ApprovalSummary) -> str:
    what = f"{row.kind} of {format_money(row.amount)} from {row.account_id}"
    if row.to_account_id:
        what += f" to {row.to_account_id}"
    status: str = row.status
    if row.decided_by:
        status += f" by {row.decided_by}"
    if row.reason:
        status += f" ({row.reason})"
    note = f' "{row.description}"' if row.description else ""
    return (
        f"{row.approval_id}  {what}{note}  asked by {row.requested_by} "
        f"at {row.requested_at:%Y-%m-%d %H:%M}  {status}"
    )
