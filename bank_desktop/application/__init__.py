"""Use cases over the domain and the event store port: commands, transfers, projections."""

from __future__ import annotations

from bank_desktop.application.bank_service import BankService
from bank_desktop.application.command_handling import (
    CommandHandler,
    CommandResult,
    handle_command,
)
from bank_desktop.application.deciders import ACCOUNTS, TRANSFERS, Decider
from bank_desktop.application.errors import MalformedEventError, TransferInterruptedError
from bank_desktop.application.subscription import (
    SubscriptionRunner,
    SubscriptionState,
    SubscriptionStatus,
)
from bank_desktop.application.transfer_process import RecoveryReport

__all__ = [
    "ACCOUNTS",
    "TRANSFERS",
    "BankService",
    "CommandHandler",
    "CommandResult",
    "Decider",
    "MalformedEventError",
    "RecoveryReport",
    "SubscriptionRunner",
    "SubscriptionState",
    "SubscriptionStatus",
    "TransferInterruptedError",
    "handle_command",
]
