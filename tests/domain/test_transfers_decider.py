"""The transfer process decider: a state machine that moves only along its arrows.

    none ─request─▶ requested ─debit─▶ debited ─complete─▶ completed
                        │                 └─────reverse──▶ reversed
                        └────reject─────▶ rejected

Proves the request rules (distinct accounts, positive amount, no second request), that every
other command is accepted from exactly one status and refused from all others with an
``IllegalStateError`` naming the current status, that terminal statuses refuse everything, what
``next_step`` says for each status, and that ``evolve`` records status, reason and time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bank_desktop.domain import transfers
from bank_desktop.domain.errors import IllegalStateError, ValidationError
from bank_desktop.domain.transfers import (
    TERMINAL_STATUSES,
    TRANSFER_EVENT_TYPES,
    CompleteTransfer,
    RecordDebit,
    RejectTransfer,
    RequestTransfer,
    ReverseTransfer,
    TransferCommand,
    TransferCompleted,
    TransferDebited,
    TransferEvent,
    TransferRejected,
    TransferRequested,
    TransferReversed,
    TransferState,
    TransferStatus,
    evolve,
    next_step,
)
from tests.domain.decider_spec import DeciderSpec

spec: DeciderSpec[TransferState, TransferCommand, TransferEvent] = DeciderSpec(
    transfers.decide, transfers.evolve, transfers.initial_state
)
given = spec.given

TR = "tr-1"
T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=1)
T2 = T0 + timedelta(minutes=2)
T3 = T0 + timedelta(minutes=3)


def request(
    amount: str = "25.00",
    from_account: str = "acc-1",
    to_account: str = "acc-2",
    description: str | None = "Rent",
) -> RequestTransfer:
    return RequestTransfer(TR, from_account, to_account, Decimal(amount), description, T3)


REQUESTED = TransferRequested(TR, "acc-1", "acc-2", Decimal("25.00"), "Rent", T0)
DEBITED = TransferDebited(TR, T1)

#: The shortest history that reaches each status.
HISTORIES: dict[TransferStatus, tuple[TransferEvent, ...]] = {
    "none": (),
    "requested": (REQUESTED,),
    "debited": (REQUESTED, DEBITED),
    "completed": (REQUESTED, DEBITED, TransferCompleted(TR, T2)),
    "reversed": (REQUESTED, DEBITED, TransferReversed(TR, "Account acc-2 is closed.", T2)),
    "rejected": (REQUESTED, TransferRejected(TR, "Insufficient funds.", T1)),
}

#: Each command after the request, the one status it is accepted from, and its refusal wording.
MOVES: list[tuple[TransferCommand, TransferStatus, str]] = [
    (RecordDebit(TR, T3), "requested", "record the debit"),
    (CompleteTransfer(TR, T3), "debited", "complete"),
    (ReverseTransfer(TR, "Account acc-2 is closed.", T3), "debited", "reverse"),
    (RejectTransfer(TR, "Insufficient funds.", T3), "requested", "reject"),
]
MOVE_IDS = ["record-debit", "complete", "reverse", "reject"]


def test_event_names() -> None:
    assert TRANSFER_EVENT_TYPES == (
        "transfer.requested",
        "transfer.debited",
        "transfer.completed",
        "transfer.rejected",
        "transfer.reversed",
    )


def test_histories_reach_their_status() -> None:
    for status, history in HISTORIES.items():
        assert given(*history).state.status == status


# ── request ───────────────────────────────────────────────────────────────────────────────


class TestRequest:
    def test_records_the_request(self) -> None:
        assert given().when(request()) == [
            TransferRequested(TR, "acc-1", "acc-2", Decimal("25.00"), "Rent", T3)
        ]

    def test_trims_account_ids_and_description(self) -> None:
        [event] = given().when(
            request(from_account=" acc-1 ", to_account="acc-2\t", description=" ")
        )

        assert isinstance(event, TransferRequested)
        assert (event.from_account_id, event.to_account_id) == ("acc-1", "acc-2")
        assert event.description is None

    def test_refuses_the_same_account(self) -> None:
        with pytest.raises(ValidationError) as caught:
            given().when(request(from_account="acc-1", to_account="acc-1"))

        assert caught.value.message == "Cannot transfer to the same account."
        assert caught.value.details == {"accountId": "acc-1"}

    def test_refuses_the_same_account_spelled_with_spaces(self) -> None:
        with pytest.raises(ValidationError, match=r"^Cannot transfer to the same account\.$"):
            given().when(request(from_account="acc-1", to_account=" acc-1 "))

    @pytest.mark.parametrize("amount", ["0.00", "-0.01", "-25.00"])
    def test_amount_must_be_positive(self, amount: str) -> None:
        with pytest.raises(ValidationError) as caught:
            given().when(request(amount))

        assert caught.value.message == "Transfer amount must be positive."
        assert caught.value.details == {"amount": amount}

    @pytest.mark.parametrize(
        ("from_account", "to_account", "message"),
        [
            ("", "acc-2", "Source account is required."),
            ("acc-1", "  ", "Target account is required."),
            ("a" * 201, "acc-2", "Source account is too long: at most 200 characters."),
            ("acc-1", "acc\x002", "Target account must not contain control characters."),
        ],
    )
    def test_account_ids_are_validated(
        self, from_account: str, to_account: str, message: str
    ) -> None:
        with pytest.raises(ValidationError) as caught:
            given().when(request(from_account=from_account, to_account=to_account))

        assert caught.value.message == message

    def test_description_is_at_most_200_characters(self) -> None:
        with pytest.raises(ValidationError, match=r"^Description is too long"):
            given().when(request(description="d" * 201))

    @pytest.mark.parametrize("status", [s for s in HISTORIES if s != "none"])
    def test_a_second_request_is_refused(self, status: TransferStatus) -> None:
        with pytest.raises(IllegalStateError) as caught:
            given(*HISTORIES[status]).when(request())

        error = caught.value
        assert error.message == "Transfer tr-1 already exists."
        assert error.state == status
        assert error.action == "request transfer"
        assert error.details == {"transferId": TR, "state": status, "action": "request transfer"}


# ── the moves after the request ───────────────────────────────────────────────────────────


class TestMoves:
    def test_record_debit_from_requested(self) -> None:
        assert given(REQUESTED).when(RecordDebit(TR, T3)) == [TransferDebited(TR, T3)]

    def test_complete_from_debited(self) -> None:
        assert given(REQUESTED, DEBITED).when(CompleteTransfer(TR, T3)) == [
            TransferCompleted(TR, T3)
        ]

    def test_reverse_from_debited(self) -> None:
        command = ReverseTransfer(TR, "  Account acc-2 is closed. ", T3)

        assert given(REQUESTED, DEBITED).when(command) == [
            TransferReversed(TR, "Account acc-2 is closed.", T3)
        ]

    def test_reject_from_requested(self) -> None:
        command = RejectTransfer(TR, "Insufficient funds. ", T3)

        assert given(REQUESTED).when(command) == [TransferRejected(TR, "Insufficient funds.", T3)]

    @pytest.mark.parametrize(
        "command",
        [RejectTransfer(TR, " ", T3), ReverseTransfer(TR, "", T3)],
        ids=["reject", "reverse"],
    )
    def test_reject_and_reverse_require_a_reason(self, command: TransferCommand) -> None:
        history = HISTORIES["requested" if isinstance(command, RejectTransfer) else "debited"]

        with pytest.raises(ValidationError, match=r"^Reason is required\.$"):
            given(*history).when(command)

    def test_reason_is_at_most_500_characters(self) -> None:
        [event] = given(REQUESTED).when(RejectTransfer(TR, "r" * 500, T3))
        assert isinstance(event, TransferRejected)

        with pytest.raises(ValidationError, match="at most 500 characters"):
            given(REQUESTED).when(RejectTransfer(TR, "r" * 501, T3))

    @pytest.mark.parametrize(("command", "allowed_from", "action"), MOVES, ids=MOVE_IDS)
    @pytest.mark.parametrize("status", list(HISTORIES))
    def test_each_move_is_accepted_from_exactly_one_status(
        self,
        command: TransferCommand,
        allowed_from: TransferStatus,
        action: str,
        status: TransferStatus,
    ) -> None:
        history = given(*HISTORIES[status])
        if status == allowed_from:
            assert len(history.when(command)) == 1
            return

        with pytest.raises(IllegalStateError) as caught:
            history.when(command)

        error = caught.value
        assert error.message == f"Transfer tr-1 cannot {action}: it is {status}."
        assert error.state == status
        assert error.action == action
        assert error.details == {"transferId": TR, "state": status, "action": action}

    @pytest.mark.parametrize("status", sorted(TERMINAL_STATUSES))
    def test_terminal_statuses_refuse_everything(self, status: TransferStatus) -> None:
        history = given(*HISTORIES[status])
        assert history.state.is_finished

        for command in [request(), *(move for move, _, _ in MOVES)]:
            with pytest.raises(IllegalStateError):
                history.when(command)

    def test_the_state_check_comes_before_the_reason_check(self) -> None:
        with pytest.raises(IllegalStateError):
            given().when(RejectTransfer(TR, "", T3))


# ── next_step and evolve ──────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("status", "step", "finished"),
    [
        ("none", "done", False),
        ("requested", "debit", False),
        ("debited", "credit", False),
        ("completed", "done", True),
        ("rejected", "done", True),
        ("reversed", "done", True),
    ],
)
def test_next_step(status: TransferStatus, step: str, finished: bool) -> None:
    state = given(*HISTORIES[status]).state

    assert next_step(state) == step
    assert state.is_finished is finished


class TestEvolve:
    def test_initial_state(self) -> None:
        assert given().state == TransferState()
        assert given().state.status == "none"

    def test_requested(self) -> None:
        assert given(REQUESTED).state == TransferState(
            transfer_id=TR,
            from_account_id="acc-1",
            to_account_id="acc-2",
            amount=Decimal("25.00"),
            description="Rent",
            status="requested",
            requested_at=T0,
            updated_at=T0,
            reason=None,
        )

    def test_debited_then_completed(self) -> None:
        debited = given(REQUESTED, DEBITED).state
        completed = evolve(debited, TransferCompleted(TR, T2))

        assert (debited.status, debited.updated_at) == ("debited", T1)
        assert (completed.status, completed.updated_at, completed.reason) == (
            "completed",
            T2,
            None,
        )
        assert completed.requested_at == T0
        assert completed.amount == Decimal("25.00")

    def test_rejected_records_the_reason(self) -> None:
        state = given(*HISTORIES["rejected"]).state

        assert (state.status, state.reason, state.updated_at) == (
            "rejected",
            "Insufficient funds.",
            T1,
        )
        assert state.requested_at == T0

    def test_reversed_records_the_reason(self) -> None:
        state = given(*HISTORIES["reversed"]).state

        assert (state.status, state.reason, state.updated_at) == (
            "reversed",
            "Account acc-2 is closed.",
            T2,
        )
