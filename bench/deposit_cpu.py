"""CPU time of one ``BankService.deposit``: what the application costs beside the disk.

``bench/commands.py`` measures wall-clock rates, where the fsync dominates and a loaded
machine blurs a few tens of microseconds; this script counts the process's CPU time
(``time.process_time``) per deposit instead, on a memory store (the application alone) and on
SQLite (WAL, synchronous=FULL: the commit's own CPU included, its wait for the disk not).

Each store runs twice in the same process, blocks interleaved: appending with the chain
digest the store lends (``eventstore.canonical``, msgspec) and with the plain-Python reference
(``application.chain.event_digest``), so the digest's share shows side by side. The raw
commit row is one autocommit INSERT of a deposit-sized row (``bench/commands.py``'s floor).
Figures only: nothing here asserts a timing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from _common import apply_quick, parser, print_header, print_table, remove_db, scratch_dir, section
from commands import RawCommit


def _bank(url: str, accounts: int, *, reference: bool) -> tuple[Any, list[str], Any]:
    from bank_desktop.application import BankService
    from bank_desktop.application.chain import event_digest
    from bank_desktop.eventstore import open_store

    store = open_store(url)
    bank = BankService(store, clerk_id="bench")
    if reference:  # the bench's own switch: the appender is built from the store alone
        bank._handler.appender._digest = event_digest
    ids = [bank.open_account(f"cust-{i}", "100.00") for i in range(accounts)]
    for account in ids:
        bank.deposit(account, "1.00")
    return bank, ids, store


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--commands", type=int, default=3_000, help="timed deposits per system")
    p.add_argument("--accounts", type=int, default=100, help="accounts deposited round-robin")
    p.add_argument("--block", type=int, default=100, help="deposits per turn of each system")
    args = p.parse_args()
    apply_quick(args, p, commands=300, accounts=10, block=50)
    print_header("CPU per deposit: the application beside the commit", args)

    with scratch_dir("deposit_cpu") as tmp:
        systems: dict[str, Callable[[int], None]] = {}
        closers: list[Callable[[], None]] = []
        for name, url, reference in (
            ("memory, fast digest", "memory://", False),
            ("memory, reference digest", "memory://", True),
            ("sqlite, fast digest", f"sqlite:///{tmp / 'fast.db'}", False),
            ("sqlite, reference digest", f"sqlite:///{tmp / 'ref.db'}", True),
        ):
            bank, ids, store = _bank(url, args.accounts, reference=reference)

            def deposit(i: int, bank: Any = bank, ids: list[str] = ids) -> None:
                bank.deposit(ids[i % len(ids)], "1.00")

            systems[name] = deposit
            closers.append(store.close)
        raw_path = tmp / "raw.db"
        remove_db(raw_path)
        raw = RawCommit(raw_path, args.accounts, args.commands)
        systems["raw commit (sqlite)"] = raw

        cpu = dict.fromkeys(systems, 0.0)
        wall = dict.fromkeys(systems, 0.0)
        done = 0
        while done < args.commands:
            block = min(args.block, args.commands - done)
            for name, action in systems.items():
                c, w = time.process_time(), time.perf_counter()
                for i in range(done, done + block):
                    action(i)
                cpu[name] += time.process_time() - c
                wall[name] += time.perf_counter() - w
            done += block
        for close in closers:
            close()
        raw.finish(args.commands)

    section(f"CPU per deposit ({args.commands} deposits each, blocks of {args.block})")
    rows = [
        [
            name,
            f"{cpu[name] / args.commands * 1e6:.1f} µs",
            f"{wall[name] / args.commands * 1e6:.1f} µs",
        ]
        for name in systems
    ]
    print_table(["system", "cpu/deposit", "wall/deposit"], rows)
    for store in ("memory", "sqlite"):
        fast, ref = cpu[f"{store}, fast digest"], cpu[f"{store}, reference digest"]
        saved = (ref - fast) / args.commands * 1e6
        print(f"{store}: the fast digest saves {saved:.1f} µs CPU a deposit")


if __name__ == "__main__":
    main()
