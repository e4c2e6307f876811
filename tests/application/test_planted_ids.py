"""Planted request ids (issue 11, item 1): a client's id can never take a transfer's step.

A transfer's steps once used command ids derived from its id (``<transfer id>:credit``, …) in
the same namespace as the ids clients send, so a client who planted ``<id>:credit`` on the
target and ``<id>:refund`` on the source (two 0.01 deposits) made the transfer debit the
source, fail the credit, fail the refund, and fail every ``recover()``: money gone. Internal
steps now run under ids in their own namespace (recorded with ``commandScope: internal``); a
client id of the shape of one is refused as reserved; and an id planted by an older version
(which could not refuse it) blocks nothing. Transfers written by the previous version, whose
steps carry the old ids without a scope, still apply each step exactly once on recovery.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bank_desktop.application import BankService
from bank_desktop.application.event_codec import encode_account_event, encode_transfer_event
from bank_desktop.application.fingerprints import command_fingerprint
from bank_desktop.application.ids import transfer_id_for
from bank_desktop.application.stream_kinds import TRANSFERS
from bank_desktop.domain import DomainError, accounts, transfers
from bank_desktop.domain.errors import TransferReversedError
from bank_desktop.eventstore import EventStoreError, StoreUnavailableError, open_store
from bank_desktop.eventstore.port import EventStore, NewEvent
from tests.application.conftest import StepClock

#: Every step id the transfer process derived from a transfer id before this version.
LEGACY_STEPS = ("debit", "credit", "refund", "record-debit", "complete", "reject", "reverse")


class Crash(Exception):
    """Stands in for the process dying right after a durable step."""


def crash_at(step: str) -> Callable[[str, str], None]:
    def observe(_: str, name: str) -> None:
        if name == step:
            raise Crash(step)

    return observe


def plant(store: EventStore, account: str, command_id: str, amount: str = "0.01") -> None:
    """A deposit carrying ``command_id`` as an older version's client could write it: no
    scope in the metadata, the id exactly as the client sent it."""
    position = store.stream_position(account)
    event = accounts.MoneyDeposited(
        account, Decimal(amount), "planted", StepClock()(), None, None, False
    )
    type_, data = encode_account_event(event)
    metadata = {"commandId": command_id, "requestHash": "planted", "clerkId": "mallory"}
    store.append(account, [NewEvent(type_, data, metadata)], position)


def balances(bank: BankService, *ids: str) -> list[Decimal]:
    return [bank.get_account(account).balance for account in ids]


def status(bank: BankService, transfer_id: str) -> str:
    state, _ = bank._handler.current(transfer_id, TRANSFERS)
    return state.status


@pytest.fixture
def bank(store: EventStore) -> BankService:
    return BankService(store, clerk_id="clerk-7", clock=StepClock())


# ── through the service, as every entry point reaches it ──────────────────────────────────


def test_an_id_of_the_shape_of_a_transfer_step_is_refused_as_reserved(bank: BankService) -> None:
    source = bank.open_account("cust-1", "300")
    target = bank.open_account("cust-2", "0")
    transfer_id = transfer_id_for("k-1")
    before = bank.store.head_position()
    for step in LEGACY_STEPS:
        for account in (source, target):
            with pytest.raises(DomainError, match="reserved"):
                bank.deposit(account, "0.01", command_id=f"{transfer_id}:{step}")
    assert bank.store.head_position() == before
    assert bank.transfer(source, target, "200", command_id="k-1") == transfer_id
    assert balances(bank, source, target) == [Decimal("100.00"), Decimal("200.00")]


def test_ids_planted_on_both_legs_no_longer_swallow_the_money(
    bank: BankService, store: EventStore
) -> None:
    # The attack, as an older version (which accepted any id) let a client write it.
    source = bank.open_account("cust-1", "300")
    target = bank.open_account("cust-2", "0")
    transfer_id = transfer_id_for("k-1")
    plant(store, target, f"{transfer_id}:credit")
    plant(store, source, f"{transfer_id}:refund")
    assert bank.transfer(source, target, "200", command_id="k-1") == transfer_id
    assert status(bank, transfer_id) == "completed"
    assert balances(bank, source, target) == [Decimal("100.01"), Decimal("200.01")]
    assert BankService(store).recover().failed == {}


@pytest.mark.parametrize("step", ["debit", "credit", "record-debit", "complete"])
def test_a_single_planted_step_id_cannot_turn_a_transfer(
    bank: BankService, store: EventStore, step: str
) -> None:
    source = bank.open_account("cust-1", "300")
    target = bank.open_account("cust-2", "0")
    transfer_id = transfer_id_for("k-1")
    plant(store, source, f"{transfer_id}:{step}")
    plant(store, target, f"{transfer_id}:{step}")
    assert bank.transfer(source, target, "200", command_id="k-1") == transfer_id
    assert status(bank, transfer_id) == "completed"
    assert balances(bank, source, target) == [Decimal("100.01"), Decimal("200.01")]


@pytest.mark.parametrize("crash", ["requested", "debited", "record-debit"])
def test_an_in_flight_transfer_seen_in_the_log_cannot_be_blocked(
    store: EventStore, crash: str
) -> None:
    setup = BankService(store, clock=StepClock())
    source = setup.open_account("cust-1", "300")
    target = setup.open_account("cust-2", "0")
    crashing = BankService(store, clock=StepClock(), on_transfer_step=crash_at(crash))
    with pytest.raises(Crash):
        crashing.transfer(source, target, "200", command_id="k-1")
    transfer_id = transfer_id_for("k-1")
    for step in LEGACY_STEPS:  # everything a watcher of the event log could derive
        plant(store, source, f"{transfer_id}:{step}")
        plant(store, target, f"{transfer_id}:{step}")
    report = BankService(store, clock=StepClock()).recover()
    assert report.failed == {}
    assert report.completed == [transfer_id]
    assert balances(setup, source, target) == [Decimal("100.07"), Decimal("200.07")]


def test_a_refund_lands_even_with_planted_ids_and_a_closed_source(store: EventStore) -> None:
    other = BankService(store, clock=StepClock())
    boxes: list[str] = []

    def empty_and_close(_: str, step: str) -> None:
        if step == "record-debit":  # the source is now at zero: its owner closes it
            other.close_account(boxes[0])
            other.close_account(boxes[1])

    bank = BankService(store, clock=StepClock(), on_transfer_step=empty_and_close)
    source = bank.open_account("cust-1", "200")
    target = bank.open_account("cust-2", "0")
    boxes.extend([source, target])
    transfer_id = transfer_id_for("k-1")
    plant(store, source, f"{transfer_id}:refund", "0")  # a zero deposit: only the id matters
    with pytest.raises(TransferReversedError) as reversed_:
        bank.transfer(source, target, "200", command_id="k-1")
    assert "nothing was changed" not in str(reversed_.value).lower()
    assert status(bank, transfer_id) == "reversed"
    assert balances(bank, source, target) == [Decimal("200.00"), Decimal("0.00")]


# ── transfers written by the previous version ─────────────────────────────────────────────


class Legacy:
    """Writes a transfer's events exactly as the previous version did: step ids
    ``<transfer id>:<step>`` in ``commandId``, no ``commandScope``, the request's hash."""

    def __init__(self, store: EventStore, source: str, target: str, amount: str) -> None:
        self.store = store
        self.clock = StepClock()
        self.transfer_id = transfer_id_for("legacy-1")
        self.source, self.target, self.amount = source, target, Decimal(amount)

    def _append(self, stream: str, command: Any, event: Any, step: str | None) -> None:
        transfer = stream == self.transfer_id
        type_, data = (encode_transfer_event if transfer else encode_account_event)(event)
        metadata = {
            "clerkId": "old-clerk",
            "correlationId": self.transfer_id,
            "causationId": self.transfer_id if step else "legacy-1",
            "appVersion": "0.9.0",
            "commandId": f"{self.transfer_id}:{step}" if step else "legacy-1",
            "requestHash": command_fingerprint(command),
        }
        position = self.store.stream_position(stream)
        self.store.append(stream, [NewEvent(type_, data, metadata)], position)

    def requested(self) -> None:
        at = self.clock()
        tid, src, dst, amount = self.transfer_id, self.source, self.target, self.amount
        command = transfers.RequestTransfer(tid, src, dst, amount, None, at)
        event = transfers.TransferRequested(tid, src, dst, amount, None, at)
        self._append(tid, command, event, None)

    def debit(self) -> None:
        at, text = self.clock(), f"Transfer to {self.target}"
        tid, src, dst, amount = self.transfer_id, self.source, self.target, self.amount
        command = accounts.DebitForTransfer(src, tid, dst, amount, text, at)
        event = accounts.MoneyWithdrawn(src, amount, text, at, tid, dst)
        self._append(src, command, event, "debit")

    def record_debit(self) -> None:
        at = self.clock()
        command = transfers.RecordDebit(self.transfer_id, at)
        event = transfers.TransferDebited(self.transfer_id, at)
        self._append(self.transfer_id, command, event, "record-debit")

    def credit(self) -> None:
        at, text = self.clock(), f"Transfer from {self.source}"
        tid, src, dst, amount = self.transfer_id, self.source, self.target, self.amount
        command = accounts.CreditForTransfer(dst, tid, src, amount, text, at)
        event = accounts.MoneyDeposited(dst, amount, text, at, tid, src)
        self._append(dst, command, event, "credit")

    def refund(self, reason: str) -> None:
        at = self.clock()
        tid, src, dst, amount = self.transfer_id, self.source, self.target, self.amount
        command = accounts.RefundTransfer(src, tid, dst, amount, reason, at)
        text = f"Reversal: transfer to {dst} failed"
        event = accounts.MoneyDeposited(src, amount, text, at, tid, dst, reversal=True)
        self._append(src, command, event, "refund")


