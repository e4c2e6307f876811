"""Functions run in other OS processes by the teller's race tests (importable by spawn)."""

from __future__ import annotations

from bank_desktop.application import BankService
from bank_desktop.domain import DomainError
from bank_desktop.eventstore import open_store


def register(url: str, full_name: str, national_id: str) -> str:
    """Register a customer; the customer id, or ``refused: <message>``."""
    store = open_store(url)
    try:
        return BankService(store, clerk_id=f"clerk-{full_name}").register_customer(
            full_name, national_id
        )
    except DomainError as refusal:
        return f"refused: {refusal.message}"
    finally:
        store.close()
