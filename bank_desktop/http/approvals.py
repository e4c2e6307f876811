"""Approval endpoints: the queue of requests above the limit, one request's state, decisions.

A command above the approval limit answers 202 with ``{approvalId, status: "pending", url}``;
``GET url`` (``/approvals/{id}``) is polled for the outcome. Supervisors list the queue
(``GET /approvals``) and decide (``POST /approvals/{id}/approve``, ``.../reject`` with a
reason); roles are checked by the same service as in the window (403 without the supervisor
role or for your own request). Every read goes to the store, so a request made a moment ago at
another desk is listed at once.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Header, Path
from pydantic import AfterValidator, BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response

from bank_desktop.application.event_codec import wire_time
from bank_desktop.application.projections.approvals import ApprovalSummary
from bank_desktop.http.body import COMMAND_BODY_LIMIT, decode_body, read_body, require_json
from bank_desktop.http.context import CLERK_HEADER, POSITION_HEADER, Api
from bank_desktop.http.docs import errors, json_body
from bank_desktop.http.errors import approval_url
from bank_desktop.http.idempotency import HEADER as IDEMPOTENCY_HEADER
from bank_desktop.http.schemas import MoneyOut, _Body, no_surrounding_space, parse_request
from bank_desktop.http.wire import ExactJSONResponse, money_out

router = APIRouter(tags=["approvals"])

ApprovalId = Annotated[
    str,
    Path(max_length=200, description="e.g. approval-3kq7x2m9v1ab"),
    AfterValidator(no_surrounding_space),
]
Clerk = Annotated[str | None, Header(alias=CLERK_HEADER, max_length=64)]
IdempotencyKey = Annotated[str | None, Header(alias=IDEMPOTENCY_HEADER, max_length=200)]
_DECISION_ERRORS: Final = errors(400, 401, 403, 404, 413, 415, 422, 503)


class RejectApprovalRequest(_Body):
    reason: str = Field(min_length=1, max_length=500, examples=["No identification shown"])


class ApprovalModel(BaseModel):
    """A request held for approval and where it stands."""

    approvalId: str
    status: str = Field(description="requested, approved, rejected, executed or failed")
    kind: str = Field(description="withdrawal, transfer or reversal")
    accountId: str
    toAccountId: str | None = None
    amount: MoneyOut
    description: str | None = None
    requestedBy: str
    requestedAt: str
    approvalLimit: MoneyOut | None = None
    approvedBy: str | None = None
    rejectedBy: str | None = None
    decidedAt: str | None = None
    reason: str | None = Field(default=None, description="Why it was rejected, or failed")
    newBalance: MoneyOut | None = Field(default=None, description="After it was carried out")
    transferId: str | None = None
    finishedAt: str | None = None
    url: str


class ApprovalPendingResponse(BaseModel):
    """A command above the approval limit: recorded, waiting for a supervisor (202)."""

    approvalId: str
    status: str = Field(examples=["pending"])
    url: str = Field(description="Poll it: GET this for the outcome")
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


#: ``responses=`` entry of a command that a limit may hold for approval (202).
HELD_FOR_APPROVAL: Final[dict[int | str, dict[str, Any]]] = {
    202: {
        "model": ApprovalPendingResponse,
        "description": "Above the approval limit: recorded, waiting for a supervisor; nothing "
        "moved yet (poll `url`)",
    }
}


def approval_body(row: ApprovalSummary) -> dict[str, Any]:
    body: dict[str, Any] = {
        "approvalId": row.approval_id,
        "status": row.status,
        "kind": row.kind,
        "accountId": row.account_id,
        "amount": money_out(row.amount),
        "requestedBy": row.requested_by,
        "requestedAt": wire_time(row.requested_at),
    }
    optional = {
        "toAccountId": row.to_account_id,
        "description": row.description,
        "eventId": row.event_id,
        "requestReason": row.request_reason,
        "approvalLimit": None if row.limit is None else money_out(row.limit),
        "approvedBy": row.approved_by,
        "rejectedBy": row.rejected_by,
        "decidedAt": None if row.decided_at is None else wire_time(row.decided_at),
        "reason": row.reason,
        "newBalance": None if row.balance is None else money_out(row.balance),
        "transferId": row.transfer_id,
        "finishedAt": None if row.finished_at is None else wire_time(row.finished_at),
    }
    body.update({key: value for key, value in optional.items() if value is not None})
    body["url"] = approval_url(row.approval_id)
    return body


@router.get(
    "/approvals",
    response_model=list[ApprovalModel],
    responses=errors(401, 503),
    summary="Requests waiting for a supervisor, oldest first",
)
async def pending(request: Request, api: Api, clerk: Clerk = None) -> Response:
    bank = api.acting(request, clerk)
    rows, _ = await api.run(bank.pending_approvals)
    return ExactJSONResponse([approval_body(row) for row in rows])


@router.get(
    "/approvals/{approval_id}",
    response_model=ApprovalModel,
    responses=errors(400, 401, 404, 503),
    summary="One request held for approval, and where it stands",
)
async def get_approval(
    request: Request, api: Api, approval_id: ApprovalId, clerk: Clerk = None
) -> Response:
    bank = api.acting(request, clerk)
    row, _ = await api.run(lambda: bank.get_approval(approval_id))
    return ExactJSONResponse(approval_body(row))


@router.post(
    "/approvals/{approval_id}/approve",
    response_model=ApprovalModel,
    responses=_DECISION_ERRORS,
    summary="Approve another clerk's request and carry it out (supervisors)",
    description="Answers once the held command has run, with the rules checked again: 200 "
    "with `status: executed`, or 400 when they refused it then (`details.status: failed`).",
)
async def approve(
    request: Request,
    api: Api,
    approval_id: ApprovalId,
    clerk: Clerk = None,
    key: IdempotencyKey = None,
) -> Response:
    bank = api.acting(request, clerk)
    command_id = api.command_id(key)
    row, position = await api.run(lambda: bank.approve(approval_id, command_id=command_id))
    return ExactJSONResponse(approval_body(row), headers={POSITION_HEADER: str(position)})


@router.post(
    "/approvals/{approval_id}/reject",
    response_model=ApprovalModel,
    responses=_DECISION_ERRORS,
    openapi_extra=json_body(RejectApprovalRequest),
    summary="Reject a request, saying why (supervisors)",
)
async def reject(
    request: Request,
    api: Api,
    approval_id: ApprovalId,
    clerk: Clerk = None,
    key: IdempotencyKey = None,
) -> Response:
    require_json(request)
    raw = await read_body(request, COMMAND_BODY_LIMIT)
    body = parse_request(RejectApprovalRequest, decode_body(raw))
    bank = api.acting(request, clerk)
    command_id = api.command_id(key)
    row, position = await api.run(
        lambda: bank.reject(approval_id, body.reason, command_id=command_id)
    )
    return ExactJSONResponse(approval_body(row), headers={POSITION_HEADER: str(position)})