LEGACY_PATHS: dict[str, tuple[list[str], str, tuple[str, str]]] = {
    # steps written before the crash → final status, (source, target) balances after recovery
    "requested": (["requested"], "completed", ("70.00", "30.00")),
    "debited, not recorded": (["requested", "debit"], "completed", ("70.00", "30.00")),
    "debit recorded": (["requested", "debit", "record_debit"], "completed", ("70.00", "30.00")),
    "credited, not recorded": (
        ["requested", "debit", "record_debit", "credit"],
        "completed",
        ("70.00", "30.00"),
    ),
}


@pytest.mark.parametrize("path", list(LEGACY_PATHS))
def test_a_legacy_transfer_is_recovered_applying_each_step_once(
    store: EventStore, path: str
) -> None:
    setup = BankService(store, clock=StepClock())
    source = setup.open_account("cust-1", "100")
    target = setup.open_account("cust-2", "0")
    legacy = Legacy(store, source, target, "30")
    steps, final, expected = LEGACY_PATHS[path]
    for step in steps:
        getattr(legacy, step)()
    # A client of the old version planted the credit's and refund's ids as well.
    plant(store, target, f"{legacy.transfer_id}:credit", "0")
    plant(store, source, f"{legacy.transfer_id}:refund", "0")

    report = BankService(store, clock=StepClock()).recover()
    assert report.failed == {}
    assert status(setup, legacy.transfer_id) == final
    fresh = BankService(store)
    assert balances(fresh, source, target) == [Decimal(expected[0]), Decimal(expected[1])]
    legs = [e.type for e in store.read_stream(source) + store.read_stream(target)]
    assert legs.count("money.withdrawn") == 1
    assert BankService(store).recover().finished == 0


