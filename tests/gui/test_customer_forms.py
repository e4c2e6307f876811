"""Opening an account picks a registered customer by name, registers one inline, or takes a
raw customer id; a customer's details change through their own form. All by keyboard."""

from __future__ import annotations

from datetime import date

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QCheckBox, QLabel, QLineEdit, QWidget
from pytestqt.qtbot import QtBot

from bank_desktop.gui.forms.open_account import OpenAccountForm
from bank_desktop.gui.main_window import MainWindow
from tests.gui.conftest import (
    ALT,
    CTRL,
    SHIFT,
    active_dialog,
    focused,
    gone,
    press,
    replace_text,
    type_text,
)


def accounts(window: MainWindow) -> set[str]:
    return set(window.accounts_model.projection._rows)


def suggestions(form: OpenAccountForm) -> QWidget:
    assert form.completer is not None
    popup = form.completer.popup()
    assert popup is not None
    return popup


def suggested(form: OpenAccountForm) -> list[str]:
    assert form.completer is not None
    model = form.completer.suggestions
    return [str(model.index(row, 0).data()) for row in range(model.rowCount())]


def opened(qtbot: QtBot, window: MainWindow, before: set[str]) -> str:
    qtbot.waitUntil(lambda: len(accounts(window)) == len(before) + 1, timeout=10_000)
    (account,) = accounts(window) - before
    return account


def open_form(qtbot: QtBot) -> OpenAccountForm:
    press(qtbot, Qt.Key.Key_N, CTRL)
    form = active_dialog(qtbot)
    assert isinstance(form, OpenAccountForm)
    focused(qtbot, "customerIdEdit")
    return form


@pytest.mark.x11
def test_a_registered_customer_is_picked_by_part_of_the_name(
    qtbot: QtBot, window: MainWindow
) -> None:
    bank = window._context.bank
    ada = bank.register_customer("Ada Lovelace", "AB123456")
    bank.register_customer("Grace Hopper", "GH000001")
    before = accounts(window)
    qtbot.waitUntil(lambda: window.teller.customers.get(ada) is not None)

    form = open_form(qtbot)
    type_text(qtbot, "lovel")
    popup = suggestions(form)
    qtbot.waitUntil(popup.isVisible)
    assert suggested(form)[0].startswith("Ada Lovelace · national id AB123456")
    qtbot.keyClick(popup, Qt.Key.Key_Down)
    qtbot.keyClick(popup, Qt.Key.Key_Return)
    edit = focused(qtbot, "customerIdEdit")
    assert isinstance(edit, QLineEdit)
    qtbot.waitUntil(lambda: edit.text() == ada)
    info = form.findChild(QLabel, "customerInfo")
    assert info is not None
    assert "Ada Lovelace" in info.text()
    assert "0 accounts" in info.text()
    press(qtbot, Qt.Key.Key_Tab)
    focused(qtbot, "initialBalanceEdit")
    replace_text(qtbot, "50")
    press(qtbot, Qt.Key.Key_Return)

    account = opened(qtbot, window, before)
    assert window.accounts_model.projection.get(account).customer_id == ada  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: gone(form))


def test_a_raw_customer_id_and_enter_still_opens_the_account(
    qtbot: QtBot, window: MainWindow
) -> None:
    bank = window._context.bank
    bank.register_customer("Cust Omer", "CU000123")  # a name that holds the typed letters
    before = accounts(window)
    form = open_form(qtbot)
    type_text(qtbot, "cust-123")
    info = form.findChild(QLabel, "customerInfo")
    assert info is not None
    qtbot.waitUntil(lambda: "No registered customer" in info.text())
    press(qtbot, Qt.Key.Key_Return)
    account = opened(qtbot, window, before)
    assert window.accounts_model.projection.get(account).customer_id == "cust-123"  # type: ignore[union-attr]


def test_enter_with_suggestions_open_but_none_chosen_opens_for_the_text_as_typed(
    qtbot: QtBot, window: MainWindow
) -> None:
    bank = window._context.bank
    bank.register_customer("Zed Zedson", "ZZ000001")
    before = accounts(window)
    form = open_form(qtbot)
    type_text(qtbot, "zed")
    popup = suggestions(form)
    qtbot.waitUntil(popup.isVisible)
    qtbot.keyClick(popup, Qt.Key.Key_Return)
    account = opened(qtbot, window, before)
    assert window.accounts_model.projection.get(account).customer_id == "zed"  # type: ignore[union-attr]


