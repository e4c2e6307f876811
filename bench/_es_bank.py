"""The comparison model: a bank account written the way the ``eventsourcing`` docs write one.

``BankAccount`` is an ``eventsourcing.domain.Aggregate`` with explicit event classes (the style
of the library's own ``eventsourcing.tests.domain.BankAccount``); ``Bank`` is an
``eventsourcing.application.Application`` whose commands do ``repository.get`` then ``save``.
Both are used by every script, so topics stored in cached databases stay stable: always run
the scripts as ``python bench/NAME.py`` (the topics are ``_es_bank:...``).

Durability: the library's SQLite module has no setting for ``PRAGMA synchronous``, so
:func:`open_bank` wraps its connection pool to run ``PRAGMA synchronous=FULL`` on every
connection it creates (the same as ours), and reports what a pooled connection then says.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar
from uuid import UUID, uuid4

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, AggregateCreated, AggregateEvent
from eventsourcing.persistence import Tracking
from eventsourcing.sqlite import SQLiteCursor, SQLiteDatastore, SQLiteTrackingRecorder

ZERO = Decimal("0.00")
MAX_AMOUNT = Decimal("999999999999.99")


class AccountError(Exception):
    """A business rule refused the command."""


class BankAccount(Aggregate):
    """Open, deposit, withdraw, close; the same rules our account decider checks."""

    def __init__(self, customer_id: str, initial_balance: Decimal) -> None:
        self.customer_id = customer_id
        self.balance = initial_balance
        self.is_open = True

    @classmethod
    def open(cls, customer_id: str, initial_balance: Decimal) -> BankAccount:
        if initial_balance < 0:
            raise AccountError("Initial balance cannot be negative.")
        return cls._create(
            cls.Opened, id=uuid4(), customer_id=customer_id, initial_balance=initial_balance
        )

    class Opened(AggregateCreated):
        customer_id: str
        initial_balance: Decimal

    def deposit(self, amount: Decimal) -> None:
        if not self.is_open:
            raise AccountError("Account is closed.")
        if amount <= 0 or amount > MAX_AMOUNT:
            raise AccountError("Deposit amount must be positive.")
        self.trigger_event(self.Deposited, amount=amount)

    class Deposited(AggregateEvent):
        amount: Decimal

        def apply(self, aggregate: Any) -> None:
            aggregate.balance += self.amount

    def withdraw(self, amount: Decimal) -> None:
        if not self.is_open:
            raise AccountError("Account is closed.")
        if amount <= 0 or amount > MAX_AMOUNT:
            raise AccountError("Withdrawal amount must be positive.")
        if amount > self.balance:
            raise AccountError("Insufficient funds.")
        self.trigger_event(self.Withdrawn, amount=amount)

    class Withdrawn(AggregateEvent):
        amount: Decimal

        def apply(self, aggregate: Any) -> None:
            aggregate.balance -= self.amount

    def close(self) -> None:
        if not self.is_open:
            raise AccountError("Account is already closed.")
        if self.balance != 0:
            raise AccountError("Only an account at zero can be closed.")
        self.trigger_event(self.Closed)

    class Closed(AggregateEvent):
        def apply(self, aggregate: Any) -> None:
            aggregate.is_open = False


class Bank(Application[UUID]):
    """Commands as the docs write them: get the aggregate, call a method, save it."""

    def open_account(self, customer_id: str, initial_balance: Decimal) -> UUID:
        account = BankAccount.open(customer_id, initial_balance)
        self.save(account)
        return account.id

    def deposit(self, account_id: UUID, amount: Decimal) -> Decimal:
        account: BankAccount = self.repository.get(account_id)
        account.deposit(amount)
        self.save(account)
        return account.balance

    def withdraw(self, account_id: UUID, amount: Decimal) -> Decimal:
        account: BankAccount = self.repository.get(account_id)
        account.withdraw(amount)
        self.save(account)
        return account.balance

    def balance(self, account_id: UUID) -> Decimal:
        account: BankAccount = self.repository.get(account_id)
        return account.balance


class SnapshottingBank(Bank):
    """The same application with the library's automatic snapshots every 100 versions."""

    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {BankAccount: 100}


# ── opening with equal durability ─────────────────────────────────────────────────────────


def _force_full_sync(datastore: SQLiteDatastore) -> None:
    """Make every connection of ``datastore``'s pool run with ``synchronous=FULL``."""
    pool = datastore.pool
    create = pool._create_connection

    def create_full() -> Any:
        conn = create()
        conn._sqlite_conn.execute("PRAGMA synchronous=FULL")
        return conn

    pool._create_connection = create_full  # type: ignore[method-assign]
    for conn in list(pool._pool):  # connections created before the wrapper (create table)
        conn._sqlite_conn.execute("PRAGMA synchronous=FULL")


