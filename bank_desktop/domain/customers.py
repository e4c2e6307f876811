"""The customer decider: a customer registered once, their details changed by recorded events.

A customer is a stream of its own (``customer-…``); details are never overwritten in place:
each change is an event naming only what changed, so the history says who changed what when.
Accounts refer to customers by id and still accept any id (the seed's accounts name customers
nobody registered), so this decider knows nothing of accounts.

That a national id belongs to one customer only is not this stream's to decide (two
registrations race on two different streams): :mod:`~bank_desktop.domain.national_ids`
decides it on a stream per national id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import ClassVar, Final, Literal, TypeVar, assert_never

from bank_desktop.domain.customer_fields import (
    OPTIONAL_FIELDS,
    checked_address,
    checked_birth_date,
    checked_full_name,
    checked_national_id,
    checked_phone,
)
from bank_desktop.domain.errors import (
    CustomerNotFoundError,
    IllegalStateError,
    UnreadableHistoryError,
    ValidationError,
)
from bank_desktop.domain.history import UnrecognizedEvent

T = TypeVar("T")
CustomerStatus = Literal["not_found", "registered"]
#: The fields a change may name, in the order messages list them.
CHANGEABLE: Final = ("full_name", "national_id", *OPTIONAL_FIELDS)

# ── Commands ──────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class RegisterCustomer:
    type: ClassVar[str] = "customer.register"
    customer_id: str
    full_name: str
    national_id: str
    date_of_birth: date | None
    phone: str | None
    address: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class ChangeCustomerDetails:
    """Change some details: ``None`` leaves a field as it is; a name in ``cleared`` removes
    an optional one (date of birth, phone, address)."""

    type: ClassVar[str] = "customer.change_details"
    customer_id: str
    full_name: str | None
    national_id: str | None
    date_of_birth: date | None
    phone: str | None
    address: str | None
    at: datetime
    cleared: tuple[str, ...] = ()


CustomerCommand = RegisterCustomer | ChangeCustomerDetails

# ── Events ────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class CustomerRegistered:
    type: ClassVar[str] = "customer.registered"
    customer_id: str
    full_name: str
    national_id: str
    date_of_birth: date | None
    phone: str | None
    address: str | None
    registered_at: datetime


@dataclass(frozen=True, slots=True)
class CustomerDetailsChanged:
    """What changed, and only that (None: unchanged); ``cleared`` names removed fields."""

    type: ClassVar[str] = "customer.details_changed"
    customer_id: str
    changed_at: datetime
    full_name: str | None = None
    national_id: str | None = None
    date_of_birth: date | None = None
    phone: str | None = None
    address: str | None = None
    cleared: tuple[str, ...] = ()
    #: The national id before this change, when it changes (its claim is then released).
    previous_national_id: str | None = None


CustomerEvent = CustomerRegistered | CustomerDetailsChanged
CustomerHistoryEvent = CustomerEvent | UnrecognizedEvent
CUSTOMER_EVENT_TYPES: tuple[str, ...] = (CustomerRegistered.type, CustomerDetailsChanged.type)

# ── State ─────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class CustomerState:
    """A customer as their stream says now."""

    customer_id: str | None = None
    full_name: str = ""
    national_id: str = ""
    date_of_birth: date | None = None
    phone: str | None = None
    address: str | None = None
    status: CustomerStatus = "not_found"
    registered_at: datetime | None = None
    changed_at: datetime | None = None
    unrecognized: str | None = None

    @property
    def exists(self) -> bool:
        return self.status != "not_found"


def initial_state() -> CustomerState:
    return CustomerState()


# ── decide ────────────────────────────────────────────────────────────────────────────────


def decide(command: CustomerCommand, state: CustomerState) -> list[CustomerEvent]:
    if state.unrecognized is not None:
        raise UnreadableHistoryError(command.customer_id, "Customer", state.unrecognized)
    match command:
        case RegisterCustomer():
            return [_register(command, state)]
        case ChangeCustomerDetails():
            return [_change(command, state)]
        case _:
            assert_never(command)


def _register(command: RegisterCustomer, state: CustomerState) -> CustomerRegistered:
    if state.exists:
        raise IllegalStateError(
            f"Customer {command.customer_id} is already registered.",
            {"customerId": command.customer_id},
            state="registered",
            action="register a customer",
        )
    return CustomerRegistered(
        customer_id=command.customer_id,
        full_name=checked_full_name(command.full_name),
        national_id=checked_national_id(command.national_id),
        date_of_birth=checked_birth_date(command.date_of_birth, command.at),
        phone=checked_phone(command.phone),
        address=checked_address(command.address),
        registered_at=command.at,
    )


def _change(command: ChangeCustomerDetails, state: CustomerState) -> CustomerDetailsChanged:
    if not state.exists:
        raise CustomerNotFoundError(command.customer_id, "change customer details")
    unknown = [name for name in command.cleared if name not in OPTIONAL_FIELDS]
    if unknown:
        raise ValidationError(
            f"Only {', '.join(OPTIONAL_FIELDS)} can be cleared (not {', '.join(unknown)}).",
            {"cleared": list(command.cleared)},
        )
    full_name = _changed(
        state.full_name, None if command.full_name is None else checked_full_name(command.full_name)
    )
    national_id = None
    if command.national_id is not None:
        national_id = _changed(state.national_id, checked_national_id(command.national_id))
    birth = _changed(state.date_of_birth, checked_birth_date(command.date_of_birth, command.at))
    phone = _changed(state.phone, checked_phone(command.phone))
    address = _changed(state.address, checked_address(command.address))
    given = {
        "date_of_birth": command.date_of_birth,
        "phone": command.phone,
        "address": command.address,
    }
    both = [name for name in command.cleared if given.get(name) is not None]
    if both:
        raise ValidationError(
            f"{both[0].replace('_', ' ').capitalize()} cannot be both changed and cleared.",
            {"field": both[0]},
        )
    current = {"date_of_birth": state.date_of_birth, "phone": state.phone, "address": state.address}
    cleared = tuple(name for name in OPTIONAL_FIELDS if name in command.cleared and current[name])
    if not (full_name or national_id or birth or phone or address or cleared):
        raise ValidationError(
            f"Nothing to change: the details given are the ones customer "
            f"{command.customer_id} already has.",
            {"customerId": command.customer_id},
        )
    return CustomerDetailsChanged(
        customer_id=command.customer_id,
        changed_at=command.at,
        full_name=full_name,
        national_id=national_id,
        date_of_birth=birth,
        phone=phone,
        address=address,
        cleared=cleared,
        previous_national_id=state.national_id if national_id is not None else None,
    )


def _changed(current: T | None, new: T | None) -> T | None:
    """``new`` when it differs from ``current``; None when nothing changes."""
    return None if new is None or new == current else new


# ── evolve ────────────────────────────────────────────────────────────────────────────────


def evolve(state: CustomerState, event: CustomerHistoryEvent) -> CustomerState:
    match event:
        case CustomerRegistered():
            return CustomerState(
                customer_id=event.customer_id,
                full_name=event.full_name,
                national_id=event.national_id,
                date_of_birth=event.date_of_birth,
                phone=event.phone,
                address=event.address,
                status="registered",
                registered_at=event.registered_at,
                changed_at=event.registered_at,
                unrecognized=state.unrecognized,
            )
        case CustomerDetailsChanged():
            cleared = set(event.cleared)
            return CustomerState(
                customer_id=state.customer_id,
                full_name=event.full_name or state.full_name,
                national_id=event.national_id or state.national_id,
                date_of_birth=None
                if "date_of_birth" in cleared
                else event.date_of_birth or state.date_of_birth,
                phone=None if "phone" in cleared else event.phone or state.phone,
                address=None if "address" in cleared else event.address or state.address,
                status=state.status,
                registered_at=state.registered_at,
                changed_at=event.changed_at,
                unrecognized=state.unrecognized,
            )
        case UnrecognizedEvent():
            if state.unrecognized is not None:
                return state
            return CustomerState(
                state.customer_id,
                state.full_name,
                state.national_id,
                state.date_of_birth,
                state.phone,
                state.address,
                state.status,
                state.registered_at,
                state.changed_at,
                event.describe(),
            )
        case _:
            assert_never(event)
