"""Code that runs in separate OS processes for the concurrency and crash tests.

Top-level functions only: the tests start them with the ``spawn`` method, so each worker is a
fresh interpreter with its own store connection, exactly like another clerk's application.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
from decimal import Decimal
from typing import Any

from bank_desktop.application import BankService
from bank_desktop.domain import DomainError
from bank_desktop.eventstore import open_store


def clerk_session(url: str, accounts: list[str], operations: int, seed: int) -> dict[str, Any]:
    """Random withdrawals, deposits and transfers on a few hot accounts; reports outcomes."""
    rng = random.Random(seed)
    store = open_store(url)
    bank = BankService(store, clerk_id=f"clerk-{seed}")
    withdrawn: list[str] = []
    deposited: list[str] = []
    transfers: list[str] = []
    rejected = 0
    try:
        for index in range(operations):
            amount = Decimal(rng.randint(100, 9_000)) / 100
            roll = rng.random()
            key = f"{seed}-{index}"
            try:
                if roll < 0.45:
                    bank.withdraw(rng.choice(accounts), amount, command_id=key)
                    withdrawn.append(str(amount))
                elif roll < 0.85:
                    source, target = rng.sample(accounts, 2)
                    transfers.append(bank.transfer(source, target, amount, command_id=key))
                else:
                    bank.deposit(rng.choice(accounts), amount, command_id=key)
                    deposited.append(str(amount))
            except DomainError:
                rejected += 1
    finally:
        store.close()
    return {
        "withdrawn": withdrawn,
        "deposited": deposited,
        "transfers": transfers,
        "rejected": rejected,
    }


def transfer_then_die_at(url: str, source: str, target: str, amount: str, step: str) -> None:
    """Run one transfer and SIGKILL this process right after ``step`` became durable."""

    def observe(_: str, name: str) -> None:
        if name == step:
            os.kill(os.getpid(), signal.SIGKILL)

    store = open_store(url)
    BankService(store, clerk_id="doomed", on_transfer_step=observe).transfer(
        source, target, amount, command_id=f"doomed-{step}"
    )


def transfer_loop(url: str, accounts: list[str], seed: int) -> None:
    """Transfer forever between the accounts (until the test kills this process)."""
    rng = random.Random(seed)
    store = open_store(url)
    bank = BankService(store, clerk_id=f"loop-{seed}")
    while True:
        source, target = rng.sample(accounts, 2)
        with contextlib.suppress(DomainError):
            bank.transfer(source, target, Decimal(rng.randint(1, 5_000)) / 100)
