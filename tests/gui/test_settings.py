"""Stored settings: QSettings round trip, and the dialog driven by keyboard as a clerk would."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractButton, QDialog, QLabel, QLineEdit, QWidget
from pytestqt.qtbot import QtBot

from bank_desktop.config import APP_NAME as APPLICATION
from bank_desktop.config import ORGANIZATION, StoredSettings, as_mapping, resolve_settings
from bank_desktop.config import load_stored_settings as load_settings
from bank_desktop.gui.settings import (
    RESTART_NOTE,
    SUPPORTED_STORE_PREFIXES,
    SettingsDialog,
    save_settings,
)

POSTGRES_URL = "postgresql://teller:s3cr3t-pw@db.branch.local/bank"
DELTABASE_URL = "deltabase+https://api.example.com/banking?apiKey=dbk_live_123"
SECRETS = ("s3cr3t-pw", "dbk_live_123")


@pytest.fixture(autouse=True)
def settings_file() -> Path:
    """QSettings writes under this test's XDG_CONFIG_HOME (set by tests/conftest.py).

    Qt reads XDG_CONFIG_HOME only the first time a QSettings is made in the process, so the
    environment variable alone would send every later test to the first test's folder;
    ``QSettings.setPath`` moves the user-scope location for each test.
    """
    config_home = Path(os.environ["XDG_CONFIG_HOME"])
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(config_home))
    return config_home / ORGANIZATION / f"{APPLICATION}.conf"


def _open(qtbot: QtBot, stored: StoredSettings) -> SettingsDialog:
    dialog = SettingsDialog(stored=stored)
    qtbot.addWidget(dialog)
    with qtbot.waitActive(dialog):
        dialog.open()
        dialog.activateWindow()
    return dialog


def _replace_text(edit: QLineEdit, text: str) -> None:
    """Select all in the field and type over it, as a clerk does."""
    edit.setFocus()
    QTest.keyClick(edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClick(edit, Qt.Key.Key_Backspace)
    QTest.keyClicks(edit, text)


def _visible_texts(widget: QWidget) -> list[str]:
    texts = [widget.windowTitle(), widget.toolTip(), widget.accessibleName()]
    for child in widget.findChildren(QWidget):
        texts += [child.toolTip(), child.accessibleName(), child.accessibleDescription()]
        if isinstance(child, QLineEdit):
            texts += [child.text(), child.placeholderText(), child.displayText()]
        elif isinstance(child, QLabel | QAbstractButton):
            texts.append(child.text())
    return texts


# ── QSettings ─────────────────────────────────────────────────────────────────────────────


def test_nothing_saved_loads_as_empty_settings() -> None:
    assert load_settings() == StoredSettings(store_url=None, clerk_id=None)


def test_settings_round_trip_through_the_users_settings_file(settings_file: Path) -> None:
    tricky = "postgresql://u:p%40ss,w;rd=#x@h:5432/db?sslmode=require&application_name=a,b"
    saved = StoredSettings(store_url=tricky, clerk_id="clerk-7")

    save_settings(saved)

    assert load_settings() == saved
    assert settings_file.is_file()
    assert QSettings(ORGANIZATION, APPLICATION).fileName() == str(settings_file)


@pytest.mark.skipif(os.name != "posix", reason="file modes are a POSIX matter")
def test_the_settings_file_is_readable_by_its_owner_only(settings_file: Path) -> None:
    old_umask = os.umask(0o022)
    try:
        save_settings(StoredSettings(store_url=POSTGRES_URL, clerk_id="clerk-7"))
        save_settings(StoredSettings(store_url=DELTABASE_URL, clerk_id="clerk-7"))
    finally:
        os.umask(old_umask)

    assert stat.S_IMODE(settings_file.stat().st_mode) == 0o600
    assert load_settings().store_url == DELTABASE_URL


def test_saving_none_removes_a_value() -> None:
    save_settings(StoredSettings(store_url=POSTGRES_URL, clerk_id="clerk-7"))

    save_settings(StoredSettings(store_url=None, clerk_id="clerk-7"))

    assert load_settings() == StoredSettings(store_url=None, clerk_id="clerk-7")


def test_as_mapping_feeds_resolve_settings_with_set_values_only() -> None:
    assert as_mapping(StoredSettings(store_url=None, clerk_id="clerk-7")) == {"clerk_id": "clerk-7"}
    mapping = as_mapping(StoredSettings(store_url="memory://", clerk_id="clerk-7"))

    resolved = resolve_settings(stored=mapping, env={})

    assert mapping == {"store_url": "memory://", "clerk_id": "clerk-7"}
    assert (resolved.store_url, resolved.clerk_id) == ("memory://", "clerk-7")


def test_the_repr_of_stored_settings_hides_the_secret() -> None:
    text = repr(StoredSettings(store_url=POSTGRES_URL, clerk_id="clerk-7"))

    assert "s3cr3t-pw" not in text
    assert "teller:***@db.branch.local" in text


# ── The dialog ────────────────────────────────────────────────────────────────────────────


def test_the_store_url_is_shown_masked(qtbot: QtBot) -> None:
    dialog = _open(qtbot, StoredSettings(store_url=DELTABASE_URL, clerk_id="clerk-7"))

    assert dialog.store_url_edit.objectName() == "storeUrlEdit"
    assert dialog.clerk_id_edit.objectName() == "clerkIdEdit"
    assert dialog.store_url_edit.text() == "deltabase+https://api.example.com/banking?apiKey=***"
    assert dialog.clerk_id_edit.text() == "clerk-7"
    note = dialog.findChild(QLabel, "restartNote")
    assert note is not None
    assert note.text() == RESTART_NOTE
    assert dialog.focusWidget() is dialog.store_url_edit


@pytest.mark.parametrize("url", [POSTGRES_URL, DELTABASE_URL])
def test_the_secret_never_appears_in_the_dialog(qtbot: QtBot, url: str) -> None:
    dialog = _open(qtbot, StoredSettings(store_url=url, clerk_id="clerk-7"))
    _replace_text(dialog.clerk_id_edit, "")
    QTest.keyClick(dialog.clerk_id_edit, Qt.Key.Key_Return)  # refused: an error is shown too

    assert dialog.form_error.isVisible()
    texts = "\n".join(_visible_texts(dialog))
    for secret in SECRETS:
        assert secret not in texts


def test_enter_with_the_url_unchanged_keeps_the_stored_secret(qtbot: QtBot) -> None:
    dialog = _open(qtbot, StoredSettings(store_url=POSTGRES_URL, clerk_id="clerk-7"))
    _replace_text(dialog.clerk_id_edit, "clerk-8")

    with qtbot.waitSignal(dialog.saved) as saved:
        QTest.keyClick(dialog.clerk_id_edit, Qt.Key.Key_Return)

    expected = StoredSettings(store_url=POSTGRES_URL, clerk_id="clerk-8")
    assert saved.args == [expected]
    assert load_settings() == expected
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert not dialog.isVisible()


def test_a_typed_url_replaces_the_stored_one(qtbot: QtBot) -> None:
    dialog = _open(qtbot, StoredSettings(store_url=POSTGRES_URL, clerk_id="clerk-7"))
    _replace_text(dialog.store_url_edit, DELTABASE_URL)

    with qtbot.waitSignal(dialog.saved) as saved:
        QTest.keyClick(dialog.store_url_edit, Qt.Key.Key_Enter)

    assert saved.args == [StoredSettings(store_url=DELTABASE_URL, clerk_id="clerk-7")]
    assert load_settings().store_url == DELTABASE_URL


def test_an_emptied_url_means_the_default_store(qtbot: QtBot) -> None:
    dialog = _open(qtbot, StoredSettings(store_url=POSTGRES_URL, clerk_id="clerk-7"))
    _replace_text(dialog.store_url_edit, "")

    with qtbot.waitSignal(dialog.saved):
        QTest.keyClick(dialog.store_url_edit, Qt.Key.Key_Return)

    assert load_settings() == StoredSettings(store_url=None, clerk_id="clerk-7")


def test_editing_around_the_mask_is_refused(qtbot: QtBot) -> None:
    dialog = _open(qtbot, StoredSettings(store_url=POSTGRES_URL, clerk_id="clerk-7"))
    dialog.store_url_edit.setFocus()
    QTest.keyClick(dialog.store_url_edit, Qt.Key.Key_End)
    QTest.keyClicks(dialog.store_url_edit, "2")  # .../bank2, but the password is still ***

    QTest.keyClick(dialog.store_url_edit, Qt.Key.Key_Return)

    assert dialog.isVisible()
    assert "***" in dialog.form_error.text()
    assert dialog.store_url_edit.text() == "postgresql://teller:***@db.branch.local/bank2"
    assert load_settings() == StoredSettings()


@pytest.mark.parametrize(
    ("clerk_id", "message"),
    [
        ("", "Clerk id is required."),
        ("c" * 65, "Clerk id is too long: at most 64 characters."),
    ],
)
@pytest.mark.x11
def test_an_invalid_clerk_id_is_shown_and_the_input_kept(
    qtbot: QtBot, clerk_id: str, message: str
) -> None:
    dialog = _open(qtbot, StoredSettings(store_url=None, clerk_id="clerk-7"))
    _replace_text(dialog.store_url_edit, "sqlite:///tmp/bank.db")
    _replace_text(dialog.clerk_id_edit, clerk_id)

    with qtbot.assertNotEmitted(dialog.saved):
        QTest.keyClick(dialog.clerk_id_edit, Qt.Key.Key_Return)

    assert dialog.isVisible()
    assert dialog.form_error.objectName() == "formError"
    assert dialog.form_error.isVisible()
    assert dialog.form_error.text() == message
    assert dialog.clerk_id_edit.property("invalid") is True
    assert dialog.clerk_id_edit.text() == clerk_id
    assert dialog.store_url_edit.text() == "sqlite:///tmp/bank.db"
    assert dialog.focusWidget() is dialog.clerk_id_edit
    assert load_settings() == StoredSettings()


def test_a_clerk_id_with_control_characters_is_refused(qtbot: QtBot) -> None:
    dialog = _open(qtbot, StoredSettings(store_url=None, clerk_id="clerk\x1b[31m"))

    QTest.keyClick(dialog.clerk_id_edit, Qt.Key.Key_Return)

    assert dialog.form_error.text() == "Clerk id must not contain control characters."


def test_typing_in_a_refused_field_clears_its_red_border(qtbot: QtBot) -> None:
    dialog = _open(qtbot, StoredSettings(store_url=None, clerk_id=None))
    QTest.keyClick(dialog.clerk_id_edit, Qt.Key.Key_Return)
    assert dialog.clerk_id_edit.property("invalid") is True

    QTest.keyClicks(dialog.clerk_id_edit, "clerk-9")

    assert dialog.clerk_id_edit.property("invalid") is False


def test_an_unsupported_store_url_is_explained(qtbot: QtBot) -> None:
    dialog = _open(qtbot, StoredSettings(store_url=None, clerk_id="clerk-7"))
    _replace_text(dialog.store_url_edit, "mysql://root:hunter2@db/bank")

    QTest.keyClick(dialog.store_url_edit, Qt.Key.Key_Return)

    assert dialog.isVisible()
    assert dialog.store_url_edit.property("invalid") is True
    for prefix in SUPPORTED_STORE_PREFIXES:
        assert prefix in dialog.form_error.text()
    assert "hunter2" not in dialog.form_error.text()
    assert dialog.store_url_edit.text() == "mysql://root:hunter2@db/bank"


def test_escape_cancels_without_saving(qtbot: QtBot) -> None:
    dialog = _open(qtbot, StoredSettings(store_url=POSTGRES_URL, clerk_id="clerk-7"))
    _replace_text(dialog.clerk_id_edit, "someone-else")

    with qtbot.assertNotEmitted(dialog.saved), qtbot.waitSignal(dialog.rejected):
        QTest.keyClick(dialog.clerk_id_edit, Qt.Key.Key_Escape)

    assert not dialog.isVisible()
    assert load_settings() == StoredSettings()


def test_the_dialog_loads_the_saved_settings_when_given_none(qtbot: QtBot) -> None:
    save_settings(StoredSettings(store_url=POSTGRES_URL, clerk_id="clerk-7"))

    dialog = SettingsDialog()
    qtbot.addWidget(dialog)

    assert dialog.store_url_edit.text() == "postgresql://teller:***@db.branch.local/bank"
    assert dialog.clerk_id_edit.text() == "clerk-7"
