"""How the command-line entry points report a store failure: one message style, one exit code.

2 = the store's configuration is wrong (retrying will not help), 3 = it is unavailable.
"""

from __future__ import annotations

import sys

from bank_desktop.eventstore import EventStore, EventStoreError, StoreConfigError, store_notices


def report_store_failure(exc: EventStoreError) -> int:
    """Print why the store failed to stderr and return the exit code for it."""
    if isinstance(exc, StoreConfigError):
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"error: the store is unavailable: {exc}", file=sys.stderr)
    return 3


def print_store_notices(store: EventStore) -> None:
    """Tell the clerk, on stderr, what they must know about the store (read-only, damaged)."""
    for notice in store_notices(store):
        print(f"notice: {notice}", file=sys.stderr)
