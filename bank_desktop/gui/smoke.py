"""``bank-desktop --smoke``: prove an installation works, end to end, in a few seconds.

Starts the real window offscreen on a throw-away store, opens an account and posts a deposit
through the same forms and workers a clerk uses, and checks the accounts table shows the new
balance. Exit 0 on success; otherwise non-zero with the step that failed and why. Used to
check a packaged build on a bare machine (a missing plugin or hidden import fails here).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

SMOKE_TIMEOUT_S: Final = 30.0


class SmokeFailure(Exception):
    pass


def run_smoke(*, out: Callable[[str], None] | None = None) -> int:
    say = out or (lambda text: print(text, file=sys.stderr))
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bank-desktop-smoke-") as folder:
        try:
            balance = _drive(Path(folder), say)
        except SmokeFailure as exc:
            say(f"smoke: FAILED: {exc}")
            return 1
        except Exception as exc:
            say(f"smoke: FAILED: {type(exc).__name__}: {exc}")
            return 1
    say(f"smoke: OK (balance shown: {balance}) in {time.perf_counter() - started:.2f} s")
    return 0


def _drive(folder: Path, say: Callable[[str], None]) -> str:
    from decimal import Decimal

    from PySide6.QtCore import QCoreApplication, QEventLoop, Qt

    from bank_desktop.gui.app import create_main_window
    from bank_desktop.gui.models.accounts import BALANCE

    def wait(what: str, condition: Callable[[], bool]) -> None:
        deadline = time.monotonic() + SMOKE_TIMEOUT_S
        while not condition():
            if time.monotonic() > deadline:
                raise SmokeFailure(f"timed out waiting for {what}")
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)

    window = create_main_window(
        f"sqlite://{folder / 'smoke.db'}", clerk_id="smoke-test", data_dir=folder / "data"
    )
    try:
        window.show()
        wait("the window to go live", lambda: window.connection_label.text() == "● live")
        say("smoke: window live")

        form = window.open_account_form()
        form.customer.setText("cust-smoke")  # type: ignore[attr-defined]
        form.initial.setText("100.00")  # type: ignore[attr-defined]
        form.submit()
        wait("the account to be opened", lambda: len(window.accounts_model.projection) == 1)
        account = window.accounts_model.account_at(0).account_id
        wait("the new account to be selected", lambda: window.selected_account() == account)
        say(f"smoke: opened {account}")

        deposit = window.deposit_form()
        if deposit is None:
            raise SmokeFailure("the deposit form did not open for the selected account")
        deposit.amount.setText("1,234.56")  # type: ignore[attr-defined]
        deposit.submit()
        row = window.accounts_model.projection.get(account)
        wait(
            "the deposit to reach the balances",
            lambda: row is not None and row.balance == Decimal("1334.56"),
        )
        proxy_row = window.accounts_proxy.row_of(account)
        if proxy_row is None:
            raise SmokeFailure("the account is not listed in the accounts table")
        shown = window.accounts_proxy.index(proxy_row, BALANCE).data(Qt.ItemDataRole.DisplayRole)
        if shown != "$1,334.56":
            raise SmokeFailure(f"the table shows {shown!r} instead of '$1,334.56'")
        wait("the ledger line", lambda: window.ledger_model.rowCount() == 2)
        image = window.grab()
        if image.isNull():
            raise SmokeFailure("the window could not be rendered")
        return str(shown)
    finally:
        window.close()
