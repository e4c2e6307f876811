"""``bank-desktop --smoke`` passes on a working installation, in process and as a program."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from pytestqt.qtbot import QtBot

from bank_desktop.gui.smoke import run_smoke


@pytest.mark.x11
def test_smoke_in_process(qtbot: QtBot) -> None:
    said: list[str] = []
    assert run_smoke(out=said.append) == 0
    assert said[-1].startswith("smoke: OK (balance shown: $1,334.56)")


def test_smoke_as_the_installed_program() -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run(
        [sys.executable, "-m", "bank_desktop", "--smoke"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "smoke: OK" in result.stderr
