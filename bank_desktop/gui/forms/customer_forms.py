"""A customer's details in a form: registering one (inline, in the open-account form) and
changing one's details (recorded as a change, never overwritten in place).

The rules for each detail are the domain's (:mod:`~bank_desktop.domain.customer_fields`): a
refusal names its field, and the form puts the focus on it with the input kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from PySide6.QtCore import QDate
from PySide6.QtWidgets import QLineEdit, QWidget

from bank_desktop.application import BankService
from bank_desktop.application.projections.customers import CustomerRow
from bank_desktop.domain import ValidationError
from bank_desktop.domain.customer_fields import parse_birth_date
from bank_desktop.domain.customers import CustomerState
from bank_desktop.gui.customers import CustomerDirectory
from bank_desktop.gui.forms.base import Action, CommandForm, line_edit
from bank_desktop.gui.statement_dialog import DateField


@dataclass(frozen=True, slots=True)
class Details:
    """What the clerk typed about a customer (optional details None when left empty)."""

    full_name: str
    national_id: str
    date_of_birth: date | None
    phone: str | None
    address: str | None


class CustomerFields:
    """Full name, national id, date of birth, phone and address as rows of a command form."""

    def __init__(self, form: CommandForm) -> None:
        self.full_name = line_edit("fullNameEdit", placeholder="Ada Lovelace")
        self.national_id = line_edit("nationalIdEdit", placeholder="AB123456")
        self.date_of_birth = DateField(QDate())
        self.date_of_birth.setObjectName("dateOfBirthEdit")
        self.date_of_birth.setPlaceholderText("yyyy-mm-dd (optional)")
        self.phone = line_edit("phoneEdit", placeholder="optional")
        self.address = line_edit("addressEdit", placeholder="optional")
        form.add_field("Full &name:", self.full_name, keys=("fullName",))
        form.add_field("National &id:", self.national_id, keys=("nationalId",))
        form.add_field("Date of &birth:", self.date_of_birth, keys=("dateOfBirth",))
        form.add_field("&Phone:", self.phone)
        form.add_field("Add&ress:", self.address)
        self._form = form

    @property
    def widgets(self) -> tuple[QLineEdit, ...]:
        return (self.full_name, self.national_id, self.date_of_birth, self.phone, self.address)

    def set_visible(self, visible: bool) -> None:
        for widget in self.widgets:
            self._form.form.setRowVisible(widget, visible)

    def fill(self, row: CustomerRow) -> None:
        self.full_name.setText(row.full_name)
        self.national_id.setText(row.national_id)
        birth = row.date_of_birth
        self.date_of_birth.setDate(
            QDate(birth.year, birth.month, birth.day) if birth is not None else QDate()
        )
        self.phone.setText(row.phone or "")
        self.address.setText(row.address or "")

    def details(self) -> Details:
        """The typed details; a date of birth that is not a date raises ValidationError."""
        birth_text = self.date_of_birth.text().strip()
        return Details(
            self.full_name.text().strip(),
            self.national_id.text().strip(),
            parse_birth_date(birth_text) if birth_text else None,
            self.phone.text().strip() or None,
            self.address.text().strip() or None,
        )


class CustomerDetailsForm(CommandForm):
    """Change a registered customer's details; only what differs is recorded, and an
    optional detail emptied is removed. Succeeds with the customer as changed."""

    def __init__(
        self,
        bank: BankService,
        row: CustomerRow,
        *,
        directory: CustomerDirectory,
        jobs: Any,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(f"Customer – {row.full_name}", "Save changes", jobs=jobs, parent=parent)
        self.setObjectName("customerDetails")
        self._bank = bank
        self._row = row
        self.add_info("Customer id:", row.customer_id)
        accounts = directory.accounts_of(row.customer_id)
        self.add_info("Accounts:", ", ".join(accounts) if accounts else "none yet").setWordWrap(
            True
        )
        self.fields = CustomerFields(self)
        self.fields.fill(row)
        self._before = Details(
            row.full_name, row.national_id, row.date_of_birth, row.phone, row.address
        )

    def changes(self) -> dict[str, Any]:
        """The keyword arguments of ``change_customer_details`` for what the clerk changed."""
        now, before = self.fields.details(), self._before
        changed: dict[str, Any] = {}
        cleared: list[str] = []
        for name in ("full_name", "national_id", "date_of_birth", "phone", "address"):
            new, old = getattr(now, name), getattr(before, name)
            if new == old:
                continue
            if new is None:  # an optional detail emptied: removed
                cleared.append(name)
            else:  # (an emptied name or national id is refused by the rules, naming it)
                changed[name] = new
        if cleared:
            changed["clear"] = tuple(cleared)
        if not changed:
            raise ValidationError("Nothing to save: change a detail first.", {"field": "Full name"})
        return changed

    def command(self) -> Action:
        bank, key, customer = self._bank, self.command_id, self._row.customer_id
        changes = self.changes()
        return lambda: bank.change_customer_details(customer, **changes, command_id=key)

    def label(self) -> str:
        return f"Change of details for {self._row.full_name} ({self._row.customer_id})"

    def describe_result(self) -> Callable[[Any], str]:
        def describe(state: CustomerState) -> str:
            return f"now {state.full_name}, national id {state.national_id}"

        return describe
