"""What the window says about a transfer the store stopped half-way (issue 11, item 1)."""

from __future__ import annotations

from bank_desktop.application.errors import transfer_interrupted
from bank_desktop.eventstore import StoreUnavailableError
from bank_desktop.gui.messages import describe_error


def test_an_interrupted_transfer_is_never_described_as_nothing_saved() -> None:
    error = transfer_interrupted("transfer-x", "account-a", StoreUnavailableError("down"))
    assert isinstance(error, StoreUnavailableError)  # callers that resend it keep doing so
    text = describe_error(error)
    assert "nothing was saved" not in text.lower()
    assert "transfer-x" in text
    assert "account-a" in text
