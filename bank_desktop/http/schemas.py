"""Request and response bodies: the seed's camelCase fields, amounts as exact JSON numbers.

Request bodies are parsed by :mod:`bank_desktop.http.body` (no floats) and then validated
here; the pydantic models double as the OpenAPI documentation. An amount must be a JSON number
(not a string, not a boolean) with at most two decimal places and at most
999,999,999,999.99 in size; nothing is ever rounded. Whether it must be positive is a business
rule, answered by the domain with a 400 ("Deposit amount must be positive.").
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    WithJsonSchema,
)

from bank_desktop.application.projections.ledger import EntryKind
from bank_desktop.domain.money import MAX_AMOUNT, exact_cents, within_limit
from bank_desktop.http.errors import ApiError

_AMOUNT_SCHEMA: dict[str, Any] = {
    "type": "number",
    "maximum": 999999999999.99,
    "minimum": -999999999999.99,
    "description": "A JSON number with at most two decimal places (never a string).",
    "examples": [50, 120.35],
}
_MONEY_OUT_SCHEMA: dict[str, Any] = {
    "type": "number",
    "description": "An exact amount, written with two decimal places.",
    "examples": [120.00],
}


def _amount(value: Any) -> Decimal:
    kind = type(value)
    if kind is int:
        amount = Decimal(value)
    elif kind is Decimal:
        amount = value
    elif kind is bool:
        raise ValueError("must be a number, not a boolean")
    elif kind is str:
        raise ValueError("must be a JSON number such as 12.34, not a string")
    else:
        raise ValueError("must be a JSON number such as 12.34")
    if not amount.is_finite():
        raise ValueError("must be a finite number")
    if not within_limit(amount):  # by comparison: abs() overflows on 1E+999999999
        raise ValueError(f"must be at most {MAX_AMOUNT} in size")
    cents = exact_cents(amount)
    if cents is None:
        raise ValueError(f"can have at most 2 decimal places (got {value}); it is never rounded")
    return cents


Amount = Annotated[Decimal, PlainValidator(_amount), WithJsonSchema(_AMOUNT_SCHEMA)]


def no_surrounding_space(value: str) -> str:
    """An id as given, or refused: trimming it would act on one id and echo another."""
    if value != value.strip():
        raise ValueError("must not begin or end with spaces")
    return value


#: An account id in a body: refused (not trimmed) with spaces around it.
AccountIdField = Annotated[str, AfterValidator(no_surrounding_space)]
MoneyOut = Annotated[Decimal, WithJsonSchema(_MONEY_OUT_SCHEMA)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


# ── requests ──────────────────────────────────────────────────────────────────────────────


class OpenAccountRequest(_Body):
    customerId: str = Field(min_length=1, max_length=64, examples=["cust-123"])
    initialBalance: Amount = Field(default=Decimal("0"), json_schema_extra={"default": 0})


class MoneyRequest(_Body):
    amount: Amount
    description: str | None = Field(default=None, max_length=200, examples=["Paycheck"])


class TransferRequest(_Body):
    toAccountId: AccountIdField = Field(min_length=1, max_length=200)
    amount: Amount
    description: str | None = Field(default=None, max_length=200)


class CloseAccountRequest(_Body):
    reason: str | None = Field(default=None, max_length=200)


B = TypeVar("B", bound=_Body)


def parse_request(model: type[B], data: Any) -> B:
    """Validate a decoded body; a 400 names every wrong field."""
    if not isinstance(data, Mapping):
        raise ApiError(
            400,
            "Request body must be a JSON object.",
            {"errors": [{"field": "body", "message": "must be a JSON object"}]},
        )
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        errors = []
        for error in exc.errors(include_url=False):
            field = ".".join(str(part) for part in error["loc"]) or "body"
            message = str(error["msg"]).removeprefix("Value error, ")
            if error["type"] == "missing":
                message = "is required"
            errors.append({"field": field, "message": message})
        summary = "; ".join(f"{e['field']} {e['message']}" for e in errors)
        raise ApiError(400, f"Invalid request body: {summary}.", {"errors": errors}) from None


# ── responses ─────────────────────────────────────────────────────────────────────────────


class ErrorResponse(BaseModel):
    error: str = Field(examples=["Insufficient funds. Balance: $120.00, Requested: $200.00"])
    details: dict[str, Any] = Field(default_factory=dict)


class OpenAccountResponse(BaseModel):
    accountId: str
    balance: MoneyOut
    message: str


class MoneyResponse(BaseModel):
    accountId: str
    newBalance: MoneyOut
    message: str


class TransferResponse(BaseModel):
    transferId: str
    fromAccountId: str
    toAccountId: str
    amount: MoneyOut
    status: Literal["completed"]
    message: str


class CloseAccountResponse(BaseModel):
    accountId: str
    isOpen: Literal[False]
    message: str


class AccountReadModel(BaseModel):
    """The seed's ``AccountBalanceReadModel`` (without its internal ``_revision``)."""

    accountId: str
    customerId: str
    balance: MoneyOut | None = Field(
        description="null when this version cannot read the account's history (see "
        "balanceUnknown): a number that ignored part of it would be wrong"
    )
    balanceUnknown: str | None = Field(
        default=None, description="Why the balance is not shown; absent when it is"
    )
    isOpen: bool
    openedAt: str = Field(description="ISO-8601 UTC, e.g. 2026-11-26T08:00:00.123Z")
    closedAt: str | None = Field(default=None, description="Present once the account is closed")
    lastTransactionAt: str


class LedgerEntryModel(BaseModel):
    position: int = Field(description="Stream position of the event (1 = the opening)")
    globalPosition: int
    eventId: str
    time: str
    type: EntryKind  #: the ledger's own kinds, so a new kind reaches the API's schema
    description: str
    amount: MoneyOut = Field(description="Signed: money in positive, money out negative")
    balance: MoneyOut = Field(description="Running balance after this entry")
    clerkId: str | None
    counterpartyAccountId: str | None
    transferId: str | None
    requestId: str | None = Field(default=None, description="The request it was written for")
    reversesEventId: str | None = Field(
        default=None, description="A reversal: the event id of the line it undoes"
    )
    holdId: str | None = Field(default=None, description="Hold lines: the hold")
    heldAmount: MoneyOut | None = Field(default=None, description="Hold lines: the amount held")


class TransactionsPage(BaseModel):
    accountId: str
    balance: MoneyOut | None = Field(description="null with balanceUnknown, as for accounts")
    balanceUnknown: str | None = None
    total: int
    offset: int
    limit: int
    nextOffset: int | None = Field(description="Offset of the next page; null on the last")
    entries: list[LedgerEntryModel]


class EnvelopeModel(BaseModel):
    """A DeltaBase event as delivered (streamPosition 0-based, globalPosition 1-based)."""

    streamId: str
    streamPosition: int = Field(ge=0)
    globalPosition: int = Field(ge=1)
    eventId: str
    type: str
    data: dict[str, Any]
    metadata: dict[str, Any] | None = None
    createdAt: str


class WebhookRequest(BaseModel):
    events: list[EnvelopeModel] | None = None
    event: EnvelopeModel | None = Field(default=None, description="The older single-event form")


class WebhookResponse(BaseModel):
    success: bool
    processedEventCount: int
    confirmed: int = Field(description="Events of the delivery the store holds exactly as sent")
    readPosition: int = Field(description="The store position the read model has applied")