def test_a_new_customer_is_registered_inline_and_a_refusal_names_the_field(
    qtbot: QtBot, window: MainWindow
) -> None:
    bank = window._context.bank
    bank.register_customer("Someone Else", "GH-000 001")
    before = accounts(window)
    form = open_form(qtbot)
    type_text(qtbot, "Grace Hopper")
    popup = suggestions(form)
    qtbot.waitUntil(popup.isVisible)
    assert suggested(form)[-1] == "Register “Grace Hopper” as a new customer…"
    qtbot.keyClick(popup, Qt.Key.Key_Up)  # the offer is the last suggestion
    qtbot.keyClick(popup, Qt.Key.Key_Return)

    name = focused(qtbot, "fullNameEdit")
    assert isinstance(name, QLineEdit)
    assert name.text() == "Grace Hopper"
    assert form.registering
    press(qtbot, Qt.Key.Key_Tab)
    focused(qtbot, "nationalIdEdit")
    type_text(qtbot, "gh000001")  # the other customer's id, written another way
    press(qtbot, Qt.Key.Key_Tab)
    focused(qtbot, "dateOfBirthEdit")
    type_text(qtbot, "1906-12-09")
    press(qtbot, Qt.Key.Key_Return)

    error = form.findChild(QLabel, "formError")
    assert error is not None
    qtbot.waitUntil(lambda: "already registered" in error.text(), timeout=10_000)
    national = focused(qtbot, "nationalIdEdit")  # the field to fix, input kept
    assert isinstance(national, QLineEdit)
    assert national.text() == "gh000001"
    assert accounts(window) == before
    assert len(window.session.model.customers) == 1  # type: ignore[union-attr]

    type_text(qtbot, "GH000002")
    press(qtbot, Qt.Key.Key_Return)
    account = opened(qtbot, window, before)
    qtbot.waitUntil(lambda: gone(form))
    row = window.accounts_model.projection.get(account)
    assert row is not None
    qtbot.waitUntil(lambda: row.customer_name == "Grace Hopper")
    customer = bank.get_customer(row.customer_id)
    assert customer.date_of_birth == date(1906, 12, 9)
    assert customer.national_id == "GH000002"


def test_the_new_customer_box_toggles_by_keyboard(qtbot: QtBot, window: MainWindow) -> None:
    form = open_form(qtbot)
    box = form.findChild(QCheckBox, "newCustomerCheck")
    assert box is not None
    press(qtbot, Qt.Key.Key_W, ALT)
    focused(qtbot, "fullNameEdit")
    assert box.isChecked()
    assert not form.customer.isEnabled()
    press(qtbot, Qt.Key.Key_W, ALT)
    focused(qtbot, "customerIdEdit")
    assert not box.isChecked()
    assert not form.fields.full_name.isVisible()


def test_a_customers_details_change_by_keyboard(qtbot: QtBot, window: MainWindow) -> None:
    bank = window._context.bank
    ada = bank.register_customer("Ada Lovelace", "AB123456", phone="+44 20 7946 0000")
    account = bank.open_account(ada, "1")
    raw = bank.open_account("cust-9", "1")
    qtbot.waitUntil(lambda: window.accounts_proxy.row_of(raw) is not None)
    assert window.select_account(raw)
    qtbot.waitUntil(lambda: not window.teller.customer_action.isEnabled())
    assert window.select_account(account)
    qtbot.waitUntil(window.teller.customer_action.isEnabled)

    press(qtbot, Qt.Key.Key_C, CTRL | SHIFT)
    form = active_dialog(qtbot)
    assert form.objectName() == "customerDetails"
    name = focused(qtbot, "fullNameEdit")
    assert isinstance(name, QLineEdit)
    assert name.text() == "Ada Lovelace"
    press(qtbot, Qt.Key.Key_Return)  # nothing changed yet
    error = form.findChild(QLabel, "formError")
    assert error is not None
    qtbot.waitUntil(lambda: "Nothing to save" in error.text())
    replace_text(qtbot, "Ada King")
    for _ in range(3):
        press(qtbot, Qt.Key.Key_Tab)
    phone = focused(qtbot, "phoneEdit")
    assert isinstance(phone, QLineEdit)
    assert phone.text() == "+44 20 7946 0000"
    press(qtbot, Qt.Key.Key_A, CTRL)
    press(qtbot, Qt.Key.Key_Delete)  # removed, recorded as cleared
    press(qtbot, Qt.Key.Key_Tab)
    focused(qtbot, "addressEdit")
    type_text(qtbot, "12 St James's Square, London")
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: gone(form), timeout=10_000)

    customer = bank.get_customer(ada)
    assert customer.full_name == "Ada King"
    assert customer.phone is None
    assert customer.address == "12 St James's Square, London"
    qtbot.waitUntil(lambda: "Ada King" in window.ledger_title.text())
    assert "Change of details for Ada Lovelace" in window.statusBar().currentMessage()
    assert QApplication.activeModalWidget() is None


def test_the_suggestions_model_passes_the_model_tester(
    qtbot: QtBot,
    qtmodeltester,  # type: ignore[no-untyped-def]
    window: MainWindow,
) -> None:
    bank = window._context.bank
    bank.register_customer("Ada Lovelace", "AB123456")
    bank.register_customer("Ada Byron", "AB654321")
    qtbot.waitUntil(lambda: len(window.teller.customers.search("ada")) == 2)
    form = open_form(qtbot)
    type_text(qtbot, "ada")
    assert form.completer is not None
    qtbot.waitUntil(lambda: form.completer.suggestions.rowCount() == 3)  # two, and the offer
    qtmodeltester.check(form.completer.suggestions)
