"""The pure core: money, the account and transfer deciders, and the domain's errors."""

from __future__ import annotations

from bank_desktop.domain.errors import (
    AccountNotFoundError,
    CommandIdReservedError,
    CommandIdReusedError,
    DomainError,
    IllegalStateError,
    ValidationError,
)
from bank_desktop.domain.money import MAX_AMOUNT, format_money, parse_money

__all__ = [
    "MAX_AMOUNT",
    "AccountNotFoundError",
    "CommandIdReservedError",
    "CommandIdReusedError",
    "DomainError",
    "IllegalStateError",
    "ValidationError",
    "format_money",
    "parse_money",
]
