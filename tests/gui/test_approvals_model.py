"""The requests table model: Qt's model rules hold, and a live change moves rows in place
(removed, updated, inserted) so a selection survives it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from PySide6.QtCore import QItemSelectionModel, QModelIndex
from pytestqt.modeltest import ModelTester

from bank_desktop.application.projections.approvals import ApprovalSummary
from bank_desktop.gui.models.approvals import (
    APPROVAL_ID_ROLE,
    MY_REQUEST_COLUMNS,
    QUEUE_COLUMNS,
    ApprovalsModel,
    Column,
    describe_request,
    kind_text,
    outcome_text,
)

START = datetime(2026, 8, 1, 9, 0, tzinfo=UTC)


def request(n: int, **changes: object) -> ApprovalSummary:
    summary = ApprovalSummary(
        approval_id=f"approval-{n:012d}",
        kind="withdrawal",
        account_id=f"account-{n}",
        amount=Decimal("6000.00") + n,
        requested_by="teller-1",
        requested_at=START + timedelta(minutes=n),
        status="requested",
    )
    return replace(summary, **changes)  # type: ignore[arg-type]


def ids(model: ApprovalsModel) -> list[str]:
    return [str(model.index(r, 0).data(APPROVAL_ID_ROLE)) for r in range(model.rowCount())]


def test_the_model_keeps_qt_rules_through_live_changes(qtmodeltester: ModelTester) -> None:
    model = ApprovalsModel(QUEUE_COLUMNS, customer_of=lambda account: f"owner of {account}")
    qtmodeltester.check(model)
    model.set_rows([request(1), request(2), request(3)])
    model.set_rows([request(2), request(3), request(4)])
    model.set_rows([request(2, amount=Decimal("7000.00")), request(4)])
    model.set_rows([request(0), request(2), request(5)])
    model.set_rows([])
    qtmodeltester.check(model)


def test_rows_move_in_place_and_the_selection_survives() -> None:
    model = ApprovalsModel(QUEUE_COLUMNS)
    model.set_rows([request(1), request(2), request(3)])
    selection = QItemSelectionModel(model)
    selection.select(
        model.index(1, 0),
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
    )
    resets: list[bool] = []
    model.modelReset.connect(lambda: resets.append(True))
    removed: list[int] = []
    model.rowsRemoved.connect(lambda _p, first, _l: removed.append(first))

    model.set_rows([request(2), request(3), request(4)])  # the oldest was decided, one came in

    assert ids(model) == [request(2).approval_id, request(3).approval_id, request(4).approval_id]
    assert removed == [0]
    assert resets == []
    (selected,) = selection.selectedRows()
    assert selected.data(APPROVAL_ID_ROLE) == request(2).approval_id

    changed: list[int] = []
    model.dataChanged.connect(lambda top, _bottom, _roles: changed.append(top.row()))
    model.set_rows([request(2), request(3, amount=Decimal("9999.00")), request(4)])
    assert changed == [1]
    amount = model.column(Column.AMOUNT)
    assert model.index(1, amount).data() == "$9,999.00"


def test_a_changed_order_resets_rather_than_lies() -> None:
    model = ApprovalsModel(QUEUE_COLUMNS)
    model.set_rows([request(1), request(2)])
    resets: list[bool] = []
    model.modelReset.connect(lambda: resets.append(True))
    model.set_rows([request(2), request(1)])
    assert resets == [True]
    assert ids(model) == [request(2).approval_id, request(1).approval_id]
    assert model.rowCount(model.index(0, 0)) == 0  # a table: no children
    assert model.data(QModelIndex()) is None


def test_what_a_clerk_reads_in_each_column() -> None:
    transfer = request(
        1,
        kind="transfer",
        to_account_id="account-9",
        status="executed",
        decided_by="sup-1",
        transfer_id="transfer-abc",
    )
    model = ApprovalsModel(MY_REQUEST_COLUMNS)
    model.set_rows([transfer, request(2, status="rejected", decided_by="sup-2", reason="No ID")])
    texts = {c: model.index(0, model.column(c)).data() for c in MY_REQUEST_COLUMNS}
    assert texts[Column.KIND] == "Transfer to account-9"
    assert texts[Column.AMOUNT] == "$6,001.00"
    assert texts[Column.STATUS] == "Approved and carried out"
    assert texts[Column.DECIDED_BY] == "sup-1"
    assert texts[Column.OUTCOME] == "transfer transfer-abc"
    assert texts[Column.REQUEST] == transfer.approval_id
    assert model.index(1, model.column(Column.OUTCOME)).data() == "No ID"
    assert model.index(1, model.column(Column.STATUS)).data() == "Rejected"
    assert kind_text(request(3, kind="reversal")) == "Reversal"
    assert outcome_text(request(4, status="executed", balance=Decimal("1.5"))) == "balance $1.50"
    assert describe_request(transfer) == "transfer of $6,001.00 from account-1 to account-9"
