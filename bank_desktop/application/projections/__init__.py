"""Projections: pure folds of the event stream into what clerks look at."""

from __future__ import annotations

from bank_desktop.application.projections.balances import AccountBalance, BalancesProjection
from bank_desktop.application.projections.ledger import (
    Ledger,
    LedgerBook,
    LedgerEntry,
    LedgerView,
    Statement,
    build_ledger,
    load_ledger,
    statement,
)
from bank_desktop.application.projections.read_model import (
    LoadedReadModel,
    ReadModel,
    ReadModelChanges,
    catch_up,
    load_read_model,
    restore_read_model,
)
from bank_desktop.application.projections.transfers import TransfersProjection, TransferSummary

__all__ = [
    "AccountBalance",
    "BalancesProjection",
    "Ledger",
    "LedgerBook",
    "LedgerEntry",
    "LedgerView",
    "LoadedReadModel",
    "ReadModel",
    "ReadModelChanges",
    "Statement",
    "TransferSummary",
    "TransfersProjection",
    "build_ledger",
    "catch_up",
    "load_ledger",
    "load_read_model",
    "restore_read_model",
    "statement",
]