def test_a_legacy_refund_is_not_paid_twice(store: EventStore) -> None:
    setup = BankService(store, clock=StepClock())
    source = setup.open_account("cust-1", "100")
    target = setup.open_account("cust-2", "0")
    setup.close_account(target)
    legacy = Legacy(store, source, target, "30")
    legacy.requested()
    legacy.debit()
    legacy.record_debit()
    legacy.refund(f"Account {target} is closed.")  # paid back, died before recording it
    report = BankService(store, clock=StepClock()).recover()
    assert report.failed == {}
    assert report.reversed == [legacy.transfer_id]
    assert balances(BankService(store), source) == [Decimal("100.00")]


def test_a_step_written_now_is_recognised_by_the_previous_version() -> None:
    # Mixed versions during an upgrade: an older desk recovering a transfer this version
    # started must find each step under the id it knows, or it would credit twice.
    store = open_store("memory://")
    bank = BankService(store, clock=StepClock())
    source = bank.open_account("cust-1", "100")
    target = bank.open_account("cust-2", "0")
    transfer_id = bank.transfer(source, target, "30", command_id="k-1")
    steps = {
        e.metadata["commandId"]: e.metadata.get("commandScope")
        for stream in (source, target, transfer_id)
        for e in store.read_stream(stream)
        if e.metadata.get("correlationId") == transfer_id and e.type != "transfer.requested"
    }
    assert steps == {
        f"{transfer_id}:{step}": "internal"
        for step in ("debit", "record-debit", "credit", "complete")
    }


def _money_from_outside(store: EventStore, *accounts_: str) -> Decimal:
    """Openings + deposits - withdrawals that are no transfer leg: what the balances must
    sum to once every transfer has finished."""
    total = Decimal("0.00")
    for account in accounts_:
        for event in store.read_stream(account):
            if event.type == "account.opened":
                total += Decimal(event.data["initialBalance"])
            elif "transferId" not in event.data:
                sign = {"money.deposited": 1, "money.withdrawn": -1}.get(event.type, 0)
                total += sign * Decimal(event.data.get("amount", 0))
    return total


# ── the property ──────────────────────────────────────────────────────────────────────────

CRASH_POINTS = [None, "requested", "debited", "record-debit", "credited", "credit-refused"]


