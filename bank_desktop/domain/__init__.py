"""The pure core: money, the account, transfer, staff, policy and approval deciders, and the
domain's errors."""

from __future__ import annotations

from bank_desktop.domain.errors import (
    AccountNotFoundError,
    ApprovalFailedError,
    ApprovalNotFoundError,
    ApprovalRejectedError,
    ApprovalRequired,
    CommandIdReservedError,
    CommandIdReusedError,
    DomainError,
    IllegalStateError,
    PermissionDeniedError,
    ValidationError,
)
from bank_desktop.domain.money import MAX_AMOUNT, format_money, parse_money

__all__ = [
    "MAX_AMOUNT",
    "AccountNotFoundError",
    "ApprovalFailedError",
    "ApprovalNotFoundError",
    "ApprovalRejectedError",
    "ApprovalRequired",
    "CommandIdReservedError",
    "CommandIdReusedError",
    "DomainError",
    "IllegalStateError",
    "PermissionDeniedError",
    "ValidationError",
    "format_money",
    "parse_money",
]
