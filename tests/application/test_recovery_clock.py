"""Periodic recovery and a clerk whose clock runs ahead (issue 11, minor).

``serve`` and the window recover transfers "at least 30 s old" now and then, leaving younger
ones to the process that started them. The age was measured from the transfer's own stamp,
written by the starting clerk's clock: a transfer stamped an hour ahead waited an hour, one
stamped in 2099 never. The age now counts from when this process first saw it unfinished (by
its own clock) as well, so a stamp from the future delays recovery by the minimum age, no more.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bank_desktop.application import BankService
from bank_desktop.application.projections import ReadModel, catch_up
from bank_desktop.eventstore.port import EventStore

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
MIN_AGE = timedelta(seconds=30)


class ManualClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Crash(Exception):
    pass


def _crash_after_request(_: str, step: str) -> None:
    if step == "requested":
        raise Crash(step)


@pytest.mark.parametrize("ahead", [timedelta(hours=1), timedelta(days=365 * 70)])
@pytest.mark.parametrize("with_candidates", [True, False], ids=["read model", "scan"])
def test_a_transfer_stamped_ahead_is_recovered_after_the_minimum_age(
    store: EventStore, ahead: timedelta, with_candidates: bool
) -> None:
    clock = ManualClock(START)
    server = BankService(store, clerk_id="serve", clock=clock)
    source = server.open_account("cust-1", "100")
    target = server.open_account("cust-2", "0")
    server.recover()  # at start-up, with no minimum age: nothing yet

    fast = BankService(
        store, clock=ManualClock(START + ahead), on_transfer_step=_crash_after_request
    )
    with pytest.raises(Crash):
        fast.transfer(source, target, "30")

    def pending() -> dict[str, datetime] | None:
        if not with_candidates:
            return None
        model = ReadModel()
        catch_up(model, store)
        return {t.transfer_id: t.requested_at for t in model.transfers.unfinished()}

    # Just seen: young, left to the clerk who started it.
    assert server.recover(older_than=MIN_AGE, candidates=pending()).finished == 0
    clock.now += MIN_AGE + timedelta(seconds=1)
    report = server.recover(older_than=MIN_AGE, candidates=pending())
    assert len(report.completed) == 1
    assert server.get_account(target).balance == 30