@st.composite
def planted_ids(draw: st.DrawFn, transfer_id: str) -> list[tuple[str, str]]:
    """(where, id) pairs: any subset of every id a transfer could derive, on each account,
    plus the request id itself, the transfer id and arbitrary text."""
    derived = [f"{transfer_id}:{step}" for step in LEGACY_STEPS]
    others = st.sampled_from(["k-1", transfer_id, f"internal:{transfer_id}:credit"]) | st.text(
        min_size=1, max_size=30
    )
    chosen = [
        (where, command_id)
        for where in ("source", "target")
        for command_id in draw(st.sets(st.sampled_from(derived)))
        | draw(st.sets(others, max_size=3))
    ]
    return draw(st.permutations(chosen))


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_planted_ids_conserve_money_and_every_transfer_finishes(data: st.DataObject) -> None:
    store = open_store("memory://")
    setup = BankService(store, clock=StepClock())
    source = setup.open_account("cust-1", "300")
    target = setup.open_account("cust-2", "50")
    transfer_id = transfer_id_for("k-1")
    planted = data.draw(planted_ids(transfer_id))
    through_service = data.draw(st.booleans())
    for where, command_id in planted:
        account = source if where == "source" else target
        if through_service:  # today's clients: reserved ids are refused, others just land
            try:
                setup.deposit(account, "0.01", command_id=command_id)
            except DomainError:
                continue
        else:  # an older version's client: anything lands
            plant(store, account, command_id)
    crash = data.draw(st.sampled_from(CRASH_POINTS))
    close_target = data.draw(st.booleans())
    other = BankService(store, clock=StepClock())

    def observe(_: str, step: str) -> None:
        if step == "record-debit" and close_target:
            target_state = other.get_account(target)
            if target_state.is_open:
                if target_state.balance:
                    other.withdraw(target, str(target_state.balance))
                other.close_account(target)
        if step == crash:
            raise Crash(step)

    bank = BankService(store, clock=StepClock(), on_transfer_step=observe)
    amount = data.draw(st.sampled_from(["0.01", "200", "300", "301"]))
    with contextlib.suppress(Crash, DomainError):
        bank.transfer(source, target, amount, command_id="k-1")
    for _ in range(3):  # recovery must finish it within a few rounds, never fail forever
        report = BankService(store, clock=StepClock()).recover()
        assert report.failed == {}
    final = status(setup, transfer_id)
    assert final in ("none", "completed", "rejected", "reversed")
    fresh = BankService(store)
    total = sum(balances(fresh, source, target), Decimal("0.00"))
    assert total == _money_from_outside(store, source, target)
    legs = [
        (e.type, bool(e.data.get("reversal")))
        for e in store.read_stream(source) + store.read_stream(target)
        if e.data.get("transferId") == transfer_id and e.type != "money.withdrawal_refused"
    ]
    expected = {
        "none": [],
        "rejected": [],
        "completed": [("money.deposited", False), ("money.withdrawn", False)],
        "reversed": [("money.deposited", True), ("money.withdrawn", False)],
    }[final]
    assert sorted(legs) == expected


# ── what a clerk is told once money has moved ─────────────────────────────────────────────


class _CreditFails:
    """The store, except that appends to ``stream_id`` fail with ``error``."""

    def __init__(self, inner: EventStore, stream_id: str, error: Exception) -> None:
        self.inner, self.stream_id, self.error = inner, stream_id, error

    def append(self, stream_id: str, events: Any, expected: Any) -> Any:
        if stream_id == self.stream_id:
            raise self.error
        return self.inner.append(stream_id, events, expected)

    def __getattr__(self, name: str) -> Any:
        if name in ("append_decided", "append_many"):
            raise AttributeError(name)
        return getattr(self.inner, name)


@pytest.mark.parametrize(
    "error",
    [
        StoreUnavailableError("DeltaBase did not answer; nothing was saved. Try again."),
        StoreUnavailableError("database is locked. Try again in a moment."),
    ],
    ids=["deltabase", "sqlite"],
)
def test_no_message_says_nothing_changed_once_the_debit_is_done(
    store: EventStore, error: Exception
) -> None:
    setup = BankService(store, clock=StepClock())
    source = setup.open_account("cust-1", "100")
    target = setup.open_account("cust-2", "0")
    failing = BankService(_CreditFails(store, target, error), clock=StepClock())  # type: ignore[arg-type]
    with pytest.raises(EventStoreError) as stopped:
        failing.transfer(source, target, "30", command_id="k-1")
    message = str(stopped.value)
    assert "nothing was" not in message.lower()
    assert transfer_id_for("k-1") in message
    assert source in message
    assert BankService(store).recover().completed == [transfer_id_for("k-1")]
    assert balances(setup, source, target) == [Decimal("70.00"), Decimal("30.00")]
