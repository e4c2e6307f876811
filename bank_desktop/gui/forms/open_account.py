"""Opening an account: for a registered customer picked by name, a new customer registered in
the same form, or any customer id typed as is (the seed's accounts name customers nobody
registered, and those keep working).

Typing in ``customerIdEdit`` suggests registered customers by part of their name or national
id (:class:`~bank_desktop.gui.customers.CustomerCompleter`); picking one puts its id in the
field, and the line under it says whose it is. A name that matches no one is offered for
registration: the form then asks for the new customer's details, and Enter registers them
and opens the account (two requests, each with its own fixed id, so a retry never registers
twice; if the opening fails after the registration, the form keeps the registered customer).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QWidget

from bank_desktop.application import BankService
from bank_desktop.application.ids import new_command_id
from bank_desktop.domain import format_money
from bank_desktop.gui.customers import CustomerCompleter, CustomerDirectory, looks_like_a_name
from bank_desktop.gui.forms.base import Action, CommandForm, Problem, amount_edit, line_edit
from bank_desktop.gui.forms.customer_forms import CustomerFields
from bank_desktop.gui.workers import BackgroundWork

HINT = "Type part of a name or national id to pick a registered customer, or a customer id."


class OpenAccountForm(CommandForm):
    """Customer and initial balance; succeeds with the new account id."""

    def __init__(
        self,
        bank: BankService,
        *,
        jobs: BackgroundWork,
        customers: CustomerDirectory | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("Open account", "Open account", jobs=jobs, parent=parent)
        self._bank = bank
        self._directory = customers
        self.register_command_id = new_command_id()
        self._registered: list[str] = []  #: the customer this form's request registered
        self.customer = line_edit("customerIdEdit", placeholder="name, national id or cust-123")
        self.add_field("&Customer:", self.customer, keys=("customerId",))
        self.customer_info = self.add_info("", HINT if customers is not None else "")
        self.customer_info.setObjectName("customerInfo")
        self.customer_info.setWordWrap(True)
        self.initial = amount_edit("initialBalanceEdit", "Initial balance", allow_zero=True)
        self.initial.setText("0.00")
        self.add_field("&Initial balance:", self.initial, keys=("initialBalance",))
        self.new_customer = QCheckBox("Register a ne&w customer")
        self.new_customer.setObjectName("newCustomerCheck")
        self.add_field("New:", self.new_customer)
        self.fields = CustomerFields(self)
        self.fields.set_visible(False)
        self.completer: CustomerCompleter | None = None
        if customers is not None:
            self.completer = CustomerCompleter(self.customer, customers, self.submit)
            self.completer.offer_taken.connect(self._register_typed)
        else:
            self.new_customer.setVisible(False)
            self.form.setRowVisible(self.new_customer, False)
        self.customer.textChanged.connect(self._customer_changed)
        self.new_customer.toggled.connect(self._mode_changed)

    @property
    def registering(self) -> bool:
        """Whether Enter registers a new customer (and then opens the account)."""
        return self.new_customer.isChecked()

    # ── the customer ──────────────────────────────────────────────────────────────────────

    def _customer_changed(self, text: str) -> None:
        directory = self._directory
        if directory is None or self.registering:
            return
        typed = text.strip()
        row = directory.get(typed) if typed else None
        if not typed:
            self.customer_info.setText(HINT)
        elif row is not None:
            self.customer_info.setText(directory.describe(row))
        else:
            self.customer_info.setText(
                f"No registered customer has the id “{typed}”: pick a suggestion (Down, Enter), "
                "or Enter opens the account for this id as typed."
            )
        self.fit_to_contents()

    def _register_typed(self, name: str) -> None:
        """The clerk took the offer to register the typed name."""
        self.fields.full_name.setText(name)
        self.new_customer.setChecked(True)

    def _mode_changed(self, registering: bool) -> None:
        self.fields.set_visible(registering)
        self.customer.setEnabled(not registering)
        if registering:
            typed = self.customer.text().strip()
            if looks_like_a_name(typed) and not self.fields.full_name.text():
                self.fields.full_name.setText(typed)  # what was typed is the name to register
            self.customer.clear()
            self.customer_info.setText("A new customer: their details below.")
            self.fields.full_name.setFocus(Qt.FocusReason.OtherFocusReason)
            self.fields.full_name.selectAll()
        else:
            self._customer_changed(self.customer.text())
            self.customer.setFocus(Qt.FocusReason.OtherFocusReason)
        self.show_error("")

    # ── submitting ────────────────────────────────────────────────────────────────────────

    def validate(self) -> Problem | None:
        if not self.registering and not self.customer.text().strip():
            return "Enter a customer: part of a name picks a registered one, or an id.", (
                self.customer
            )
        return super().validate()

    def command(self) -> Action:
        bank, key, initial = self._bank, self.command_id, self.initial.amount()
        if not self.registering:
            customer = self.customer.text().strip()
            return lambda: bank.open_account(customer, initial, command_id=key)
        details, register_key, registered = (
            self.fields.details(),
            self.register_command_id,
            self._registered,
        )

        def register_and_open() -> str:
            customer = bank.register_customer(
                details.full_name,
                details.national_id,
                date_of_birth=details.date_of_birth,
                phone=details.phone,
                address=details.address,
                command_id=register_key,
            )
            registered.append(customer)  # read on the GUI thread once this has returned
            return bank.open_account(customer, initial, command_id=key)

        return register_and_open

    def label(self) -> str:
        amount = format_money(self.initial.amount())
        if self.registering:
            name = self.fields.full_name.text().strip()
            return f"Registering {name} and opening an account with {amount}"
        customer = self.customer.text().strip()
        if self._directory is not None:
            customer = self._directory.name_or_id(customer)
        return f"Opening an account for {customer} with {amount}"

    def describe_result(self) -> Callable[[Any], str]:
        return lambda account_id: f"account {account_id}"

    def _failed(self, exc: BaseException) -> None:
        """A refusal after the new customer was registered keeps that customer: a retry
        then only opens the account."""
        if self._registered and self.registering:
            self.new_customer.setChecked(False)
            self.customer.setText(self._registered[-1])
        super()._failed(exc)
