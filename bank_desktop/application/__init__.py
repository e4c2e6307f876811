"""Use cases over the domain and the event store port: commands, transfers, projections.

Commands enter through :class:`BankService` (``bank_service.py``) and are decided by
``command_handling.py`` on the stream kinds of ``stream_kinds.py``; the read side is
``read_model_session.py`` over ``projections/``, fed by ``subscription.py``.
"""

from __future__ import annotations

from bank_desktop.application.bank_service import BankService
from bank_desktop.application.command_handling import (
    CommandHandler,
    CommandResult,
    handle_command,
)
from bank_desktop.application.errors import MalformedEventError, TransferInterruptedError
from bank_desktop.application.stream_kinds import ACCOUNTS, TRANSFERS, StreamKind
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
    "MalformedEventError",
    "RecoveryReport",
    "StreamKind",
    "SubscriptionRunner",
    "SubscriptionState",
    "SubscriptionStatus",
    "TransferInterruptedError",
    "handle_command",
]
