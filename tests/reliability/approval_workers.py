"""Worker processes for the approval reliability tests (module-level, so ``spawn`` finds them)."""

from __future__ import annotations

import os
import signal
import traceback
from typing import Any

from bank_desktop.application import BankService
from bank_desktop.domain import DomainError
from bank_desktop.eventstore import open_store


def supervisor(url: str, clerk: str, approval_id: str, start: Any, results: Any) -> None:
    """Approve ``approval_id`` as ``clerk`` once every supervisor is ready; reply what
    happened: "approved", or the refusal's class name."""
    try:
        store = open_store(url)
        bank = BankService(store, clerk_id=clerk)
        bank.roles_of()  # warm up: the race is the approval, not opening the store
        start.wait(60)
        try:
            bank.approve(approval_id)
        except DomainError as refusal:
            outcome = type(refusal).__name__
        else:
            outcome = "approved"
        store.close()
        results.put(("ok", outcome))
    except BaseException:
        results.put(("error", traceback.format_exc()))


def _killer(step_wanted: str, log_path: str) -> Any:
    """An ``on_approval_step`` / ``on_transfer_step`` observer that SIGKILLs this process right
    after the step named ``step_wanted``, once the step is written to ``log_path``."""

    def observe(subject: str, step: str) -> None:
        if step != step_wanted:
            return
        fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, f"{os.getpid()} {step} {subject}\n".encode())
        finally:
            os.close(fd)
        os.kill(os.getpid(), signal.SIGKILL)

    return observe


def doomed_approver(
    url: str, clerk: str, approval_id: str, *, approval_step: str, transfer_step: str, log: str
) -> None:
    """Approve, and die by SIGKILL at the approval step or transfer step named ("" = none)."""
    store = open_store(url)
    bank = BankService(
        store,
        clerk_id=clerk,
        on_approval_step=_killer(approval_step, log) if approval_step else None,
        on_transfer_step=_killer(transfer_step, log) if transfer_step else None,
    )
    bank.approve(approval_id)


def recoverer(url: str, clerk: str, start: Any, results: Any) -> None:
    """``recover()`` once every recoverer is ready; reply which approvals it carried out."""
    try:
        store = open_store(url)
        bank = BankService(store, clerk_id=clerk)
        start.wait(60)
        report = bank.recover()
        store.close()
        results.put(("ok", (report.approvals_executed, report.approvals_failed, report.failed)))
    except BaseException:
        results.put(("error", traceback.format_exc()))


def bootstrapper(url: str, clerk: str, start: Any, results: Any) -> None:
    """Grant ``clerk`` the first admin role at the moment every process does; reply "granted"
    or the refusal's class name."""
    try:
        store = open_store(url)
        bank = BankService(store, clerk_id=clerk)
        bank.roles_of()
        start.wait(60)
        try:
            bank.grant_role(clerk, "admin")
        except DomainError as refusal:
            outcome = type(refusal).__name__
        else:
            outcome = "granted"
        store.close()
        results.put(("ok", outcome))
    except BaseException:
        results.put(("error", traceback.format_exc()))