def synchronous_of(datastore: SQLiteDatastore) -> str:
    """What ``PRAGMA synchronous`` says on a connection the pool hands out."""
    with datastore.transaction(commit=False) as cursor:
        cursor.execute("PRAGMA synchronous")
        value = cursor.fetchone()[0]
        cursor.execute("PRAGMA journal_mode")
        mode = cursor.fetchone()[0]
    names = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
    return f"journal_mode={mode}, synchronous={names.get(value, value)}"


def bank_env(path: str | os.PathLike[str], **extra: str) -> dict[str, str]:
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(path),
        **extra,
    }


def open_bank(
    path: str | os.PathLike[str], cls: type[Bank] = Bank, **extra_env: str
) -> tuple[Bank, str]:
    """An application on the SQLite file ``path`` with synchronous=FULL; returns it and the
    journal/synchronous settings read back from one of its connections."""
    app = cls(env=bank_env(path, **extra_env))
    datastore = app.factory.datastore  # type: ignore[attr-defined]
    _force_full_sync(datastore)
    return app, synchronous_of(datastore)


# ── a materialised view on the library's tracking recorder ────────────────────────────────


class BalancesView(SQLiteTrackingRecorder):
    """Balances of every account in a table, updated atomically with the library's tracking
    record (the ``TrackingRecorder`` pattern the library documents for projections)."""

    def construct_create_table_statements(self) -> list[str]:
        statements = super().construct_create_table_statements()
        statements.append(
            "CREATE TABLE IF NOT EXISTS balances ("
            "account_id TEXT PRIMARY KEY, balance TEXT NOT NULL, is_open INTEGER NOT NULL)"
            " WITHOUT ROWID"
        )
        return statements

    def apply_batch(self, rows: dict[str, tuple[Decimal, bool]], tracking: Tracking) -> None:
        """Upsert many balances and the tracking position in one transaction."""
        with self.datastore.transaction(commit=True) as cursor:
            self._upsert(cursor, rows)
            self._insert_tracking(cursor, tracking)

    @staticmethod
    def _upsert(cursor: SQLiteCursor, rows: dict[str, tuple[Decimal, bool]]) -> None:
        cursor.executemany(
            "INSERT INTO balances VALUES (?, ?, ?) ON CONFLICT (account_id) DO UPDATE "
            "SET balance = excluded.balance, is_open = excluded.is_open",
            [(key, str(balance), int(is_open)) for key, (balance, is_open) in rows.items()],
        )

    def all_balances(self) -> dict[str, Decimal]:
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute("SELECT account_id, balance FROM balances")
            return {row[0]: Decimal(row[1]) for row in cursor.fetchall()}

    def current(self, account_ids: list[str]) -> dict[str, tuple[Decimal, bool]]:
        found: dict[str, tuple[Decimal, bool]] = {}
        with self.datastore.transaction(commit=False) as cursor:
            for start in range(0, len(account_ids), 500):
                chunk = account_ids[start : start + 500]
                cursor.execute(
                    "SELECT account_id, balance, is_open FROM balances WHERE account_id IN "
                    f"({','.join('?' * len(chunk))})",
                    chunk,
                )
                for key, balance, is_open in cursor.fetchall():
                    found[key] = (Decimal(balance), bool(is_open))
        return found


def open_view(path: str | os.PathLike[str]) -> tuple[BalancesView, str]:
    datastore = SQLiteDatastore(db_name=str(path))
    _force_full_sync(datastore)
    view = BalancesView(datastore)
    view.create_table()
    return view, synchronous_of(datastore)


# ── bulk history and the balances fold ────────────────────────────────────────────────────


def build_history(
    path: Path, *, events: int, accounts: int, seed: int, batch: int = 10_000
) -> dict[str, Any]:
    """About ``events`` events for ``accounts`` accounts: opened, deposited, withdrawn and a
    few closed, decided by real ``BankAccount`` aggregates and written ``batch`` events per
    transaction through the application's event store (``app.events.put``)."""
    rng = random.Random(seed)
    app, _ = open_bank(path)
    live: dict[UUID, BankAccount] = {}
    open_ids: list[UUID] = []
    pending: list[Any] = []
    produced = opened = closed = 0

    def money(low: int, high: int) -> Decimal:
        return Decimal(rng.randint(low * 100, high * 100)) / 100

    def deposit() -> BankAccount:
        account = live[rng.choice(open_ids)]
        account.deposit(money(500, 4_000) if rng.random() < 0.3 else money(5, 400))
        return account

    try:
        while produced < events:
            remaining = events - produced
            must_open = accounts - opened
            roll = rng.random()
            if must_open > 0 and (opened < 2 or roll < min(1.0, 2.5 * must_open / remaining)):
                initial = money(0, 2_000) if rng.random() < 0.7 else ZERO
                account = BankAccount.open(f"cust-{opened:06d}", initial)
                live[account.id] = account
                open_ids.append(account.id)
                opened += 1
            elif roll < 0.6:
                account = deposit()
            elif roll < 0.995 or remaining < 2 or len(open_ids) <= 2:
                account = live[rng.choice(open_ids)]
                if account.balance < 1:
                    account = deposit()
                else:
                    account.withdraw(min(account.balance, money(1, 300)))
            else:
                index = rng.randrange(len(open_ids))
                account = live[open_ids[index]]
                if account.balance > 0:
                    account.withdraw(account.balance)
                account.close()
                open_ids[index] = open_ids[-1]
                open_ids.pop()
                closed += 1
            new = account.collect_events()
            pending.extend(new)
            produced += len(new)
            if len(pending) >= batch:
                app.events.put(pending)
                pending = []
        if pending:
            app.events.put(pending)
        head = app.recorder.max_notification_id()
    finally:
        app.close()
    total = sum((a.balance for a in live.values()), ZERO)
    return {
        "events": produced,
        "head": head,
        "accounts": opened,
        "closed": closed,
        "total_balance": str(total),
    }


