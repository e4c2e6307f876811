"""Rejecting a request for approval: the supervisor says why, and the requester reads it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QWidget

from bank_desktop.application import BankService
from bank_desktop.application.projections.approvals import ApprovalSummary
from bank_desktop.gui.forms.base import Action, CommandForm, Problem, line_edit
from bank_desktop.gui.models.approvals import describe_request
from bank_desktop.gui.workers import BackgroundWork


class RejectForm(CommandForm):
    """What is rejected, whose request it is, and the reason (required); succeeds with the
    request as the store then holds it."""

    def __init__(
        self,
        bank: BankService,
        request: ApprovalSummary,
        *,
        jobs: BackgroundWork,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            f"Reject request #{request.approval_id}", "Reject", jobs=jobs, parent=parent
        )
        self.setObjectName("rejectForm")
        self._bank = bank
        self.request = request
        self.add_info("Request:", describe_request(request)).setWordWrap(True)
        self.add_info("Requested by:", request.requested_by)
        self.reason = line_edit("reasonEdit", placeholder="Customer could not be reached")
        self.add_field("&Reason:", self.reason, keys=("reason",))

    def validate(self) -> Problem | None:
        if not self.reason.text().strip():
            return "Say why the request is rejected: the requester reads it.", self.reason
        return super().validate()

    def command(self) -> Action:
        bank, key, approval_id = self._bank, self.command_id, self.request.approval_id
        reason = self.reason.text()
        return lambda: bank.reject(approval_id, reason, command_id=key)

    def label(self) -> str:
        return f"Rejection of the {describe_request(self.request)} (#{self.request.approval_id})"

    def describe_result(self) -> Callable[[Any], str]:
        requester = self.request.requested_by
        return lambda _summary: f"{requester} sees the reason"
