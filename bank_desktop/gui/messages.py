"""The one seam through which failures become sentences a clerk can act on."""

from __future__ import annotations

import logging

from bank_desktop.application import MalformedEventError, TransferInterruptedError
from bank_desktop.domain import DomainError
from bank_desktop.eventstore import (
    ConcurrencyError,
    EventStoreError,
    StoreConfigError,
    StoreUnavailableError,
)

_log = logging.getLogger(__name__)


def describe_error(exc: BaseException) -> str:
    """What to show in a form's error label or the status bar; unexpected errors are logged."""
    match exc:
        case DomainError():
            return exc.message
        case TransferInterruptedError():  # money may have moved: never "nothing was saved"
            return str(exc)
        case ConcurrencyError():
            return (
                "Another clerk changed this account at the same moment and the retries ran out. "
                "Nothing was saved; press Enter to try again."
            )
        case StoreUnavailableError():
            return f"The bank's store is not reachable ({exc}). Nothing was saved; try again."
        case StoreConfigError() | MalformedEventError():
            return str(exc)
        case EventStoreError():
            return f"The store reported a problem: {exc}"
        case TypeError() | ValueError():
            return str(exc)
    _log.error("Unexpected error shown to the clerk", exc_info=exc)
    return f"Unexpected error: {exc}. It has been logged; please tell IT."