def fold_balances(
    app: Bank,
    balances: dict[UUID, Decimal],
    closed: set[UUID],
    *,
    after: int = 0,
    limit: int = 2000,
    on_batch: Callable[[int, list[UUID]], None] | None = None,
) -> tuple[int, int]:
    """Fold every event after notification ``after`` into ``balances`` in global order, the
    idiomatic way for an SQLite application in 9.5 (its recorder has no ``subscribe``):
    ``app.recorder.select_notifications`` pages + ``app.mapper.to_domain_event``.
    Returns (events folded, last notification id)."""
    select = app.recorder.select_notifications
    to_domain_event = app.mapper.to_domain_event
    opened_cls, deposited_cls = BankAccount.Opened, BankAccount.Deposited
    withdrawn_cls, closed_cls = BankAccount.Withdrawn, BankAccount.Closed
    count = 0
    while True:
        notifications = select(start=after, limit=limit, inclusive_of_start=False)
        if not notifications:
            return count, after
        touched: list[UUID] = []
        for notification in notifications:
            event: Any = to_domain_event(notification)
            kind = type(event)
            key = event.originator_id
            if kind is deposited_cls:
                balances[key] += event.amount
            elif kind is withdrawn_cls:
                balances[key] -= event.amount
            elif kind is opened_cls:
                balances[key] = event.initial_balance
            elif kind is closed_cls:
                closed.add(key)
            if on_batch is not None:
                touched.append(key)
        count += len(notifications)
        after = notifications[-1].id
        if on_batch is not None:
            on_batch(after, touched)


def catch_up_view(
    app: Bank, view: BalancesView, *, after: int = 0, limit: int = 2000
) -> tuple[int, int]:
    """Bring the balances view up to date: pull notifications after ``after``, fold them into
    the touched rows and store rows + tracking in one transaction per page.
    Returns (events folded, last notification id)."""
    select = app.recorder.select_notifications
    to_domain_event = app.mapper.to_domain_event
    opened_cls, deposited_cls = BankAccount.Opened, BankAccount.Deposited
    withdrawn_cls, closed_cls = BankAccount.Withdrawn, BankAccount.Closed
    count = 0
    while True:
        notifications = select(start=after, limit=limit, inclusive_of_start=False)
        if not notifications:
            return count, after
        events: list[Any] = [to_domain_event(n) for n in notifications]
        rows = view.current(list({str(e.originator_id) for e in events}))
        for event in events:
            key = str(event.originator_id)
            kind = type(event)
            if kind is opened_cls:
                rows[key] = (event.initial_balance, True)
                continue
            balance, is_open = rows[key]
            if kind is deposited_cls:
                rows[key] = (balance + event.amount, is_open)
            elif kind is withdrawn_cls:
                rows[key] = (balance - event.amount, is_open)
            elif kind is closed_cls:
                rows[key] = (balance, False)
        after = notifications[-1].id
        view.apply_batch(rows, Tracking(app.name, after))
        count += len(notifications)


def build_view(app_path: Path, view_path: Path) -> dict[str, Any]:
    """A balances view of the whole application at ``app_path``, written to ``view_path``."""
    app, _ = open_bank(app_path)
    view, _ = open_view(view_path)
    try:
        count, last = catch_up_view(app, view, limit=10_000)
        balances = view.all_balances()
    finally:
        view.datastore.close()
        app.close()
    return {
        "events": count,
        "tracking": last,
        "accounts": len(balances),
        "total_balance": str(sum(balances.values(), ZERO)),
    }


__all__ = [
    "AccountError",
    "BalancesView",
    "Bank",
    "BankAccount",
    "SnapshottingBank",
    "build_history",
    "build_view",
    "catch_up_view",
    "fold_balances",
    "open_bank",
    "open_view",
    "synchronous_of",
]
