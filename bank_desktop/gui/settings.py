"""The dialog that edits the settings a clerk keeps between sessions (store URL, clerk id), and
their writing.

They are written with QSettings: on Linux ``$XDG_CONFIG_HOME/BankDesktop/bank-desktop.conf`` (by
default ``~/.config/...``), and read by :func:`bank_desktop.config.load_stored_settings`, without
Qt, so the command line reads them too. Qt works that path out once per process, so tests point
it at a temporary folder with ``QSettings.setPath`` rather than relying on ``XDG_CONFIG_HOME``.

The store URL may carry a password or an API key. The OS keyring would be the better home, but
``keyring`` has no backend on a headless Linux desk (see PLATFORM-NOTES), so the user's own
settings file is the fallback. QSettings creates it with the user's umask (0644 under the usual
umask 022, readable by other local accounts), so :func:`save_settings` restricts it to its
owner (0600) before writing. The full URL is never logged and never shown: the dialog shows it
through :func:`bank_desktop.eventstore.redact_url`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from bank_desktop.config import (
    APP_NAME,
    CLERK_ID_KEY,
    ORGANIZATION,
    STORE_URL_KEY,
    StoredSettings,
    load_stored_settings,
)
from bank_desktop.domain.errors import ValidationError
from bank_desktop.domain.text import optional_text, required_text
from bank_desktop.eventstore import redact_url
from bank_desktop.gui.forms.base import fit_title, grow_to_fit

#: Store URL beginnings the dialog accepts; server stores work once their adapters are set up.
SUPPORTED_STORE_PREFIXES: Final = (
    "memory:",
    "sqlite:",
    "postgresql://",
    "deltabase+http://",
    "deltabase+https://",
)
CLERK_ID_MAX_LENGTH: Final = 64
STORE_URL_MAX_LENGTH: Final = 2048
RESTART_NOTE: Final = (
    "A changed clerk id applies at once; a changed store takes effect after you restart the app."
)

_MASK: Final = "***"


def _open_settings() -> QSettings:
    return QSettings(
        QSettings.Format.NativeFormat, QSettings.Scope.UserScope, ORGANIZATION, APP_NAME
    )


def save_settings(settings: StoredSettings) -> None:
    """Write ``settings`` to disk now (``None`` removes a value); raises OSError on failure."""
    store = _open_settings()
    _restrict_to_owner(Path(store.fileName()))
    for key, value in ((STORE_URL_KEY, settings.store_url), (CLERK_ID_KEY, settings.clerk_id)):
        if value is None:
            store.remove(key)
        else:
            store.setValue(key, value)
    store.sync()
    if store.status() != QSettings.Status.NoError:
        raise OSError(f"Could not write the settings file {store.fileName()}")


def _restrict_to_owner(path: Path) -> None:
    """Create ``path`` (and its folder) readable by its owner only, before a secret goes in."""
    if os.name != "posix":
        return  # on Windows the file lives in the user's own profile (or the registry)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))  # never truncates an existing file
    os.chmod(path, 0o600)  # QSettings keeps the mode of an existing file when it rewrites it


def parse_store_url(text: str) -> str | None:
    """The trimmed store URL, ``None`` when empty; ValidationError for an unsupported one."""
    url = optional_text(text, "Store URL", max_length=STORE_URL_MAX_LENGTH)
    if url is None:
        return None
    if not url.lower().startswith(SUPPORTED_STORE_PREFIXES):
        raise ValidationError(
            "Store URL must start with one of: " + ", ".join(SUPPORTED_STORE_PREFIXES) + ".",
            {"field": "Store URL"},
        )
    return url


class SettingsDialog(QDialog):
    """Edits the stored settings (loaded when ``stored`` is not given); Enter saves, Esc cancels.

    The store URL is shown masked. Leaving the field as shown keeps the saved URL with its
    secret; typing a new URL replaces it. Emits ``saved`` with the new settings after writing.
    Open it with ``open()``.
    """

    saved = Signal(object)  #: StoredSettings

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        stored: StoredSettings | None = None,
        clerk_in_effect: str | None = None,
    ) -> None:
        super().__init__(parent)
        self._stored = load_stored_settings() if stored is None else stored
        self._masked_url = (
            "" if self._stored.store_url is None else redact_url(self._stored.store_url)
        )
        self.setObjectName("settingsDialog")
        self.setWindowTitle("Settings")
        fit_title(self)

        self.store_url_edit = QLineEdit(self._masked_url)
        self.store_url_edit.setObjectName("storeUrlEdit")
        self.store_url_edit.setPlaceholderText("Empty: the embedded store in your data folder")
        self.store_url_edit.setToolTip(
            "Supported: " + ", ".join(SUPPORTED_STORE_PREFIXES) + ". Passwords and keys "
            "are shown as ***; leave the field as it is to keep them."
        )
        # The clerk the window records now (a flag, the environment or the default may set
        # it), not only what was saved: the clerk sees who they are working as.
        self.clerk_id_edit = QLineEdit(clerk_in_effect or self._stored.clerk_id or "")
        self.clerk_id_edit.setObjectName("clerkIdEdit")
        self.clerk_id_edit.setPlaceholderText("Your clerk id, recorded on every change you make")
        self.clerk_id_edit.setToolTip(
            "The clerk id recorded on every change you make from now on (it applies at once)"
        )

        self.form_error = QLabel()
        self.form_error.setObjectName("formError")
        self.form_error.setWordWrap(True)
        self.form_error.setTextFormat(Qt.TextFormat.PlainText)
        self.form_error.setAccessibleName("Error")
        self.form_error.hide()

        note = QLabel(RESTART_NOTE)
        note.setObjectName("restartNote")
        note.setWordWrap(True)

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setDefault(True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)

        form = QFormLayout()
        store_label = QLabel("&Store URL:")
        store_label.setBuddy(self.store_url_edit)
        clerk_label = QLabel("&Clerk id:")
        clerk_label.setBuddy(self.clerk_id_edit)
        form.addRow(store_label, self.store_url_edit)
        form.addRow(clerk_label, self.clerk_id_edit)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.form_error)
        layout.addWidget(note)
        layout.addWidget(buttons)

        for edit in (self.store_url_edit, self.clerk_id_edit):
            edit.textEdited.connect(lambda _text: self._show_error(None, ""))  # now stale
        self.store_url_edit.setFocus()
        self.resize(520, self.sizeHint().height())

    def accept(self) -> None:
        """Validate, save and close; on a problem show it and keep everything typed."""
        self._show_error(None, "")
        try:
            store_url = self._chosen_store_url()
        except ValidationError as exc:
            self._show_error(self.store_url_edit, exc.message)
            return
        try:
            clerk_id = required_text(
                self.clerk_id_edit.text(), "Clerk id", max_length=CLERK_ID_MAX_LENGTH
            )
        except ValidationError as exc:
            self._show_error(self.clerk_id_edit, exc.message)
            return
        result = StoredSettings(store_url=store_url, clerk_id=clerk_id)
        try:
            save_settings(result)
        except OSError as exc:
            self._show_error(None, f"The settings could not be saved: {exc}")
            return
        self.saved.emit(result)
        super().accept()

    def _chosen_store_url(self) -> str | None:
        text = self.store_url_edit.text()
        if self._stored.store_url is not None and text == self._masked_url:
            return self._stored.store_url  # unchanged: keep the secret the mask hides
        if _MASK in self._masked_url and _MASK in text:
            raise ValidationError(
                "The store URL was edited but still contains *** where its password or key "
                "was hidden: type the whole URL with its password or key, or press Esc to "
                "keep the saved one.",
                {"field": "Store URL"},
            )
        return parse_store_url(text)

    def _show_error(self, field: QLineEdit | None, message: str) -> None:
        for edit in (self.store_url_edit, self.clerk_id_edit):
            _mark_invalid(edit, edit is field)
        self.form_error.setText(message)
        self.form_error.setVisible(bool(message))
        if field is not None:
            field.setFocus()
        grow_to_fit(self)


def _mark_invalid(edit: QLineEdit, invalid: bool) -> None:
    """Set the ``invalid`` property the style sheet draws as a red border, and repaint."""
    if bool(edit.property("invalid")) == invalid:
        return
    edit.setProperty("invalid", invalid)
    style = edit.style()
    style.unpolish(edit)
    style.polish(edit)
    edit.update()
