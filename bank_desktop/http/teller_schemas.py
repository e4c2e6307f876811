"""Bodies of the teller's-day endpoints (customers, reversals, holds, journal, as-of)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from bank_desktop.http.schemas import AccountIdField, Amount, MoneyOut, _Body


class RegisterCustomerRequest(_Body):
    fullName: str = Field(min_length=1, max_length=120, examples=["Ada Lovelace"])
    nationalId: str = Field(min_length=1, max_length=32, examples=["AB123456"])
    dateOfBirth: str | None = Field(default=None, max_length=40, examples=["1990-12-10"])
    phone: str | None = Field(default=None, max_length=32)
    address: str | None = Field(default=None, max_length=300)


class ChangeCustomerRequest(_Body):
    """A change of details (PATCH): a field given changes, ``null`` removes an optional detail
    (``dateOfBirth``, ``phone``, ``address``), a field left out stays as it is."""

    fullName: str | None = Field(default=None, min_length=1, max_length=120)
    nationalId: str | None = Field(default=None, min_length=1, max_length=32)
    dateOfBirth: str | None = Field(default=None, max_length=40, examples=["1990-12-10"])
    phone: str | None = Field(default=None, max_length=32)
    address: str | None = Field(default=None, max_length=300)


class ReversalRequest(_Body):
    eventId: AccountIdField = Field(
        min_length=1, max_length=200, description="The event id of the deposit or withdrawal"
    )
    reason: str | None = Field(default=None, max_length=200, examples=["Keyed 500 for 50"])


class HoldRequest(_Body):
    amount: Amount
    reason: str | None = Field(default=None, max_length=200, examples=["Cheque clearing"])
    expiresAt: str | None = Field(
        default=None,
        max_length=60,
        description="ISO-8601 time with its zone (2026-11-30T17:00:00Z) after which the hold "
        "no longer counts",
    )


class CustomerDetails(BaseModel):
    customerId: str
    fullName: str
    nationalId: str
    dateOfBirth: str | None = None
    phone: str | None = None
    address: str | None = None


class CustomerModel(CustomerDetails):
    registeredAt: str
    changedAt: str
    accounts: list[str] = Field(description="Accounts opened for the customer")


class RegisterCustomerResponse(BaseModel):
    customerId: str
    fullName: str
    nationalId: str
    message: str


class ChangeCustomerResponse(CustomerDetails):
    changedAt: str
    message: str


class ReversalResponse(BaseModel):
    accountId: str
    reversesEventId: str
    newBalance: MoneyOut
    message: str


class HoldModel(BaseModel):
    holdId: str
    amount: MoneyOut
    reason: str
    placedAt: str
    expiresAt: str | None = None


class HoldResponse(BaseModel):
    accountId: str
    holdId: str
    availableBalance: MoneyOut
    message: str


class HoldsResponse(BaseModel):
    accountId: str
    balance: MoneyOut
    availableBalance: MoneyOut
    holds: list[HoldModel]


class JournalResponse(BaseModel):
    date: str
    timeZone: str
    start: str
    end: str
    clerkId: str | None
    lines: list[dict[str, Any]]
    totals: dict[str, dict[str, Any]]
    transfers: int
    openingTotal: MoneyOut = Field(description="Sum of every balance when the day began")
    closingTotal: MoneyOut = Field(description="Sum of every balance when the day ended")
    net: MoneyOut
    othersNet: MoneyOut = Field(description="With clerk=, the other clerks' net")
    reconciles: bool
    skipped: int


class AsOfResponse(BaseModel):
    accountId: str
    asOf: str
    at: str = Field(description="The end of that day in the zone asked for")
    timeZone: str
    status: str
    balance: MoneyOut
    availableBalance: MoneyOut
    holds: list[HoldModel]
    entries: list[dict[str, Any]]
