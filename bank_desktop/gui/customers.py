"""Customers as the window's forms look them up: by name, national id or id, in memory.

A :class:`CustomerDirectory` reads the read model the window shows (the customers projection
and its search index, the balances for their accounts); it is used on the GUI thread only,
where the read model is applied, and never waits on the store: a search over 100,000
customers takes a few milliseconds (``bench/customer_search.py``).

:class:`CustomerCompleter` makes a line edit pick a registered customer by typing part of
the name or national id (case and accents ignored): the suggestions are the index's best
matches, recomputed as the clerk types, and picking one puts its customer id in the field. A
typed name that matches no one is offered for registration instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from PySide6.QtCore import (
    QAbstractListModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QCompleter, QLineEdit, QWidget

from bank_desktop.application.projections import ReadModel
from bank_desktop.application.projections.customers import CustomerRow

#: Suggestions shown at most (the best matches first).
SUGGESTIONS: Final = 12
Index = QModelIndex | QPersistentModelIndex


class CustomerDirectory:
    """Registered customers of the read model on screen (None before it has loaded)."""

    def __init__(self, model: Callable[[], ReadModel | None]) -> None:
        self._model = model

    def search(self, text: str, limit: int = SUGGESTIONS) -> list[CustomerRow]:
        model = self._model()
        return [] if model is None else model.customers.search(text, limit=limit)

    def get(self, customer_id: str) -> CustomerRow | None:
        model = self._model()
        return None if model is None else model.customers.get(customer_id.strip())

    def accounts_of(self, customer_id: str) -> tuple[str, ...]:
        model = self._model()
        return () if model is None else model.balances.accounts_of(customer_id)

    def describe(self, row: CustomerRow) -> str:
        """``Ada Lovelace · national id AB123456 · 2 accounts``."""
        count = len(self.accounts_of(row.customer_id))
        plural = "" if count == 1 else "s"
        return f"{row.full_name} · national id {row.national_id} · {count} account{plural}"

    def name_or_id(self, customer_id: str) -> str:
        """The registered name, or the id as typed."""
        row = self.get(customer_id)
        return row.full_name if row is not None else customer_id


def looks_like_a_name(text: str) -> bool:
    """Whether typed text could be a new customer's name (letters, no digits): ids and
    national ids have digits, and get no offer to register them as a name."""
    cleaned = text.strip()
    return len(cleaned) >= 2 and not any(ch.isdigit() for ch in cleaned)


class CustomerSuggestions(QAbstractListModel):
    """The best matches for the typed text, then (for a name) the offer to register it.

    The display role reads ``Ada Lovelace · national id AB123456 · 1 account``; the edit
    role, which the completer puts in the field, is the customer id (the offer's is empty,
    so it never matches what was typed and is never pre-selected).
    """

    def __init__(self, directory: CustomerDirectory, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._directory = directory
        self._rows: list[CustomerRow] = []
        self._offer: str | None = None

    def search(self, text: str) -> None:
        self.beginResetModel()
        self._rows = self._directory.search(text) if text.strip() else []
        self._offer = text.strip() if looks_like_a_name(text) else None
        self.endResetModel()

    def is_offer(self, index: Index) -> bool:
        return index.isValid() and self._offer is not None and index.row() == len(self._rows)

    @property
    def offered_name(self) -> str | None:
        return self._offer

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        if parent.isValid():
            return 0
        return len(self._rows) + (1 if self._offer is not None else 0)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < self.rowCount():
            return None
        if self.is_offer(index):
            if role == Qt.ItemDataRole.DisplayRole:
                return f"Register “{self._offer}” as a new customer…"
            if role == Qt.ItemDataRole.EditRole:
                return ""
            return None
        row = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._directory.describe(row)
        if role == Qt.ItemDataRole.EditRole:
            return row.customer_id
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.customer_id
        return None


class CustomerCompleter(QCompleter):
    """Completes ``edit`` with registered customers by part of their name or national id.

    Enter or Tab in the suggestions with none highlighted closes them and goes on as the key
    would in the form (``submit``, the next field): a raw customer id typed and Enter still
    opens the account. ``offer_taken`` says the clerk chose to register the typed name.
    """

    offer_taken = Signal(str)

    def __init__(
        self, edit: QLineEdit, directory: CustomerDirectory, submit: Callable[[], None]
    ) -> None:
        self.suggestions = CustomerSuggestions(directory)
        super().__init__(self.suggestions, edit)
        self.suggestions.setParent(self)
        self._edit = edit
        self._submit = submit
        self.setCompletionMode(QCompleter.CompletionMode.UnfilteredPopupCompletion)
        self.setCompletionRole(Qt.ItemDataRole.EditRole)
        self.setMaxVisibleItems(SUGGESTIONS + 1)
        edit.textEdited.connect(self.suggestions.search)  # before the line edit completes
        edit.setCompleter(self)
        self.activated[QModelIndex].connect(self._chosen)  # type: ignore[index]  # overloaded
        popup = self.popup()
        assert popup is not None  # QCompleter makes its list view on first use
        popup.setObjectName("customerSuggestions")
        popup.setMinimumWidth(460)
        popup.installEventFilter(self)  # after the completer's own: this one runs first

    def _chosen(self, index: QModelIndex) -> None:
        if self.suggestions.is_offer(index):
            self.offer_taken.emit(self.suggestions.offered_name or "")

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        popup = self.popup()
        if popup is not None and watched is popup and event.type() == QEvent.Type.Hide:
            # The form is the active window again, for the platform too: the offscreen one
            # otherwise still holds the hidden list as its focus window and hands it the
            # activation later, leaving the form without keyboard focus.
            self._edit.window().activateWindow()
        if (
            popup is not None
            and watched is popup
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and not popup.currentIndex().isValid()
        ):
            key = event.key()
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                popup.hide()
                self._submit()
                return True
            if key in (Qt.Key.Key_Tab, Qt.Key.Key_Backtab):
                popup.hide()
                self._next_field(forward=key == Qt.Key.Key_Tab)
                return True
        return super().eventFilter(watched, event)

    def _next_field(self, *, forward: bool) -> None:
        """Move the focus on as Tab would have, had the suggestions not been open."""
        widget: QWidget | None = self._edit
        window = self._edit.window()
        while True:
            assert widget is not None
            widget = widget.nextInFocusChain() if forward else widget.previousInFocusChain()
            if widget is None or widget is self._edit:
                return
            takes_tab = bool(widget.focusPolicy() & Qt.FocusPolicy.TabFocus)
            if (
                takes_tab
                and widget.isVisible()
                and widget.isEnabled()
                and widget.window() is window
            ):
                widget.setFocus(Qt.FocusReason.TabFocusReason)
                return
