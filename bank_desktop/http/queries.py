"""Query endpoints (the read side): accounts from the balances projection, ledgers per account.

Every read may ask for read-your-writes with ``?after=<position>`` (or the
``X-Wait-For-Position`` header), the ``X-Event-Position`` a write answered with: the read then
waits, at most a few seconds, until the read model has applied that position (503 if not).
Responses carry ``X-Read-Position``: the position the read model had applied.

``GET /accounts`` keeps the seed's body, a plain JSON array, and pages it: ``limit`` (default
100, at most 1,000) and ``offset`` in the query; ``X-Total-Count`` and a ``Link`` header
(RFC 8288: ``next``, ``prev``, ``first``, ``last``) in the response.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Header, Path, Query
from pydantic import AfterValidator
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from bank_desktop.application.event_codec import wire_time
from bank_desktop.application.projections import AccountBalance
from bank_desktop.http.account_history import account_as_of, entry_body
from bank_desktop.http.context import READ_POSITION_HEADER, WAIT_HEADER, Api
from bank_desktop.http.docs import errors
from bank_desktop.http.errors import ApiError
from bank_desktop.http.schemas import AccountReadModel, TransactionsPage, no_surrounding_space
from bank_desktop.http.wire import ExactJSONResponse, money_out

router = APIRouter(tags=["queries"])

_MAX_POSITION: Final = 2**63 - 1
#: Most ledger entries one page returns.
MAX_PAGE: Final = 500
#: Accounts on a page of ``GET /accounts`` unless the client asks for another size.
ACCOUNTS_PAGE: Final = 100
#: Most accounts one page returns.
MAX_ACCOUNTS_PAGE: Final = 1_000
_PAGE_HEADERS: Final = {
    "X-Total-Count": {
        "description": "How many accounts there are in all",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    },
    "Link": {
        "description": 'RFC 8288 links to the "first", "last", and when they exist the '
        '"prev" and "next" pages',
        "required": True,
        "schema": {"type": "string"},
    },
    READ_POSITION_HEADER: {
        "description": "The global position the read model had applied",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    },
}

After = Annotated[
    int | None,
    Query(
        ge=0,
        le=_MAX_POSITION,
        description="Read-your-writes: wait until the read model has applied this global "
        "position (a write's X-Event-Position)",
    ),
]
WaitHeader = Annotated[
    int | None,
    Header(alias=WAIT_HEADER, ge=0, le=_MAX_POSITION, description="Same as ?after="),
]
AccountId = Annotated[
    str,
    Path(max_length=200, description="No spaces around it"),
    AfterValidator(no_surrounding_space),
]


def account_body(row: AccountBalance) -> dict[str, Any]:
    """The seed's read-model fields (``closedAt`` only once closed). An account whose history
    this version cannot read has ``balance: null`` and ``balanceUnknown`` saying why: a number
    that ignores part of the history would be wrong."""
    body: dict[str, Any] = {
        "accountId": row.account_id,
        "customerId": row.customer_id,
        "balance": None if row.unrecognized else money_out(row.balance),
        "isOpen": row.is_open,
        "openedAt": wire_time(row.opened_at),
        "lastTransactionAt": wire_time(row.last_activity_at),
    }
    if row.closed_at is not None:
        body["closedAt"] = wire_time(row.closed_at)
    if row.unrecognized is not None:
        body["balanceUnknown"] = f"This version cannot read the history: {row.unrecognized}."
    return body


def _not_found(account_id: str) -> ApiError:
    return ApiError(404, f"Account {account_id} not found.", {"accountId": account_id})


@router.get(
    "/accounts/{account_id}",
    response_model=AccountReadModel,
    responses=errors(400, 404, 503),
    summary="One account, from the balances projection",
    description="With `asOf=YYYY-MM-DD` (and `tz`, default the server's zone): the account's "
    "history, balance, available balance and holds at the end of that day instead.",
)
async def get_account(
    api: Api,
    account_id: AccountId,
    *,
    after: After = None,
    wait: WaitHeader = None,
    as_of: Annotated[str | None, Query(alias="asOf", max_length=40)] = None,
    tz: Annotated[str | None, Query(max_length=60)] = None,
) -> Response:
    await api.wait_for(after, wait)
    if as_of is not None:
        return await account_as_of(api, account_id, as_of, tz)
    position = api.live.checkpoint
    row = api.live.account(account_id)
    if row is None:
        raise _not_found(account_id)
    return ExactJSONResponse(account_body(row), headers={READ_POSITION_HEADER: str(position)})


@router.get(
    "/accounts",
    response_model=list[AccountReadModel],
    responses={200: {"headers": _PAGE_HEADERS}, **errors(400, 503)},
    summary="Accounts in opening order, a page at a time, from the balances projection",
    description="The seed's plain array, one page of it: `limit` (default 100, at most 1,000) "
    "and `offset` choose the page; `X-Total-Count` says how many accounts there are and `Link` "
    "points to the next, previous, first and last pages.",
)
async def list_accounts(
    request: Request,
    api: Api,
    *,
    after: After = None,
    wait: WaitHeader = None,
    limit: Annotated[int, Query(ge=1, le=MAX_ACCOUNTS_PAGE)] = ACCOUNTS_PAGE,
    offset: Annotated[int, Query(ge=0, le=_MAX_POSITION)] = 0,
) -> Response:
    await api.wait_for(after, wait)
    position = api.live.checkpoint
    total, rows = api.live.accounts(offset, limit)
    return ExactJSONResponse(
        [account_body(row) for row in rows],
        headers={
            READ_POSITION_HEADER: str(position),
            "X-Total-Count": str(total),
            "Link": page_links(request, offset=offset, limit=limit, total=total),
        },
    )


def page_links(request: Request, *, offset: int, limit: int, total: int) -> str:
    """RFC 8288 ``Link``: first and last always, prev and next where such pages exist; the
    request's other query parameters (``after``) are kept."""
    last = max(0, (total - 1) // limit * limit)
    pages = {"first": 0, "last": last}
    if offset > 0:
        pages["prev"] = max(0, min(offset, total) - limit)
    if offset + limit < total:
        pages["next"] = offset + limit
    order = ("next", "prev", "first", "last")
    return ", ".join(
        f'<{request.url.include_query_params(offset=pages[rel], limit=limit)}>; rel="{rel}"'
        for rel in order
        if rel in pages
    )


@router.get(
    "/accounts/{account_id}/transactions",
    response_model=TransactionsPage,
    responses=errors(400, 404, 503),
    summary="An account's transactions with the running balance (the ledger), paginated",
    description="Entries in stream order (oldest first). Amounts are signed: money in is "
    "positive, money out negative. Page with `offset` and `limit`; `nextOffset` is null on "
    "the last page.",
)
async def transactions(
    api: Api,
    account_id: AccountId,
    *,
    after: After = None,
    wait: WaitHeader = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=_MAX_POSITION)] = 0,
) -> Response:
    await api.wait_for(after, wait)
    view = await run_in_threadpool(api.ledgers.current, account_id)
    row = api.live.account(account_id)
    opened = bool(view.entries) and view.entries[0].kind == "opened"
    if row is None and not opened:
        raise _not_found(account_id)
    balance = view.balance if opened or row is None else row.balance
    unknown = None if row is None else row.unrecognized
    page = view.entries[offset : offset + limit]
    end = offset + len(page)
    return ExactJSONResponse(
        {
            "accountId": account_id,
            "balance": None if unknown else money_out(balance),
            **(
                {"balanceUnknown": f"This version cannot read the history: {unknown}."}
                if unknown
                else {}
            ),
            "total": len(view.entries),
            "offset": offset,
            "limit": limit,
            "nextOffset": end if end < len(view.entries) else None,
            "entries": [entry_body(entry) for entry in page],
        },
        headers={READ_POSITION_HEADER: str(api.live.checkpoint)},
    )
