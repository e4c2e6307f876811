"""Realistic sample data: accounts, deposits, withdrawals, transfers and a few closures, and
(``customers=True``) registered customers with names, some with accents, and national ids.

Every event is decided by the real deciders from a simulated clerk's command and carries the
same metadata a clerk's command would, so the result is indistinguishable from history made
through :class:`BankService` (and passes the same invariants), only much faster to produce:
commands are written in large multi-stream transactions where the store offers them, linked
into each stream's hash chain by the same appender.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from bank_desktop import __version__
from bank_desktop.application.appending import ChainedAppender
from bank_desktop.application.clock import wire_precision
from bank_desktop.application.customer_streams import (
    CUSTOMERS,
    NATIONAL_IDS,
    customer_id_for,
    national_id_stream,
)
from bank_desktop.application.fingerprints import command_fingerprint
from bank_desktop.application.ids import account_id_for, transfer_id_for
from bank_desktop.application.stream_kinds import ACCOUNTS, TRANSFERS, StreamKind
from bank_desktop.domain import accounts as acc
from bank_desktop.domain import customers as cu
from bank_desktop.domain import national_ids as ni
from bank_desktop.domain import transfers as tr
from bank_desktop.eventstore.port import (
    NO_STREAM,
    AppendRequest,
    EventStore,
    NewEvent,
)

#: Streams whose chain heads the simulation keeps: all it writes (it never reads them back).
_HEADS_KEPT = 10_000_000

CLERKS = ("clerk-alice", "clerk-bob", "clerk-carol", "clerk-dave")
DEPOSITS = ("Paycheck", "Cash deposit", "Cheque deposit", "Pension", "Refund", "Savings")
WITHDRAWALS = ("ATM withdrawal", "Rent", "Groceries", "Utilities", "Coffee", "Insurance")
TRANSFERS_TEXT = ("Rent share", "Loan repayment", "Gift", "Invoice 2291", None, None)
FIRST_NAMES = (
    "Ada", "Zoë", "Grace", "José", "Ångela", "Marie", "Søren", "Li", "Émile", "Noor", "Chloé",
    "Björn", "Maya", "Iñigo", "Olu", "Anaïs", "Kofi", "Mei", "Jürgen", "Aoife", "Tomás", "Ines",
)  # fmt: skip
LAST_NAMES = (
    "Lovelace", "Hopper", "García", "Curie", "Ångström", "Kierkegaard", "Nakamura", "Müller",
    "Dubois", "Okafor", "Ivanović", "O'Brien", "Smith", "Núñez", "Lindqvist", "Chen",
    "Østergaard", "Fernández", "Kowalski", "Mbeki", "Papadopoulos", "Yılmaz",
)  # fmt: skip
#: With customers, the share of account holders left unregistered (a raw customer id).
RAW_CUSTOMERS = 0.1


@dataclass(frozen=True, slots=True)
class DemoSummary:
    accounts: int
    events: int
    transfers: int
    closed: int
    seconds: float


class _Simulation:
    """The simulated branch: states of every stream, and the writes not yet flushed."""

    def __init__(self, store: EventStore, rng: random.Random, start: datetime, step: float) -> None:
        self.store = store
        # Linked into each stream's hash chain like every other append of the application.
        self.appender = ChainedAppender(store, cache_size=_HEADS_KEPT)
        self.rng = rng
        self.now = start
        self.step = step
        self.states: dict[tuple[str, str], Any] = {}
        self.open_ids: list[str] = []
        self._open_index: dict[str, int] = {}
        self.positions: dict[str, int] = {}
        self.pending: list[AppendRequest] = []
        self.pending_events = 0
        self.written = 0
        self.transfers = 0
        self.closed = 0
        self.with_customers = False
        self.customers: dict[int, str] = {}
        self.national_ids: set[str] = set()
        self.id_prefix = ""

    def tick(self) -> datetime:
        self.now += timedelta(seconds=self.step * 2 * self.rng.random())
        return wire_precision(self.now)

    def command_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def money(self, low: int, high: int) -> Decimal:
        return Decimal(self.rng.randint(low * 100, high * 100)) / 100

    def balance(self, account_id: str) -> Decimal:
        state: acc.AccountState = self.states[(ACCOUNTS.name, account_id)]
        return state.balance

    def add_open(self, account_id: str) -> None:
        self._open_index[account_id] = len(self.open_ids)
        self.open_ids.append(account_id)

    def remove_open(self, account_id: str) -> None:
        index = self._open_index.pop(account_id)
        last = self.open_ids.pop()
        if last != account_id:
            self.open_ids[index] = last
            self._open_index[last] = index

    def run(
        self, stream_id: str, command: Any, decider: StreamKind[Any, Any, Any], key: str
    ) -> None:
        """Decide ``command`` like the command handler would and queue its events."""
        slot = (decider.name, stream_id)
        state = self.states[slot] if slot in self.states else decider.initial_state()
        decided = decider.decide(command, state)
        for event in decided:
            state = decider.evolve(state, event)
        self.states[slot] = state
        correlation = key.split(":", 1)[0]
        metadata = {
            "clerkId": self.rng.choice(CLERKS),
            "correlationId": correlation,
            "causationId": correlation,
            "appVersion": __version__,
            "commandId": key,
            "requestHash": command_fingerprint(command),
        }
        events = [NewEvent(*decider.encode(e), metadata) for e in decided]
        position = self.positions.get(stream_id, 0)
        self.pending.append(AppendRequest(stream_id, events, position or NO_STREAM))
        self.positions[stream_id] = position + len(events)
        self.pending_events += len(events)

    def flush(self) -> None:
        if not self.pending:
            return
        self.appender.append_many(self.pending)
        self.written += self.pending_events
        self.pending, self.pending_events = [], 0


def fill_demo_data(
    store: EventStore,
    *,
    events: int = 2_000,
    accounts: int | None = None,
    seed: int = 7,
    end: datetime | None = None,
    days: int = 120,
    chunk: int = 5_000,
    progress: Callable[[int, int], None] | None = None,
    customers: bool = False,
) -> DemoSummary:
    """Append about ``events`` events (a transfer's five are never split) for ``accounts``
    accounts (default: one per ten events) spread over the ``days`` before ``end``; with
    ``customers`` most account holders are registered customers (two events each)."""
    if events < 1:
        raise ValueError("Demo data needs at least one event.")
    started = time.perf_counter()
    target_accounts = max(2, accounts if accounts is not None else events // 10)
    target_accounts = min(target_accounts, events)
    finish = end or datetime.now(UTC)
    rng = random.Random(f"{seed}:{store.head_position()}")
    sim = _Simulation(store, rng, finish - timedelta(days=days), days * 86_400 / events)
    sim.with_customers = customers
    produced = 0
    opened = 0
    while produced < events:
        remaining = events - produced
        must_open = target_accounts - opened
        roll = rng.random()
        if must_open > 0 and (opened < 2 or roll < min(1.0, 2.5 * must_open / remaining)):
            produced += _open(sim, opened)
            opened += 1
        elif len(sim.open_ids) >= 2 and roll < 0.17 and remaining >= 5:
            produced += _transfer(sim)
        elif roll < 0.6:
            produced += _deposit(sim)
        elif roll < 0.995 or remaining < 2:
            produced += _withdraw(sim)
        else:
            produced += _close(sim)
        if sim.pending_events >= chunk:
            sim.flush()
            if progress is not None:
                progress(sim.written, events)
    sim.flush()
    if progress is not None:
        progress(sim.written, events)
    return DemoSummary(
        accounts=opened,
        events=sim.written,
        transfers=sim.transfers,
        closed=sim.closed,
        seconds=time.perf_counter() - started,
    )


def _open(sim: _Simulation, index: int) -> int:
    key = sim.command_id()
    account_id = account_id_for(key)
    number = sim.rng.randint(1, max(1, int(index * 0.8) + 1))
    customer, written = f"cust-{number:06d}", 1
    if sim.with_customers and sim.rng.random() >= RAW_CUSTOMERS:
        if number not in sim.customers:
            sim.customers[number] = _register(sim)
            written += 2
        customer = sim.customers[number]
    initial = sim.money(0, 2_000) if sim.rng.random() < 0.7 else Decimal("0.00")
    sim.run(account_id, acc.OpenAccount(account_id, customer, initial, sim.tick()), ACCOUNTS, key)
    sim.add_open(account_id)
    return written


def _register(sim: _Simulation) -> str:
    """Register a customer as ``BankService.register_customer`` does (claim, then customer)."""
    key = sim.command_id()
    customer_id = customer_id_for(key)
    rng = sim.rng
    name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    while True:
        national_id = (
            f"{rng.choice('ABCDEFGHJK')}{rng.choice('LMNPRSTUVW')}{rng.randrange(10**6):06d}"
        )
        if national_id not in sim.national_ids:
            sim.national_ids.add(national_id)
            break
    at = sim.tick()
    command = cu.RegisterCustomer(customer_id, name, national_id, None, None, None, at)
    [registration] = cu.decide(command, cu.initial_state())
    assert isinstance(registration, cu.CustomerRegistered)
    claim = ni.ClaimNationalId(national_id, customer_id, at, registration)
    sim.run(
        national_id_stream(national_id), claim, NATIONAL_IDS, f"{customer_id}:claim-national-id"
    )
    sim.run(customer_id, command, CUSTOMERS, f"{customer_id}:register")
    return customer_id


def _deposit(sim: _Simulation) -> int:
    account_id = sim.rng.choice(sim.open_ids)
    amount = sim.money(500, 4_000) if sim.rng.random() < 0.3 else sim.money(5, 400)
    command = acc.DepositMoney(account_id, amount, sim.rng.choice(DEPOSITS), sim.tick())
    sim.run(account_id, command, ACCOUNTS, sim.command_id())
    return 1


def _withdraw(sim: _Simulation) -> int:
    account_id = sim.rng.choice(sim.open_ids)
    balance = sim.balance(account_id)
    if balance < Decimal("1.00"):
        return _deposit(sim)
    amount = min(balance, sim.money(1, 300))
    command = acc.WithdrawMoney(account_id, amount, sim.rng.choice(WITHDRAWALS), sim.tick())
    sim.run(account_id, command, ACCOUNTS, sim.command_id())
    return 1


def _transfer(sim: _Simulation) -> int:
    source, target = sim.rng.sample(sim.open_ids, 2)
    balance = sim.balance(source)
    if balance < Decimal("1.00"):
        return _deposit(sim)
    amount = min(balance, sim.money(10, 800))
    key = sim.command_id()
    transfer_id = transfer_id_for(key)
    text = sim.rng.choice(TRANSFERS_TEXT)
    at = sim.tick()
    sim.run(
        transfer_id,
        tr.RequestTransfer(transfer_id, source, target, amount, text, at),
        TRANSFERS,
        key,
    )
    legs: Sequence[tuple[str, Any, StreamKind[Any, Any, Any], str]] = (
        (
            source,
            acc.DebitForTransfer(
                source, transfer_id, target, amount, text or f"Transfer to {target}", at
            ),
            ACCOUNTS,
            "debit",
        ),
        (transfer_id, tr.RecordDebit(transfer_id, at), TRANSFERS, "record-debit"),
        (
            target,
            acc.CreditForTransfer(
                target, transfer_id, source, amount, text or f"Transfer from {source}", at
            ),
            ACCOUNTS,
            "credit",
        ),
        (transfer_id, tr.CompleteTransfer(transfer_id, at), TRANSFERS, "complete"),
    )
    for stream_id, command, decider, step in legs:
        sim.run(stream_id, command, decider, f"{transfer_id}:{step}")
    sim.transfers += 1
    return 5


def _close(sim: _Simulation) -> int:
    if len(sim.open_ids) <= 2:
        return _deposit(sim)
    account_id = sim.rng.choice(sim.open_ids)
    written = 0
    balance = sim.balance(account_id)
    if balance > 0:
        command = acc.WithdrawMoney(account_id, balance, "Closing withdrawal", sim.tick())
        sim.run(account_id, command, ACCOUNTS, sim.command_id())
        written += 1
    command_close = acc.CloseAccount(account_id, "Customer request", sim.tick())
    sim.run(account_id, command_close, ACCOUNTS, sim.command_id())
    sim.remove_open(account_id)
    sim.closed += 1
    return written + 1
