"""Transfers: the happy path, refusals that write nothing, races, and recovery after a crash."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal

import pytest

from bank_desktop.application import BankService
from bank_desktop.application.stream_kinds import TRANSFERS
from bank_desktop.domain import (
    AccountNotFoundError,
    CommandIdReusedError,
    IllegalStateError,
    ValidationError,
)
from bank_desktop.domain.errors import TransferReversedError
from bank_desktop.eventstore.port import EventStore
from tests.application.conftest import StepClock


class Crash(Exception):
    """Stands in for the process dying right after a durable step."""


def crash_at(step: str) -> Callable[[str, str], None]:
    def observe(_: str, name: str) -> None:
        if name == step:
            raise Crash(step)

    return observe


def total(bank: BankService, *accounts: str) -> Decimal:
    return sum((bank.get_account(a).balance for a in accounts), Decimal("0.00"))


@pytest.fixture
def bank(store: EventStore) -> BankService:
    return BankService(store, clerk_id="clerk-7", clock=StepClock())


def test_a_transfer_moves_money_and_records_its_progress(
    bank: BankService, store: EventStore
) -> None:
    source = bank.open_account("cust-1", "100")
    target = bank.open_account("cust-2", "5")
    transfer_id = bank.transfer(source, target, "40.50", description="Rent share")
    assert bank.get_account(source).balance == Decimal("59.50")
    assert bank.get_account(target).balance == Decimal("45.50")
    assert [e.type for e in store.read_stream(transfer_id)] == [
        "transfer.requested",
        "transfer.debited",
        "transfer.completed",
    ]
    withdrawn = store.read_stream(source)[-1]
    deposited = store.read_stream(target)[-1]
    assert withdrawn.type == "money.withdrawn"
    assert withdrawn.data["transferId"] == deposited.data["transferId"] == transfer_id
    assert withdrawn.data["counterpartyAccountId"] == target
    assert deposited.data["counterpartyAccountId"] == source
    assert withdrawn.data["description"] == deposited.data["description"] == "Rent share"
    assert withdrawn.metadata["correlationId"] == transfer_id


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda s, t: (s, s, "1"), ValidationError, "same account"),
        (lambda s, t: (s, t, "500"), ValidationError, "Insufficient funds"),
        (lambda s, t: (s, t, "0"), ValidationError, "must be positive"),
        (lambda s, t: (s, t, "-3"), ValidationError, "must be positive"),
        (lambda s, t: (s, t, "1.001"), ValidationError, "2 decimal places"),
        (lambda s, t: ("account-none", t, "1"), AccountNotFoundError, "does not exist"),
        (lambda s, t: (s, "account-none", "1"), AccountNotFoundError, "does not exist"),
    ],
)
def test_refused_transfers_write_nothing(
    bank: BankService,
    store: EventStore,
    make: Callable[[str, str], tuple[str, str, str]],
    error: type[Exception],
    message: str,
) -> None:
    source = bank.open_account("cust-1", "100")
    target = bank.open_account("cust-2", "0")
    before = store.head_position()
    with pytest.raises(error, match=message):
        bank.transfer(*make(source, target))
    assert store.head_position() == before


def test_a_transfer_to_a_closed_account_is_refused_up_front(
    bank: BankService, store: EventStore
) -> None:
    source = bank.open_account("cust-1", "100")
    target = bank.open_account("cust-2", "0")
    bank.close_account(target)
    before = store.head_position()
    with pytest.raises(IllegalStateError, match="is closed"):
        bank.transfer(source, target, "10")
    assert store.head_position() == before


def test_a_repeated_transfer_command_moves_money_once(bank: BankService) -> None:
    source = bank.open_account("cust-1", "100")
    target = bank.open_account("cust-2", "0")
    first = bank.transfer(source, target, "30", command_id="t-1")
    assert bank.transfer(source, target, "30", command_id="t-1") == first
    assert bank.get_account(source).balance == Decimal("70.00")
    with pytest.raises(CommandIdReusedError):
        bank.transfer(source, target, "31", command_id="t-1")


def test_target_closed_mid_transfer_reverses_it(store: EventStore) -> None:
    other = BankService(store, clock=StepClock())
    target_box: list[str] = []

    def close_target(_: str, step: str) -> None:
        if step == "record-debit":  # after the debit, before the credit
            other.close_account(target_box[0])

    bank = BankService(store, clock=StepClock(), on_transfer_step=close_target)
    source = bank.open_account("cust-1", "100")
    target = bank.open_account("cust-2", "0")
    target_box.append(target)
    with pytest.raises(TransferReversedError, match="returned to") as reversed_:
        bank.transfer(source, target, "25")
    assert bank.get_account(source).balance == Decimal("100.00")
    assert bank.get_account(target).balance == Decimal("0.00")
    events = store.read_stream(reversed_.value.transfer_id)
    assert events[-1].type == "transfer.reversed"
    refund = store.read_stream(source)[-1]
    assert refund.data["reversal"] is True


def test_funds_gone_after_the_check_rejects_and_fences_the_debit(store: EventStore) -> None:
    other = BankService(store, clock=StepClock())
    source_box: list[str] = []

    def drain(_: str, step: str) -> None:
        if step == "requested":
            other.withdraw(source_box[0], "90")

    bank = BankService(store, clock=StepClock(), on_transfer_step=drain)
    source = bank.open_account("cust-1", "100")
    target = bank.open_account("cust-2", "0")
    source_box.append(source)
    with pytest.raises(ValidationError, match="Insufficient funds"):
        bank.transfer(source, target, "50", command_id="t-9")
    refusal = store.read_stream(source)[-1]
    assert refusal.type == "money.withdrawal_refused"
    transfer_id = refusal.data["transferId"]
    stale_state, _ = BankService(store)._handler.current(transfer_id, TRANSFERS)
    assert stale_state.status == "rejected"

    # Money arrives; a slow second driver still holding the old "requested" state can no
    # longer debit: the refusal consumed the debit's command id in the source stream.
    other.deposit(source, "1000")
    slow = BankService(store, clock=StepClock())
    requested = stale_state.__class__(
        transfer_id=stale_state.transfer_id,
        from_account_id=stale_state.from_account_id,
        to_account_id=stale_state.to_account_id,
        amount=stale_state.amount,
        status="requested",
    )
    final = slow._transfers.drive(transfer_id, requested)
    assert final.status == "rejected"
    assert slow.get_account(source).balance == Decimal("1010.00")
    assert slow.get_account(target).balance == Decimal("0.00")


STEPS = ["requested", "debited", "record-debit", "credited", "complete"]


@pytest.mark.parametrize("step", STEPS)
def test_a_crash_after_any_step_is_finished_by_recover(store: EventStore, step: str) -> None:
    setup = BankService(store, clock=StepClock())
    source = setup.open_account("cust-1", "100")
    target = setup.open_account("cust-2", "0")
    crashing = BankService(store, clock=StepClock(), on_transfer_step=crash_at(step))
    with pytest.raises(Crash):
        crashing.transfer(source, target, "30")

    restarted = BankService(store, clock=StepClock())
    report = restarted.recover()
    assert report.failed == {}
    assert restarted.get_account(source).balance == Decimal("70.00")
    assert restarted.get_account(target).balance == Decimal("30.00")
    assert total(restarted, source, target) == Decimal("100.00")
    assert restarted.recover().finished == 0  # exactly once: nothing left to do


@pytest.mark.parametrize("step", ["credit-refused", "refunded", "reverse"])
def test_a_crash_during_a_reversal_is_finished_by_recover(store: EventStore, step: str) -> None:
    other = BankService(store, clock=StepClock())
    boxes: list[str] = []

    def close_then_crash(transfer_id: str, name: str) -> None:
        if name == "record-debit":
            other.close_account(boxes[1])
        crash_at(step)(transfer_id, name)

    bank = BankService(store, clock=StepClock(), on_transfer_step=close_then_crash)
    source = bank.open_account("cust-1", "100")
    target = bank.open_account("cust-2", "0")
    boxes.extend([source, target])
    with pytest.raises(Crash):
        bank.transfer(source, target, "30")
    restarted = BankService(store, clock=StepClock())
    report = restarted.recover()
    assert report.finished in (0, 1)
    assert restarted.get_account(source).balance == Decimal("100.00")
    assert restarted.get_account(target).balance == Decimal("0.00")


def test_concurrent_recoverers_finish_a_transfer_exactly_once(store: EventStore) -> None:
    setup = BankService(store, clock=StepClock())
    source = setup.open_account("cust-1", "100")
    target = setup.open_account("cust-2", "0")
    with pytest.raises(Crash):
        BankService(store, on_transfer_step=crash_at("debited")).transfer(source, target, "30")

    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def recover() -> None:
        service = BankService(store)
        barrier.wait()
        try:
            service.recover()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=recover) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert setup.get_account(source).balance == Decimal("70.00")
    assert setup.get_account(target).balance == Decimal("30.00")
    deposits = [e for e in store.read_stream(target) if e.type == "money.deposited"]
    assert len(deposits) == 1


def test_recover_leaves_young_transfers_to_their_driver(store: EventStore) -> None:
    from datetime import timedelta

    setup = BankService(store)
    source = setup.open_account("cust-1", "100")
    target = setup.open_account("cust-2", "0")
    with pytest.raises(Crash):
        BankService(store, on_transfer_step=crash_at("requested")).transfer(source, target, "30")
    assert setup.recover(older_than=timedelta(minutes=5)).finished == 0
    assert setup.recover().completed


def test_recover_can_start_from_known_candidates_instead_of_scanning(store: EventStore) -> None:
    from bank_desktop.application.projections import ReadModel, catch_up

    setup = BankService(store)
    source = setup.open_account("cust-1", "100")
    target = setup.open_account("cust-2", "0")
    with pytest.raises(Crash):
        BankService(store, on_transfer_step=crash_at("debited")).transfer(source, target, "30")
    model = ReadModel()
    catch_up(model, store)
    pending = {t.transfer_id: t.requested_at for t in model.transfers.unfinished()}
    assert len(pending) == 1
    report = BankService(store).recover(candidates=pending)
    assert len(report.completed) == 1
    assert setup.get_account(target).balance == Decimal("30.00")
