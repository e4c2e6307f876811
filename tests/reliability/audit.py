"""The audit every reliability test ends with: the stored history held to the bank's invariants.

It reads the whole store and folds every stream itself (independently of the package's
projections, which it cross-checks at the end), collecting violations as sentences rather than
stopping at the first, so a failing run says everything that is wrong at once:

- global positions are exactly 1..N with no gap or duplicate, and ``head_position() == N``;
  event ids are unique; every stream's positions are exactly 1..n and ``read_stream`` agrees;
- no account balance is ever negative at any point of its history; a closed account is at 0;
- every transfer stream is one of the process's paths (requested → rejected, requested →
  debited → completed, requested → debited → reversed), each step once, and its money legs are
  exactly what that path implies (one debit and one credit for a completed transfer, a debit
  and a refund for a reversed one, no money for a rejected one), in the right streams, for the
  right amount, each before the step that records it;
- money is conserved: openings + deposits - withdrawals from outside == sum of balances (+ money
  in flight in unfinished transfers, when those are allowed); transfers net to zero;
- every event carries a command id, and each command id was written by exactly one append
  (one stream, consecutive positions): no command was applied twice; ids are told apart by
  their namespace (``commandScope``), so a client id with the text of a transfer step's id is
  another command than that step;
- a client's request id is claimed once (``request.claimed``), and only ever applied to the
  stream its claim names;
- every money leg of a transfer (an account event naming a ``transferId``) was written under
  that transfer's internal step id (``<transfer id>:debit|credit|refund``, scope ``internal``):
  no client id ever stood in for a step;
- every approval stream is one of its process's paths (requested, then approved or rejected,
  an approved one then executed or failed, each step once), and only an approved request was
  ever carried out: its execution id (``<approval id>:execute``, scope ``internal``) wrote
  exactly what its outcome says (one withdrawal of the held amount, a recorded refusal, or a
  completed transfer), and a pending or rejected one wrote nothing at all;
- the package's read model, rebuilt from the store, agrees with all of the above.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bank_desktop.application.ids import transfer_id_for
from bank_desktop.application.projections import ReadModel, catch_up
from bank_desktop.eventstore.port import EventStore, RecordedEvent

ZERO = Decimal("0.00")
FINISHED_PATHS = {
    ("transfer.requested", "transfer.rejected"): "rejected",
    ("transfer.requested", "transfer.debited", "transfer.completed"): "completed",
    ("transfer.requested", "transfer.debited", "transfer.reversed"): "reversed",
}
UNFINISHED_PATHS = {
    ("transfer.requested",): "requested",
    ("transfer.requested", "transfer.debited"): "debited",
}
BANKING_TYPES = frozenset(
    {
        "account.opened",
        "money.deposited",
        "money.withdrawn",
        "money.withdrawal_refused",
        "account.closed",
        "transfer.requested",
        "transfer.debited",
        "transfer.completed",
        "transfer.rejected",
        "transfer.reversed",
        "request.claimed",  # binds a client's request id to its request; in its own stream
        # dual control: the staff register, the policy, approvals (streams of their own), and
        # an approved request refused when it ran (in the account's stream)
        "staff.role_granted",
        "staff.role_revoked",
        "staff.token_key_created",
        "staff.token_issued",
        "staff.token_revoked",
        "policy.approval_limit_set",
        "approval.requested",
        "approval.approved",
        "approval.rejected",
        "approval.executed",
        "approval.failed",
        "approval.execution_refused",
    }
)
APPROVAL_PATHS = {
    ("approval.requested",): "requested",
    ("approval.requested", "approval.approved"): "approved",
    ("approval.requested", "approval.rejected"): "rejected",
    ("approval.requested", "approval.approved", "approval.executed"): "executed",
    ("approval.requested", "approval.approved", "approval.failed"): "failed",
}
#: (debits, credits, refunds) each finished path moves.
LEGS = {"completed": (1, 1, 0), "rejected": (0, 0, 0), "reversed": (1, 0, 1)}


@dataclass
class Leg:
    stream_id: str
    amount: Decimal
    global_position: int


@dataclass
class Legs:
    """The money legs found in account streams, by transfer id."""

    debits: dict[str, list[Leg]] = field(default_factory=lambda: defaultdict(list))
    credits: dict[str, list[Leg]] = field(default_factory=lambda: defaultdict(list))
    refunds: dict[str, list[Leg]] = field(default_factory=lambda: defaultdict(list))
    refused: dict[str, list[Leg]] = field(default_factory=lambda: defaultdict(list))

    def of(self, transfer_id: str) -> tuple[list[Leg], list[Leg], list[Leg], list[Leg]]:
        return (
            self.debits.get(transfer_id, []),
            self.credits.get(transfer_id, []),
            self.refunds.get(transfer_id, []),
            self.refused.get(transfer_id, []),
        )


@dataclass
class Audit:
    events: int = 0
    streams: int = 0
    openings: Decimal = ZERO
    external_in: Decimal = ZERO
    external_out: Decimal = ZERO
    in_flight: Decimal = ZERO
    balances: dict[str, Decimal] = field(default_factory=dict)
    transfers: dict[str, str] = field(default_factory=dict)  #: transfer id → status
    approvals: dict[str, str] = field(default_factory=dict)  #: approval id → status
    by_command: dict[str, list[RecordedEvent]] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)

    @property
    def commands(self) -> int:
        return len(self.by_command)

    def violation(self, text: str) -> None:
        self.violations.append(text)

    def summary(self, limit: int = 25) -> str:
        shown = self.violations[:limit]
        more = len(self.violations) - len(shown)
        return "\n".join(shown) + (f"\n… and {more} more" if more > 0 else "")


def read_everything(store: EventStore, page: int = 1000) -> list[RecordedEvent]:
    events: list[RecordedEvent] = []
    while True:
        after = events[-1].global_position if events else 0
        batch = store.read_all(after=after, limit=page)
        events.extend(batch)
        if len(batch) < page:
            return events


def _amount(audit: Audit, event: RecordedEvent, key: str = "amount") -> Decimal:
    data = event.data if isinstance(event.data, dict) else {}
    value = data.get(key)
    if type(value) is int or isinstance(value, Decimal):
        return Decimal(value)
    audit.violation(f"{_at(event)} has no usable {key!r}: {value!r}")
    return ZERO


def _at(event: RecordedEvent) -> str:
    return (
        f"{event.type} at {event.stream_id}@{event.stream_position} "
        f"(global {event.global_position})"
    )


def audit_store(store: EventStore, *, require_finished: bool = True) -> Audit:
    """Check every invariant of the module docstring on ``store``; see ``Audit.violations``."""
    audit = Audit()
    events = read_everything(store)
    audit.events = len(events)
    _check_order(audit, store, events)
    streams: dict[str, list[RecordedEvent]] = defaultdict(list)
    for event in events:
        streams[event.stream_id].append(event)
    audit.streams = len(streams)
    for stream_id, stream in streams.items():
        positions = [e.stream_position for e in stream]
        if positions != list(range(1, len(stream) + 1)):
            audit.violation(f"stream {stream_id} has positions {_runs(positions)}")
        again = [(e.event_id, e.stream_position) for e in store.read_stream(stream_id)]
        if again != [(e.event_id, e.stream_position) for e in stream]:
            audit.violation(f"read_stream({stream_id}) differs from read_all")

    legs = Legs()
    transfer_streams = {}
    for stream_id, stream in streams.items():
        first = stream[0].type
        if first == "account.opened":
            _fold_account(audit, stream_id, stream, legs)
        elif first == "transfer.requested":
            transfer_streams[stream_id] = stream
    for transfer_id, stream in transfer_streams.items():
        _check_transfer(audit, transfer_id, stream, legs.of(transfer_id), require_finished)
    for kind, group in (("debit", legs.debits), ("credit", legs.credits), ("refund", legs.refunds)):
        for transfer_id in group.keys() - transfer_streams.keys():
            audit.violation(f"a {kind} names transfer {transfer_id}, which was never requested")

    total = sum(audit.balances.values(), ZERO)
    money_in = audit.openings + audit.external_in - audit.external_out
    if money_in != total + audit.in_flight:
        audit.violation(
            f"money not conserved: openings {audit.openings} + deposits {audit.external_in} "
            f"- withdrawals {audit.external_out} = {money_in}, but balances sum to {total} "
            f"(+ {audit.in_flight} in flight)"
        )
    _check_commands(audit, events, streams)
    _check_approvals(audit, streams, require_finished)
    _check_read_model(audit, store, events)
    return audit


def _check_approvals(
    audit: Audit, streams: dict[str, list[RecordedEvent]], require_finished: bool
) -> None:
    for approval_id, stream in streams.items():
        if stream[0].type == "approval.requested":
            _check_approval(audit, approval_id, stream, require_finished)


def _check_approval(
    audit: Audit, approval_id: str, stream: list[RecordedEvent], require_finished: bool
) -> None:
    path = tuple(e.type for e in stream)
    status = APPROVAL_PATHS.get(path)
    if status is None:
        audit.violation(f"approval {approval_id} took an impossible path: {' → '.join(path)}")
        return
    audit.approvals[approval_id] = status
    if status == "approved" and require_finished:
        audit.violation(f"approval {approval_id} was approved but never carried out")
    held = stream[0].data
    written = audit.by_command.get(f"[internal] {approval_id}:execute", [])
    if status in ("requested", "rejected"):
        if written:
            audit.violation(f"approval {approval_id} is {status} but was carried out: {written}")
        return
    if held.get("kind") == "transfer":
        transfer_id = transfer_id_for(f"{approval_id}:execute")
        moved = audit.transfers.get(transfer_id)
        want = {"executed": {"completed"}, "failed": {"rejected", "reversed", None}}
        if status in want and moved not in want[status]:
            audit.violation(f"approval {approval_id} is {status}, its transfer {moved}")
        return
    kinds = [(e.type, e.stream_id, e.data.get("amount")) for e in written]
    if status == "executed" and kinds != [("money.withdrawn", held["accountId"], held["amount"])]:
        audit.violation(f"approval {approval_id} is executed but wrote {kinds}")
    if status == "failed" and [k[0] for k in kinds] not in ([], ["approval.execution_refused"]):
        audit.violation(f"approval {approval_id} failed but wrote {kinds}")


def _check_order(audit: Audit, store: EventStore, events: list[RecordedEvent]) -> None:
    positions = [e.global_position for e in events]
    if positions != list(range(1, len(events) + 1)):
        audit.violation(f"global positions are not 1..{len(events)}: {_runs(positions)}")
    head = store.head_position()
    if head != len(events):
        audit.violation(f"head_position() is {head} but {len(events)} events were read")
    ids = Counter(e.event_id for e in events)
    doubled = [event_id for event_id, n in ids.items() if n > 1]
    if doubled:
        audit.violation(f"{len(doubled)} event ids stored twice, e.g. {doubled[:3]}")


def _runs(values: list[int]) -> str:
    """1..5, 7..9 for a list of integers: where the gaps or repeats are."""
    if not values:
        return "none"
    parts = []
    start = prev = values[0]
    for value in values[1:]:
        if value != prev + 1:
            parts.append(f"{start}..{prev}" if start != prev else str(start))
            start = value
        prev = value
    parts.append(f"{start}..{prev}" if start != prev else str(start))
    text = ", ".join(parts)
    return text if len(text) < 300 else text[:300] + " …"


def _fold_account(audit: Audit, account: str, stream: list[RecordedEvent], legs: Legs) -> None:
    balance = ZERO
    closed = False
    for event in stream:
        if closed:
            audit.violation(f"{_at(event)} comes after the account was closed")
        step = _ACCOUNT_STEPS.get(event.type)
        if step is None:
            audit.violation(f"{_at(event)}: an event type accounts do not have")
            continue
        balance = step(audit, account, event, balance, legs)
        if balance < 0:
            audit.violation(f"{account} went negative ({balance}) at {_at(event)}")
        closed = event.type == "account.closed"
    audit.balances[account] = balance


def _transfer_of(event: RecordedEvent) -> Any:
    return event.data.get("transferId") if isinstance(event.data, dict) else None


def _opened(audit: Audit, _: str, event: RecordedEvent, __: Decimal, ___: Legs) -> Decimal:
    if event.stream_position != 1:
        audit.violation(f"{_at(event)}: opened twice")
    opening = _amount(audit, event, "initialBalance")
    audit.openings += opening
    return opening


def _deposited(
    audit: Audit, account: str, event: RecordedEvent, balance: Decimal, legs: Legs
) -> Decimal:
    amount = _amount(audit, event)
    transfer_id = _transfer_of(event)
    leg = Leg(account, amount, event.global_position)
    if transfer_id is None:
        audit.external_in += amount
    elif event.data.get("reversal"):
        legs.refunds[transfer_id].append(leg)
    else:
        legs.credits[transfer_id].append(leg)
    return balance + amount


def _withdrawn(
    audit: Audit, account: str, event: RecordedEvent, balance: Decimal, legs: Legs
) -> Decimal:
    amount = _amount(audit, event)
    transfer_id = _transfer_of(event)
    if transfer_id is None:
        audit.external_out += amount
    else:
        legs.debits[transfer_id].append(Leg(account, amount, event.global_position))
    return balance - amount


def _refused(
    audit: Audit, account: str, event: RecordedEvent, balance: Decimal, legs: Legs
) -> Decimal:
    transfer_id = _transfer_of(event)
    if transfer_id is None:
        audit.violation(f"{_at(event)} names no transfer")
    else:
        amount = _amount(audit, event)
        legs.refused[transfer_id].append(Leg(account, amount, event.global_position))
    return balance


def _closed(audit: Audit, _: str, event: RecordedEvent, balance: Decimal, __: Legs) -> Decimal:
    if balance != 0:
        audit.violation(f"{_at(event)} closed the account at a balance of {balance}")
    return balance


_ACCOUNT_STEPS: dict[str, Callable[[Audit, str, RecordedEvent, Decimal, Legs], Decimal]] = {
    "account.opened": _opened,
    "money.deposited": _deposited,
    "money.withdrawn": _withdrawn,
    "money.withdrawal_refused": _refused,
    "account.closed": _closed,
    "approval.execution_refused": lambda _, __, ___, balance, ____: balance,
}


def _check_transfer(
    audit: Audit,
    transfer_id: str,
    stream: list[RecordedEvent],
    legs: tuple[list[Leg], list[Leg], list[Leg], list[Leg]],
    require_finished: bool,
) -> None:
    debits, credits, refunds, refused = legs
    path = tuple(e.type for e in stream)
    status = FINISHED_PATHS.get(path) or UNFINISHED_PATHS.get(path)
    if status is None:
        audit.violation(f"transfer {transfer_id} took an impossible path: {' → '.join(path)}")
        return
    audit.transfers[transfer_id] = status
    counts = (len(debits), len(credits), len(refunds))
    if status in LEGS and counts != LEGS[status]:
        audit.violation(
            f"transfer {transfer_id} is {status} but moved (debits, credits, refunds) = "
            f"{counts}, not {LEGS[status]}"
        )
    elif status not in LEGS and require_finished:
        audit.violation(f"transfer {transfer_id} never finished (still {status})")
    elif status not in LEGS:
        _check_in_flight(audit, transfer_id, status, legs)
    if len(refused) > 1 or (refused and status not in {"rejected", "requested"}):
        audit.violation(f"transfer {transfer_id} ({status}) has {len(refused)} refusals")
    data = stream[0].data if isinstance(stream[0].data, dict) else {}
    source, target = data.get("fromAccountId"), data.get("toAccountId")
    amount = _amount(audit, stream[0])
    at = {e.type: e.global_position for e in stream}
    for name, group, stream_id, step in (
        ("debit", debits, source, "transfer.debited"),
        ("credit", credits, target, "transfer.completed"),
        ("refund", refunds, source, "transfer.reversed"),
        ("refusal", refused, source, "transfer.rejected"),
    ):
        for leg in group:
            if leg.stream_id != stream_id or leg.amount != amount:
                audit.violation(
                    f"transfer {transfer_id}: {name} of {leg.amount} in {leg.stream_id}, "
                    f"expected {amount} in {stream_id}"
                )
            if step in at and leg.global_position > at[step]:
                audit.violation(f"transfer {transfer_id}: {step} recorded before its {name}")


def _check_in_flight(
    audit: Audit,
    transfer_id: str,
    status: str,
    legs: tuple[list[Leg], list[Leg], list[Leg], list[Leg]],
) -> None:
    """A transfer killed between steps and not recovered yet. "requested": at most the debit
    has happened; "debited": the debit, and perhaps the credit or the refund already."""
    debits, credits, refunds, _ = legs
    counts = (len(debits), len(credits), len(refunds))
    possible = counts[0] <= 1 and counts[1:] == (0, 0)
    if status == "debited":
        possible = counts[0] == 1 and counts[1] + counts[2] <= 1
    if not possible:
        audit.violation(f"unfinished transfer {transfer_id} ({status}) moved {counts}")
    moved_on = sum((leg.amount for leg in [*credits, *refunds]), ZERO)
    audit.in_flight += sum((leg.amount for leg in debits), ZERO) - moved_on


def _check_commands(
    audit: Audit, events: list[RecordedEvent], streams: dict[str, list[RecordedEvent]]
) -> None:
    banking = {
        stream_id
        for stream_id, stream in streams.items()
        if stream[0].type in ("account.opened", "transfer.requested")
    }
    for event in events:
        if event.stream_id not in banking:
            continue
        command_id = event.metadata.get("commandId")
        if not isinstance(command_id, str):
            audit.violation(f"{_at(event)} carries no command id")
            continue
        scope = event.metadata.get("commandScope")
        _check_leg_id(audit, event, command_id, scope)
        key = command_id if scope is None else f"[{scope}] {command_id}"
        audit.by_command.setdefault(key, []).append(event)
    claims: dict[str, list[RecordedEvent]] = defaultdict(list)
    for event in events:
        if event.type == "request.claimed":
            claims[str(event.data.get("requestId"))].append(event)
    for request_id, claimed in claims.items():
        bound = {e.data.get("streamId") for e in claimed}
        if len(claimed) != 1 or len({e.stream_id for e in claimed}) != 1:
            audit.violation(f"request id {request_id!r} was claimed {len(claimed)} times")
        applied = {e.stream_id for e in audit.by_command.get(request_id, [])}
        if applied - bound:
            audit.violation(
                f"request id {request_id!r} is bound to {bound} but was applied to {applied}"
            )
    for command_id, written in audit.by_command.items():
        where = {e.stream_id for e in written}
        stream_positions = [e.stream_position for e in written]
        global_positions = [e.global_position for e in written]
        first_s, first_g = stream_positions[0], global_positions[0]
        if (
            len(where) != 1
            or stream_positions != list(range(first_s, first_s + len(written)))
            or global_positions != list(range(first_g, first_g + len(written)))
        ):
            audit.violation(
                f"command {command_id} was applied more than once: "
                + ", ".join(_at(e) for e in written)
            )


_LEG_STEPS = {
    ("money.withdrawn", False): "debit",
    ("money.withdrawal_refused", False): "debit",
    ("money.deposited", False): "credit",
    ("money.deposited", True): "refund",
}


def _check_leg_id(audit: Audit, event: RecordedEvent, command_id: str, scope: object) -> None:
    transfer_id = _transfer_of(event)
    if transfer_id is None or event.stream_id.startswith("transfer-"):
        return
    step = _LEG_STEPS.get((event.type, bool(event.data.get("reversal"))))
    if scope != "internal" or command_id != f"{transfer_id}:{step}":
        audit.violation(
            f"{_at(event)} is a {step} of {transfer_id} written under {command_id!r} "
            f"(scope {scope!r}), not its internal step id"
        )


def _check_read_model(audit: Audit, store: EventStore, events: list[RecordedEvent]) -> None:
    model = ReadModel()
    catch_up(model, store)
    foreign = sum(1 for e in events if e.type not in BANKING_TYPES)  # skipped by design
    if model.skipped_events != foreign:
        audit.violation(
            f"the read model skipped {model.skipped_events} events, "
            f"{foreign} of types it does not know"
        )
    for account, balance in audit.balances.items():
        row = model.balances.get(account)
        if row is None or row.balance != balance:
            shown = None if row is None else row.balance
            audit.violation(f"read model has {account} at {shown}, the history at {balance}")
    for transfer_id, status in audit.transfers.items():
        summary = model.transfers.get(transfer_id)
        if summary is None or summary.status != status:
            shown = None if summary is None else summary.status
            audit.violation(f"read model has {transfer_id} {shown}, the history {status}")


# ── clerks' own accounts of what they did ─────────────────────────────────────────────────


def check_clerk_commands(
    audit: Audit, commands: Iterable[dict[str, Any]], *, prefix: str
) -> dict[str, int]:
    """Hold the store to each command a clerk reported: applied exactly once, or refused and
    written at most as a recorded refusal; no command in the store that no clerk sent; and the
    money the clerks say they moved in and out adds up to the balances. Returns counts."""
    counts: Counter[str] = Counter()
    reported = set()
    money = audit.openings
    for command in commands:
        key, kind, outcome = command["key"], command["kind"], command["outcome"]
        reported.add(key)
        counts[f"{kind}_{outcome}"] += 1
        written = audit.by_command.get(key, [])
        if kind in ("deposit", "withdraw"):
            want = "money.deposited" if kind == "deposit" else "money.withdrawn"
            amount = Decimal(command["amount"])
            if outcome == "applied":
                if [(e.type, e.stream_id) for e in written] != [(want, command["accounts"][0])]:
                    audit.violation(f"{kind} {key} was applied but stored as {written}")
                elif Decimal(written[0].data["amount"]) != amount:
                    audit.violation(f"{kind} {key} stored {written[0].data['amount']}")
                money += amount if kind == "deposit" else -amount
            elif written:
                audit.violation(f"{kind} {key} was refused but stored as {written}")
            continue
        transfer_id = transfer_id_for(key)
        status = audit.transfers.get(transfer_id)
        if outcome == "applied":
            if command.get("result") != transfer_id or status != "completed":
                audit.violation(f"transfer {key} was reported done but is {status}")
            if [(e.type, e.stream_id) for e in written] != [("transfer.requested", transfer_id)]:
                audit.violation(f"transfer {key} stored as {written}")
        elif written and status not in ("rejected", "reversed"):
            audit.violation(f"transfer {key} was refused but is {status}")
    phantoms = [k for k in audit.by_command if k.startswith(prefix) and k not in reported]
    if phantoms:
        audit.violation(f"{len(phantoms)} commands in the store no clerk sent: {phantoms[:3]}")
    total = sum(audit.balances.values(), ZERO)
    if money != total:
        audit.violation(f"clerks moved the balances to {money}, the store says {total}")
    return dict(counts)
