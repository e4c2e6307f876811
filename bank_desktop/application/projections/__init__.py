"""Projections: pure folds of the event stream into what clerks look at."""

from __future__ import annotations

from bank_desktop.application.projections.as_of import AsOf, as_of, end_of_day, start_of_day
from bank_desktop.application.projections.balances import AccountBalance, BalancesProjection
from bank_desktop.application.projections.customers import CustomerRow, CustomersProjection
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
from bank_desktop.application.projections.why import Explanation, explain_line

__all__ = [
    "AccountBalance",
    "AsOf",
    "BalancesProjection",
    "CustomerRow",
    "CustomersProjection",
    "Explanation",
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
    "as_of",
    "build_ledger",
    "catch_up",
    "end_of_day",
    "explain_line",
    "load_ledger",
    "load_read_model",
    "restore_read_model",
    "start_of_day",
    "statement",
]
