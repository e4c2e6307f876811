"""History this version does not understand (issue 11, item 7): refuse to decide, mark the row.

A stored withdrawal whose type was altered (or an event of a newer version) used to be skipped
by the decider, which then allowed an overdraft to -$35, and by the projections, which showed
$105 for a $15 account. Now a stream with such an event refuses every command with a message
that names the event (a compensation, the refund of a failed transfer, still lands: it only
gives money back), a transfer's debit from it is recorded as refused, its credit to it is
refunded, and the balances projection marks the account instead of showing a number.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from bank_desktop.application import BankService
from bank_desktop.application.ids import transfer_id_for
from bank_desktop.application.projections import ReadModel, catch_up
from bank_desktop.application.stream_kinds import TRANSFERS
from bank_desktop.domain import DomainError
from bank_desktop.domain.errors import TransferReversedError
from bank_desktop.eventstore.port import EventStore, NewEvent
from tests.application.conftest import StepClock


def altered_withdrawal(store: EventStore, account: str, amount: str = "90") -> None:
    """A withdrawal whose type was altered in the store (or a newer version's event)."""
    data = {"accountId": account, "amount": Decimal(amount), "withdrawnAt": "2026-11-02T09:00Z"}
    position = store.stream_position(account)
    store.append(account, [NewEvent("money.withdrawn.v2", data, {"commandId": "x"})], position)


@pytest.fixture
def bank(store: EventStore) -> BankService:
    return BankService(store, clerk_id="clerk-7", clock=StepClock())


def _fifteen_dollar_account(bank: BankService) -> str:
    account = bank.open_account("cust-1", "100")
    bank.deposit(account, "5")
    altered_withdrawal(bank.store, account)  # $105 - $90 = $15 really
    return account


def test_commands_on_a_stream_with_unknown_events_are_refused_naming_the_event(
    bank: BankService, store: EventStore
) -> None:
    account = _fifteen_dollar_account(bank)
    before = store.head_position()
    for command in (
        lambda: bank.withdraw(account, "50"),
        lambda: bank.deposit(account, "1"),
        lambda: bank.close_account(account),
    ):
        with pytest.raises(DomainError, match=r"money\.withdrawn\.v2.*position 3") as refused:
            command()
        assert "cannot read" in refused.value.message
    fresh = BankService(store)  # not through a warm cache either
    with pytest.raises(DomainError, match="cannot read"):
        fresh.withdraw(account, "50")
    assert store.head_position() == before
    assert bank.get_account(account).unrecognized is not None


def test_transfers_from_or_to_such_an_account_are_refused_up_front(
    bank: BankService, store: EventStore
) -> None:
    account = _fifteen_dollar_account(bank)
    other = bank.open_account("cust-2", "100")
    before = store.head_position()
    with pytest.raises(DomainError, match="cannot read"):
        bank.transfer(account, other, "10")
    with pytest.raises(DomainError, match="cannot read"):
        bank.transfer(other, account, "10")
    assert store.head_position() == before


class Crash(Exception):
    pass


def _crash_after(step: str):  # type: ignore[no-untyped-def]
    def observe(_: str, name: str) -> None:
        if name == step:
            raise Crash(step)

    return observe


def test_a_transfer_to_an_account_that_became_unreadable_is_refunded(store: EventStore) -> None:
    setup = BankService(store, clock=StepClock())
    source = setup.open_account("cust-1", "100")
    target = setup.open_account("cust-2", "0")
    crashing = BankService(store, clock=StepClock(), on_transfer_step=_crash_after("record-debit"))
    with pytest.raises(Crash):
        crashing.transfer(source, target, "30", command_id="k-1")
    altered_withdrawal(store, target, "1")
    altered_withdrawal(store, source, "1")  # the refund must land even here: it only gives back
    report = BankService(store, clock=StepClock()).recover()
    assert report.failed == {}
    assert report.reversed == [transfer_id_for("k-1")]
    refund = store.read_stream(source)[-1]
    assert refund.type == "money.deposited"
    assert refund.data["reversal"] is True


def test_a_debit_from_an_account_that_became_unreadable_is_recorded_as_refused(
    store: EventStore,
) -> None:
    setup = BankService(store, clock=StepClock())
    source = setup.open_account("cust-1", "100")
    target = setup.open_account("cust-2", "0")
    crashing = BankService(store, clock=StepClock(), on_transfer_step=_crash_after("requested"))
    with pytest.raises(Crash):
        crashing.transfer(source, target, "30", command_id="k-1")
    altered_withdrawal(store, source, "1")
    report = BankService(store, clock=StepClock()).recover()
    assert report.rejected == [transfer_id_for("k-1")]
    assert store.read_stream(source)[-1].type == "money.withdrawal_refused"  # the fence
    assert [e.type for e in store.read_stream(target)] == ["account.opened"]


def test_a_transfer_stream_with_unknown_events_is_not_driven(
    bank: BankService, store: EventStore
) -> None:
    source = bank.open_account("cust-1", "100")
    target = bank.open_account("cust-2", "0")
    crashing = BankService(store, clock=StepClock(), on_transfer_step=_crash_after("requested"))
    with pytest.raises(Crash):
        crashing.transfer(source, target, "30", command_id="k-1")
    transfer_id = transfer_id_for("k-1")
    store.append(transfer_id, [NewEvent("transfer.cancelled", {"transferId": transfer_id})], 1)
    before = store.head_position()
    report = BankService(store, clock=StepClock()).recover()
    assert "transfer.cancelled" in report.failed[transfer_id]
    assert store.head_position() == before
    state, _ = bank._handler.current(transfer_id, TRANSFERS)
    assert state.unrecognized is not None
    with pytest.raises(DomainError, match="cannot read"):
        BankService(store).transfer(source, target, "30", command_id="k-1")


def test_the_balances_projection_marks_the_account_instead_of_a_number(
    bank: BankService, store: EventStore
) -> None:
    account = _fifteen_dollar_account(bank)
    fine = bank.open_account("cust-2", "7")
    late = "account-late"  # a foreign event before the opening: history is missing too
    store.append(late, [NewEvent("account.frozen", {"accountId": late})], 0)
    opened = {"accountId": late, "customerId": "c", "initialBalance": 1, "openedAt": "2026-11-02"}
    store.append(late, [NewEvent("account.opened", opened)], 1)
    model = ReadModel()
    catch_up(model, store)
    row = model.balances.get(account)
    assert row is not None
    assert row.unrecognized is not None
    assert "money.withdrawn.v2" in row.unrecognized
    assert model.balances.get(fine).unrecognized is None  # type: ignore[union-attr]
    assert model.balances.get(late).unrecognized is not None  # type: ignore[union-attr]
    assert model.balances.total() == Decimal("7.00")  # only what is known
    assert model.balances.unreadable() == 2

    # Live: the same marking when the event arrives after the row, and it survives a snapshot.
    live = ReadModel()
    catch_up(live, store)
    other = bank.open_account("cust-3", "1")
    catch_up(live, store)
    altered_withdrawal(store, other, "1")
    changes = live.apply(store.read_all(after=live.checkpoint))
    assert other in changes.changed_accounts
    restored = ReadModel.from_snapshot(live.snapshot())
    assert restored.balances.get(other).unrecognized is not None  # type: ignore[union-attr]


def test_a_malformed_event_marks_its_account_too(bank: BankService, store: EventStore) -> None:
    account = bank.open_account("cust-1", "100")
    store.append(account, [NewEvent("money.deposited", {"accountId": account, "amount": "x"})], 1)
    model = ReadModel()
    catch_up(model, store)
    assert "malformed" in (model.balances.get(account).unrecognized or "")  # type: ignore[union-attr]


def test_reversal_of_an_unreadable_target_is_reported_honestly(store: EventStore) -> None:
    # The clerk's own transfer (not a recovery): the target turns unreadable mid-way.
    boxes: list[str] = []

    def spoil(_: str, step: str) -> None:
        if step == "record-debit":
            altered_withdrawal(store, boxes[0], "1")

    bank = BankService(store, clock=StepClock(), on_transfer_step=spoil)
    source = bank.open_account("cust-1", "100")
    target = bank.open_account("cust-2", "0")
    boxes.append(target)
    with pytest.raises(TransferReversedError, match="returned to"):
        bank.transfer(source, target, "30")
    assert bank.get_account(source).balance == Decimal("100.00")
