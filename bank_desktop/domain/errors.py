"""The domain's error family: every rejection a clerk can see, with a message written for them.

Messages are complete sentences a clerk can act on; ``details`` carries the same facts in
structured form for the HTTP API and for logs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class DomainError(Exception):
    """A command was refused by a business rule; nothing was written."""

    def __init__(self, message: str, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = dict(details or {})

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, {self.details!r})"


class ValidationError(DomainError):
    """A value breaks a rule: a malformed or non-positive amount, insufficient funds, …"""


class IllegalStateError(DomainError):
    """The target is in the wrong state: it exists already, is missing, or is closed."""

    def __init__(
        self,
        message: str,
        details: Mapping[str, Any] | None = None,
        *,
        state: str,
        action: str,
    ) -> None:
        super().__init__(message, {**(details or {}), "state": state, "action": action})
        self.state = state
        self.action = action


class NotFoundError(IllegalStateError):
    """What a command names does not exist (an account, customer, transaction or hold); the
    HTTP API answers 404 for these."""


class AccountNotFoundError(NotFoundError):
    """The account was never opened."""

    def __init__(self, account_id: str, action: str) -> None:
        super().__init__(
            f"Account {account_id} does not exist.",
            {"accountId": account_id},
            state="not_found",
            action=action,
        )
        self.account_id = account_id


class UnreadableHistoryError(IllegalStateError):
    """The stream holds an event this version does not understand: deciding on the rest of
    its history could allow what the whole history forbids (an overdraft), so nothing is."""

    def __init__(self, stream_id: str, what: str, unrecognized: str) -> None:
        super().__init__(
            f"{what} {stream_id} has history this version cannot read ({unrecognized}); "
            "nothing can be decided on it until Bank Desktop is upgraded or IT repairs the "
            "store.",
            {"streamId": stream_id, "unrecognized": unrecognized},
            state="unreadable",
            action="decide",
        )
        self.stream_id = stream_id
        self.unrecognized = unrecognized


class CommandIdReusedError(DomainError):
    """A command id (idempotency key) was sent again with a different request."""

    def __init__(self, command_id: str) -> None:
        super().__init__(
            f"Request id {command_id} was already used for a different request; "
            "nothing was changed. Start a new request.",
            {"commandId": command_id},
        )
        self.command_id = command_id


class CommandIdReservedError(ValidationError):
    """A client sent an id of the shape the application keeps for its own steps."""

    def __init__(self, command_id: str) -> None:
        super().__init__(
            f"Request id {command_id} is reserved: ids of the form '<account or transfer id>:"
            "<step>' name the application's own steps. Nothing was changed; use another id.",
            {"commandId": command_id},
        )
        self.command_id = command_id


# ── dual control (maker-checker) ──────────────────────────────────────────────────────────


class PermissionDeniedError(DomainError):
    """The acting clerk lacks the role the action needs, or is the one who must not act
    (approving their own request)."""


class ApprovalRequired(DomainError):
    """Not a refusal: the request was recorded and waits for a supervisor; no money moved.

    Raised by a command above the approval limit, and again by a repeat of that request
    (same command id) while it is still pending.
    """

    def __init__(self, approval_id: str, message: str, details: Mapping[str, Any]) -> None:
        super().__init__(message, {**details, "approvalId": approval_id, "status": "pending"})
        self.approval_id = approval_id


class ApprovalNotFoundError(NotFoundError):
    """No request was ever sent for approval under this id (the HTTP API answers 404)."""

    def __init__(self, approval_id: str, action: str) -> None:
        super().__init__(
            f"There is no approval request {approval_id}.",
            {"approvalId": approval_id},
            state="not_found",
            action=action,
        )
        self.approval_id = approval_id


class ApprovalRejectedError(DomainError):
    """A repeat of a request a supervisor rejected: it will never be carried out."""

    def __init__(self, approval_id: str, rejected_by: str, reason: str) -> None:
        super().__init__(
            f"Request {approval_id} was rejected by {rejected_by}: {reason}",
            {
                "approvalId": approval_id,
                "status": "rejected",
                "rejectedBy": rejected_by,
                "reason": reason,
            },
        )
        self.approval_id = approval_id
        self.reason = reason


class ApprovalFailedError(DomainError):
    """An approved request could not be carried out: the rules, checked again when it ran,
    refused it (the balance had changed, the account was closed, ...). Nothing moved."""

    def __init__(self, approval_id: str, reason: str) -> None:
        super().__init__(
            f"Request {approval_id} was approved, but could not be carried out: {reason}",
            {"approvalId": approval_id, "status": "failed", "reason": reason},
        )
        self.approval_id = approval_id
        self.reason = reason


class TransferReversedError(DomainError):
    """The transfer's target refused the credit; the debited amount was paid back."""

    def __init__(self, transfer_id: str, reason: str, from_account_id: str) -> None:
        super().__init__(
            f"Transfer {transfer_id} was reversed: {reason} "
            f"The amount was returned to {from_account_id}.",
            {"transferId": transfer_id, "reason": reason, "accountId": from_account_id},
        )
        self.transfer_id = transfer_id
        self.reason = reason


class CustomerNotFoundError(NotFoundError):
    """No customer was registered under this id."""

    def __init__(self, customer_id: str, action: str) -> None:
        super().__init__(
            f"Customer {customer_id} is not registered.",
            {"customerId": customer_id},
            state="not_found",
            action=action,
        )
        self.customer_id = customer_id


class TransactionNotFoundError(NotFoundError):
    """The event a reversal names is not a transaction of that account."""

    def __init__(self, account_id: str, event_id: str) -> None:
        super().__init__(
            f"Transaction {event_id} is not in account {account_id}.",
            {"accountId": account_id, "eventId": event_id},
            state="not_found",
            action="reverse a transaction",
        )
        self.account_id = account_id
        self.event_id = event_id


class HoldNotFoundError(NotFoundError):
    """No hold of this id was ever placed on the account."""

    def __init__(self, account_id: str, hold_id: str) -> None:
        super().__init__(
            f"Hold {hold_id} was never placed on account {account_id}.",
            {"accountId": account_id, "holdId": hold_id},
            state="not_found",
            action="release a hold",
        )
        self.account_id = account_id
        self.hold_id = hold_id


class DuplicateNationalIdError(IllegalStateError):
    """Another customer holds this national id (the HTTP API answers 409)."""

    def __init__(self, national_id: str, customer_id: str) -> None:
        super().__init__(
            f"National id {national_id} is already registered to customer {customer_id}.",
            {"nationalId": national_id, "customerId": customer_id},
            state="taken",
            action="register the national id",
        )
        self.national_id = national_id
        self.customer_id = customer_id
