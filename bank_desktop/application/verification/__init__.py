"""Verification of a store's history (``bank-desktop verify``, Help, Verify history): hash
chains and positions, drift of the persisted read model, conservation of money, and seals.

Everything here reads through the event store port only; the composition roots open the store
for verification and add what only they know (what this computer saw of the store).
"""

from __future__ import annotations

from bank_desktop.application.verification.findings import Finding, Kind
from bank_desktop.application.verification.run import (
    Progress,
    VerificationReport,
    verify_store,
)
from bank_desktop.application.verification.seals import Seal, SealError

__all__ = [
    "Finding",
    "Kind",
    "Progress",
    "Seal",
    "SealError",
    "VerificationReport",
    "verify_store",
]
