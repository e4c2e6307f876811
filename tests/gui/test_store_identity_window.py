"""The window on a store that was emptied since it was last used: an error with the way out."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from bank_desktop.cli import main
from bank_desktop.config import data_directory
from bank_desktop.eventstore import StoreRegressedError
from bank_desktop.gui.app import create_main_window


def test_the_window_refuses_an_emptied_store_and_says_how_to_start_over(
    qtbot: QtBot, tmp_path: Path
) -> None:
    path = tmp_path / "bank.db"
    url = f"sqlite://{path}"
    assert (
        main(["--store", url, "open", "--customer", "c", "--initial", "5"], out=io.StringIO()) == 0
    )
    path.write_bytes(b"")
    with pytest.raises(StoreRegressedError) as refused:
        create_main_window(url, clerk_id="clerk-7", data_dir=data_directory(), start=False)
    message = str(refused.value)
    assert str(path) in message
    assert "bank-desktop --accept-store-reset" in message  # what the error dialog shows
    window = create_main_window(
        url, clerk_id="clerk-7", data_dir=data_directory(), start=False, accept_store_reset=True
    )
    qtbot.addWidget(window)
    window.close()
