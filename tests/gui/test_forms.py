"""Command forms: errors make room for themselves, never go stale, never contradict, and focus
the field to fix."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QLabel, QLineEdit, QWidget
from pytestqt.qtbot import QtBot

from bank_desktop.gui.main_window import MainWindow
from tests.gui.conftest import (
    active_dialog,
    focused,
    gone,
    open_account,
    press,
    replace_text,
    type_text,
)


def shown_errors(dialog: QDialog) -> list[str]:
    """Every error text the clerk can see in the form (the form's and the fields' own)."""
    return [
        label.text()
        for label in dialog.findChildren(QLabel)
        if label.isVisibleTo(dialog)
        and label.text()
        and (label.objectName() == "formError" or label.objectName().endswith("Problem"))
    ]


def not_squashed(dialog: QDialog) -> None:
    """Every field and the error get at least the height they ask for."""
    layout = dialog.layout()
    assert layout is not None
    needed = (
        layout.totalHeightForWidth(dialog.width())
        if layout.hasHeightForWidth()
        else layout.totalSizeHint().height()
    )
    assert dialog.height() >= needed, (dialog.height(), needed)
    for name in ("amountEdit", "descriptionEdit", "reasonEdit", "formError"):
        widget = dialog.findChild(QWidget, name)
        if widget is None or not widget.isVisibleTo(dialog):
            continue
        if isinstance(widget, QLabel) and widget.wordWrap():
            wanted = widget.heightForWidth(widget.width())
        else:
            wanted = widget.minimumSizeHint().height()
        assert widget.height() >= wanted, (name, widget.height(), wanted)


def test_a_refusal_makes_room_and_focuses_the_field_to_fix(
    qtbot: QtBot, window: MainWindow
) -> None:
    open_account(qtbot, window, "cust-1", "150")
    press(qtbot, Qt.Key.Key_F3)
    dialog = active_dialog(qtbot)
    focused(qtbot, "amountEdit")
    type_text(qtbot, "200")
    press(qtbot, Qt.Key.Key_Tab)
    focused(qtbot, "descriptionEdit")
    type_text(qtbot, "A rather long description of why the customer wants this cash today")
    height_before = dialog.height()
    press(qtbot, Qt.Key.Key_Return)
    error = dialog.findChild(QLabel, "formError")
    assert error is not None
    qtbot.waitUntil(lambda: "Insufficient funds" in error.text())

    amount = focused(qtbot, "amountEdit")  # the field to fix, with its text selected
    assert isinstance(amount, QLineEdit)
    assert amount.selectedText() == "200.00"  # tidied when the clerk left the field
    qtbot.waitUntil(lambda: dialog.height() > height_before)
    not_squashed(dialog)

    type_text(qtbot, "100")  # corrected: the refusal no longer applies
    assert shown_errors(dialog) == []
    press(qtbot, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: gone(dialog))


def test_never_two_errors_at_once(qtbot: QtBot, window: MainWindow) -> None:
    open_account(qtbot, window, "cust-1", "10")
    press(qtbot, Qt.Key.Key_F2)
    dialog = active_dialog(qtbot)
    focused(qtbot, "amountEdit")
    type_text(qtbot, "0.001")
    assert len(shown_errors(dialog)) == 1  # the field's own hint, as typed
    press(qtbot, Qt.Key.Key_Return)  # refused before sending
    assert len(shown_errors(dialog)) == 1, shown_errors(dialog)
    assert "2 decimal places" in shown_errors(dialog)[0]
    focused(qtbot, "amountEdit")
    not_squashed(dialog)

    replace_text(qtbot, "-5")
    assert len(shown_errors(dialog)) == 1, shown_errors(dialog)
    assert "positive" in shown_errors(dialog)[0]
    replace_text(qtbot, "5")
    assert shown_errors(dialog) == []
    press(qtbot, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: gone(dialog))


def test_the_close_form_makes_room_for_its_refusal(qtbot: QtBot, window: MainWindow) -> None:
    open_account(qtbot, window, "cust-1", "0")
    press(
        qtbot, Qt.Key.Key_X, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    )
    dialog = active_dialog(qtbot)
    focused(qtbot, "reasonEdit")
    type_text(qtbot, "x" * 300)  # too long a reason: refused by the rules
    press(qtbot, Qt.Key.Key_Return)
    error = dialog.findChild(QLabel, "formError")
    assert error is not None
    qtbot.waitUntil(lambda: bool(error.text()), timeout=5_000)
    focused(qtbot, "reasonEdit")
    qtbot.waitUntil(lambda: dialog.height() >= dialog.layout().totalHeightForWidth(dialog.width()))  # type: ignore[union-attr]
    not_squashed(dialog)
    press(qtbot, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: gone(dialog))


def test_the_statement_and_settings_dialogs_grow_for_an_error(qtbot: QtBot, tmp_path: Path) -> None:
    from bank_desktop.gui.settings import SettingsDialog, StoredSettings
    from bank_desktop.gui.statement_dialog import StatementDialog

    statement = StatementDialog(
        "account-1",
        lambda: None,  # type: ignore[arg-type,return-value]
        customer_id="cust-1",
        default_directory=tmp_path,
    )
    qtbot.addWidget(statement)
    statement.resize(statement.width(), statement.minimumSizeHint().height())
    statement.show()
    deep = tmp_path / ("a-folder-with-a-very-long-name-" * 6) / "statement.pdf"
    statement.path_edit.setText(str(deep))
    statement.export()  # refused: the folder does not exist
    assert "does not exist" in statement.error_label.text()
    not_squashed(statement)

    settings = SettingsDialog(stored=StoredSettings())
    qtbot.addWidget(settings)
    settings.show()
    settings.store_url_edit.setText("ftp://" + "x" * 80)
    settings.accept()  # refused: not a supported store
    assert settings.isVisible()
    not_squashed(settings)


def test_a_settings_error_goes_once_the_field_is_edited(qtbot: QtBot) -> None:
    from bank_desktop.gui.settings import SettingsDialog, StoredSettings

    dialog = SettingsDialog(stored=StoredSettings())
    qtbot.addWidget(dialog)
    with qtbot.waitActive(dialog):
        dialog.open()
        dialog.activateWindow()
    dialog.store_url_edit.setFocus()
    qtbot.keyClicks(dialog.store_url_edit, "ftp://nowhere")
    qtbot.keyClick(dialog.store_url_edit, Qt.Key.Key_Return)
    assert dialog.form_error.isVisibleTo(dialog)
    qtbot.keyClick(dialog.store_url_edit, Qt.Key.Key_Backspace)
    assert shown_errors(dialog) == []


def test_the_transfer_form_shows_the_source_balance_whole_suggestions_and_what_moved(
    qtbot: QtBot, window: MainWindow
) -> None:
    source = open_account(qtbot, window, "alice", "50")
    target = open_account(qtbot, window, "bob-the-builder-with-a-long-customer-name", "0")
    assert window.select_account(source)
    qtbot.waitUntil(lambda: window.selected_account() == source)
    press(qtbot, Qt.Key.Key_F4)
    dialog = active_dialog(qtbot)
    shown = dialog.findChild(QLabel, "balanceInfo")
    assert shown is not None
    assert shown.text() == "$50.00"

    field = focused(qtbot, "targetAccountEdit")
    type_text(qtbot, "builder")
    completer = field.completer()  # type: ignore[attr-defined]
    popup = completer.popup()
    qtbot.waitUntil(popup.isVisible)
    suggestion = popup.model().index(0, 0).data()
    assert target in suggestion
    needed = popup.fontMetrics().horizontalAdvance(suggestion)
    assert popup.viewport().width() >= needed, (popup.viewport().width(), needed)
    qtbot.keyClick(popup, Qt.Key.Key_Down)
    qtbot.keyClick(popup, Qt.Key.Key_Return)
    press(qtbot, Qt.Key.Key_Tab)
    focused(qtbot, "amountEdit")
    type_text(qtbot, "12.50")
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: gone(dialog))
    message = window.statusBar().currentMessage()
    assert f"$12.50 from {source} (alice) to {target}" in message, message
    assert "bob-the-builder" in message
