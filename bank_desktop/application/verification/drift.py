"""Drift: the persisted read model (the snapshot clerks' screens start from) against a fold of
the events up to the snapshot's own checkpoint, row by row and value by value.

A snapshot is a cache (ADR 0006): the window and ``serve`` check its digest and the store's
identity before trusting it, but not its numbers, which would cost the replay it saves. Here
the replay is done anyway, so every number is compared.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Final

from bank_desktop.application.projections import ReadModel
from bank_desktop.application.projections.read_model import SNAPSHOT_NAME, SNAPSHOT_VERSION
from bank_desktop.application.verification.findings import Findings
from bank_desktop.domain import format_money
from bank_desktop.eventstore.errors import SnapshotDamagedError
from bank_desktop.eventstore.port import Snapshot, SnapshotStore

_BALANCE_FIELDS: Final = (
    "customer_id",
    "balance",
    "is_open",
    "opened_at",
    "closed_at",
    "last_activity_at",
    "revision",
    "unrecognized",
)
_TRANSFER_FIELDS: Final = (
    "from_account_id",
    "to_account_id",
    "amount",
    "description",
    "status",
    "requested_at",
    "updated_at",
    "reason",
    "revision",
)


def load_snapshot(snapshots: SnapshotStore | None, findings: Findings) -> Snapshot | None:
    """The saved read model to compare, or None (none saved, or one that failed its checks:
    then that is a finding)."""
    if snapshots is None:
        return None
    try:
        snapshot = snapshots.load(SNAPSHOT_NAME)
    except SnapshotDamagedError as exc:
        findings.problem("drift", f"the saved read model failed its integrity check: {exc}")
        return None
    if snapshot is not None and snapshot.version != SNAPSHOT_VERSION:
        findings.notice(
            "drift",
            f"the saved read model is of an earlier version ({snapshot.version}); it is not "
            "used, so it was not compared",
        )
        return None
    return snapshot


def compare(snapshot: Snapshot, fold: ReadModel, findings: Findings, identity: str | None) -> int:
    """Compare ``snapshot`` with ``fold`` (the events folded up to its checkpoint); returns how
    many rows differ."""
    checkpoint = snapshot.checkpoint
    if fold.checkpoint != checkpoint:
        findings.problem(
            "drift",
            f"the saved read model is at position {checkpoint:,}, beyond the store's last "
            f"event ({fold.checkpoint:,}): events it saw are gone, or it is another store's",
        )
        return 1
    if checkpoint and snapshot.store_identity != identity:
        findings.problem("drift", "the saved read model belongs to another store")
        return 1
    if checkpoint and snapshot.checkpoint_event_id != fold.checkpoint_event_id:
        findings.problem(
            "drift",
            f"the saved read model was taken at another event at position {checkpoint:,} "
            "than the store holds there now: the history was rewritten since",
            global_position=checkpoint,
        )
    try:
        saved = ReadModel.from_snapshot(snapshot)
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        findings.problem("drift", f"the saved read model holds an invalid value ({exc})")
        return 1
    where = f"(saved at position {checkpoint:,})"
    differ = 0
    for row in fold.balances:
        kept = saved.balances.get(row.account_id)
        if kept is None:
            differ += 1
            findings.problem(
                "drift",
                f"the saved read model lacks this account {where}",
                stream_id=row.account_id,
            )
            continue
        wrong = _differences(kept, row, _BALANCE_FIELDS)
        if wrong:
            differ += 1
            findings.problem(
                "drift", f"the saved read model shows {wrong} {where}", stream_id=row.account_id
            )
    for row in saved.balances:
        if fold.balances.get(row.account_id) is None:
            differ += 1
            findings.problem(
                "drift",
                f"the saved read model shows an account the events never opened {where}",
                stream_id=row.account_id,
            )
    for transfer in fold.transfers:
        kept_transfer = saved.transfers.get(transfer.transfer_id)
        wrong = (
            "no such transfer"
            if kept_transfer is None
            else _differences(kept_transfer, transfer, _TRANSFER_FIELDS)
        )
        if wrong:
            differ += 1
            findings.problem(
                "drift",
                f"the saved read model shows {wrong} {where}",
                stream_id=transfer.transfer_id,
            )
    extra = len(saved.transfers) - sum(
        1 for t in saved.transfers if fold.transfers.get(t.transfer_id)
    )
    if extra:
        differ += extra
        findings.problem(
            "drift", f"the saved read model shows {extra:,} transfer(s) the events never requested"
        )
    return differ


def _differences(saved: Any, fold: Any, fields: tuple[str, ...]) -> str:
    wrong = []
    for name in fields:
        shown, truth = getattr(saved, name), getattr(fold, name)
        if shown != truth:
            wrong.append(
                f"{name.replace('_', ' ')} {_shown(shown)} where the events give {_shown(truth)}"
            )
    return "; ".join(wrong)


def _shown(value: Any) -> str:
    if isinstance(value, Decimal):
        return format_money(value)
    return repr(value) if isinstance(value, str) else str(value)
