"""Dual control's events to and from the wire: the staff register, the policy, approvals.

The same conventions as the seed's events (``event_codec.py``): camelCase ``data`` fields,
amounts as JSON numbers in major units, ISO-8601 UTC times with milliseconds, optional fields
left out when empty. None of these types is one of the seed's four, so a service built from
the seed ignores them and its balances stay right.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

from bank_desktop.application import wire_fields as f
from bank_desktop.application.errors import MalformedEventError
from bank_desktop.application.event_codec import wire_time
from bank_desktop.domain import approvals as ap
from bank_desktop.domain import policy as po
from bank_desktop.domain import staff as st
from bank_desktop.domain.history import UnrecognizedEvent
from bank_desktop.eventstore.port import RecordedEvent

Data = dict[str, Any]
E = TypeVar("E")


def _put(data: Data, key: str, value: object) -> Data:
    if value is not None:
        data[key] = value
    return data


def _optional_money(ev: RecordedEvent, d: Data, key: str) -> Decimal | None:
    return None if d.get(key) is None else f.money(ev, d, key)


def _role(ev: RecordedEvent, d: Data) -> st.Role:
    role = f.text(ev, d, "role")
    if role not in st.ROLES:
        raise MalformedEventError(ev, f"field 'role' must be one of {', '.join(st.ROLES)}")
    return role


# ── staff ─────────────────────────────────────────────────────────────────────────────────


def encode_staff_event(event: st.StaffEvent) -> tuple[str, Data]:
    match event:
        case st.RoleGranted():
            return event.type, {
                "clerkId": event.clerk_id,
                "role": event.role,
                "grantedBy": event.granted_by,
                "grantedAt": wire_time(event.granted_at),
            }
        case st.RoleRevoked():
            return event.type, {
                "clerkId": event.clerk_id,
                "role": event.role,
                "revokedBy": event.revoked_by,
                "revokedAt": wire_time(event.revoked_at),
            }
        case st.TokenKeyCreated():
            return event.type, {
                "keyId": event.key_id,
                "key": event.key,
                "createdBy": event.created_by,
                "createdAt": wire_time(event.created_at),
            }
        case st.TokenIssued():
            return event.type, {
                "clerkId": event.clerk_id,
                "tokenId": event.token_id,
                "tokenHash": event.token_hash,
                "keyId": event.key_id,
                "issuedBy": event.issued_by,
                "issuedAt": wire_time(event.issued_at),
            }
        case st.TokenRevoked():
            return event.type, {
                "clerkId": event.clerk_id,
                "tokenId": event.token_id,
                "revokedBy": event.revoked_by,
                "revokedAt": wire_time(event.revoked_at),
            }


_STAFF_DECODERS: dict[str, Callable[[RecordedEvent, Data], st.StaffEvent]] = {
    st.RoleGranted.type: lambda ev, d: st.RoleGranted(
        f.text(ev, d, "clerkId"),
        _role(ev, d),
        f.text(ev, d, "grantedBy"),
        f.moment(ev, d, "grantedAt"),
    ),
    st.RoleRevoked.type: lambda ev, d: st.RoleRevoked(
        f.text(ev, d, "clerkId"),
        _role(ev, d),
        f.text(ev, d, "revokedBy"),
        f.moment(ev, d, "revokedAt"),
    ),
    st.TokenKeyCreated.type: lambda ev, d: st.TokenKeyCreated(
        f.text(ev, d, "keyId"),
        f.text(ev, d, "key"),
        f.text(ev, d, "createdBy"),
        f.moment(ev, d, "createdAt"),
    ),
    st.TokenIssued.type: lambda ev, d: st.TokenIssued(
        f.text(ev, d, "clerkId"),
        f.text(ev, d, "tokenId"),
        f.text(ev, d, "tokenHash"),
        f.text(ev, d, "keyId"),
        f.text(ev, d, "issuedBy"),
        f.moment(ev, d, "issuedAt"),
    ),
    st.TokenRevoked.type: lambda ev, d: st.TokenRevoked(
        f.text(ev, d, "clerkId"),
        f.text(ev, d, "tokenId"),
        f.text(ev, d, "revokedBy"),
        f.moment(ev, d, "revokedAt"),
    ),
}

# ── policy ────────────────────────────────────────────────────────────────────────────────


def encode_policy_event(event: po.PolicyEvent) -> tuple[str, Data]:
    data: Data = {}
    _put(data, "approvalLimit", event.limit)
    data["setBy"] = event.set_by
    data["setAt"] = wire_time(event.set_at)
    return event.type, data


_POLICY_DECODERS: dict[str, Callable[[RecordedEvent, Data], po.PolicyEvent]] = {
    po.ApprovalLimitSet.type: lambda ev, d: po.ApprovalLimitSet(
        _optional_money(ev, d, "approvalLimit"), f.text(ev, d, "setBy"), f.moment(ev, d, "setAt")
    ),
}

# ── approvals ─────────────────────────────────────────────────────────────────────────────


def encode_approval_event(event: ap.ApprovalEvent) -> tuple[str, Data]:
    match event:
        case ap.ApprovalRequested():
            held = event.held
            data: Data = {
                "approvalId": event.approval_id,
                "kind": held.kind,
                "accountId": held.account_id,
                "amount": held.amount,
            }
            _put(data, "description", held.description)
            _put(data, "toAccountId", held.to_account_id)
            _put(data, "eventId", held.event_id)
            _put(data, "reason", held.reason)
            data["requestedBy"] = event.requested_by
            _put(data, "approvalLimit", event.limit)
            data["requestedAt"] = wire_time(event.requested_at)
            return event.type, data
        case ap.RequestApproved():
            return event.type, {
                "approvalId": event.approval_id,
                "approvedBy": event.approved_by,
                "approvedAt": wire_time(event.approved_at),
            }
        case ap.RequestRejected():
            return event.type, {
                "approvalId": event.approval_id,
                "rejectedBy": event.rejected_by,
                "reason": event.reason,
                "rejectedAt": wire_time(event.rejected_at),
            }
        case ap.ApprovedRequestExecuted():
            data = {"approvalId": event.approval_id}
            _put(data, "balance", event.balance)
            _put(data, "transferId", event.transfer_id)
            data["executedAt"] = wire_time(event.executed_at)
            return event.type, data
        case ap.ApprovedRequestFailed():
            return event.type, {
                "approvalId": event.approval_id,
                "reason": event.reason,
                "failedAt": wire_time(event.failed_at),
            }


def _kind(ev: RecordedEvent, d: Data) -> ap.ApprovalKind:
    kind = f.text(ev, d, "kind")
    if kind not in ap.APPROVAL_KINDS:
        raise MalformedEventError(ev, f"field 'kind' must be one of {', '.join(ap.APPROVAL_KINDS)}")
    return kind


def _requested(ev: RecordedEvent, d: Data) -> ap.ApprovalRequested:
    held = ap.HeldRequest(
        _kind(ev, d),
        f.text(ev, d, "accountId"),
        f.money(ev, d, "amount"),
        f.optional_text(ev, d, "description"),
        f.optional_text(ev, d, "toAccountId"),
        f.optional_text(ev, d, "eventId"),
        f.optional_text(ev, d, "reason"),
    )
    return ap.ApprovalRequested(
        f.text(ev, d, "approvalId"),
        held,
        f.text(ev, d, "requestedBy"),
        _optional_money(ev, d, "approvalLimit"),
        f.moment(ev, d, "requestedAt"),
    )


_APPROVAL_DECODERS: dict[str, Callable[[RecordedEvent, Data], ap.ApprovalEvent]] = {
    ap.ApprovalRequested.type: _requested,
    ap.RequestApproved.type: lambda ev, d: ap.RequestApproved(
        f.text(ev, d, "approvalId"), f.text(ev, d, "approvedBy"), f.moment(ev, d, "approvedAt")
    ),
    ap.RequestRejected.type: lambda ev, d: ap.RequestRejected(
        f.text(ev, d, "approvalId"),
        f.text(ev, d, "rejectedBy"),
        f.text(ev, d, "reason"),
        f.moment(ev, d, "rejectedAt"),
    ),
    ap.ApprovedRequestExecuted.type: lambda ev, d: ap.ApprovedRequestExecuted(
        f.text(ev, d, "approvalId"),
        _optional_money(ev, d, "balance"),
        f.optional_text(ev, d, "transferId"),
        f.moment(ev, d, "executedAt"),
    ),
    ap.ApprovedRequestFailed.type: lambda ev, d: ap.ApprovedRequestFailed(
        f.text(ev, d, "approvalId"), f.text(ev, d, "reason"), f.moment(ev, d, "failedAt")
    ),
}

# ── for the deciders: every stored event counts ──────────────────────────────────────────


def _history(
    decoders: dict[str, Callable[[RecordedEvent, Data], E]],
) -> Callable[[RecordedEvent], E | UnrecognizedEvent]:
    def decode(event: RecordedEvent) -> E | UnrecognizedEvent:
        decoder = decoders.get(event.type)
        if decoder is None:
            return UnrecognizedEvent(event.type, event.stream_position)
        return decoder(event, f.payload(event))

    return decode


def decode_approval_event(event: RecordedEvent) -> ap.ApprovalEvent | None:
    """The approval event, None for another type, or MalformedEventError."""
    decoder = _APPROVAL_DECODERS.get(event.type)
    return None if decoder is None else decoder(event, f.payload(event))


decode_staff_history = _history(_STAFF_DECODERS)
decode_policy_history = _history(_POLICY_DECODERS)
decode_approval_history = _history(_APPROVAL_DECODERS)


def encode_staff_history(event: st.StaffHistoryEvent) -> tuple[str, Data]:
    """Deciders only ever decide known events; an unrecognized one is never written back."""
    if isinstance(event, UnrecognizedEvent):
        raise TypeError(f"{event.describe()} is not ours to write")
    return encode_staff_event(event)


def encode_policy_history(event: po.PolicyHistoryEvent) -> tuple[str, Data]:
    if isinstance(event, UnrecognizedEvent):
        raise TypeError(f"{event.describe()} is not ours to write")
    return encode_policy_event(event)


def encode_approval_history(event: ap.ApprovalHistoryEvent) -> tuple[str, Data]:
    if isinstance(event, UnrecognizedEvent):
        raise TypeError(f"{event.describe()} is not ours to write")
    return encode_approval_event(event)
