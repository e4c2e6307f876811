"""The account decider's vocabulary: its commands, events and state (rules: ``accounts.py``).

Commands are intent and can be refused; events are facts, in the past tense; the state is what
the rules need to know about one account, folded from its stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import ClassVar, Literal

from bank_desktop.domain.history import UnrecognizedEvent
from bank_desktop.domain.holds import Hold, active_holds, held_amount
from bank_desktop.domain.money import ZERO
from bank_desktop.domain.reversals import ReversalTarget

AccountStatus = Literal["not_found", "open", "closed"]

# ── Commands (intent; can be refused) ─────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class OpenAccount:
    type: ClassVar[str] = "account.open"
    account_id: str
    customer_id: str
    initial_balance: Decimal
    at: datetime


@dataclass(frozen=True, slots=True)
class DepositMoney:
    type: ClassVar[str] = "money.deposit"
    account_id: str
    amount: Decimal
    description: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class WithdrawMoney:
    type: ClassVar[str] = "money.withdraw"
    account_id: str
    amount: Decimal
    description: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class CloseAccount:
    type: ClassVar[str] = "account.close"
    account_id: str
    reason: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class DebitForTransfer:
    """The debit leg of a transfer.

    Unlike a clerk's withdrawal, a refusal here is recorded (``WithdrawalRefused``) instead of
    raised: the record consumes the leg's command id in the account stream, so a second
    driver of the same transfer (a recovering process) can never debit it after the refusal.
    """

    type: ClassVar[str] = "transfer.debit"
    account_id: str
    transfer_id: str
    to_account_id: str
    amount: Decimal
    description: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class CreditForTransfer:
    """The credit leg of a transfer; refused only for a missing or closed account (permanent)."""

    type: ClassVar[str] = "transfer.credit"
    account_id: str
    transfer_id: str
    from_account_id: str
    amount: Decimal
    description: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class RefundTransfer:
    """Pays a debited transfer back to its source when the credit side refused it.

    A compensating entry: it lands even on an account closed in the meantime, because the
    alternative is money that vanishes with the failed transfer.
    """

    type: ClassVar[str] = "transfer.refund"
    account_id: str
    transfer_id: str
    to_account_id: str
    amount: Decimal
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ReverseTransaction:
    """Undo a deposit or withdrawal keyed by mistake, by recording its opposite.

    ``target`` is the stored event ``event_id`` names, as the application found it in this
    account's stream (None: there is no such event there).
    """

    type: ClassVar[str] = "money.reverse"
    account_id: str
    event_id: str
    target: ReversalTarget | None
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class PlaceHold:
    type: ClassVar[str] = "hold.place"
    account_id: str
    hold_id: str
    amount: Decimal
    reason: str
    expires_at: datetime | None
    at: datetime


@dataclass(frozen=True, slots=True)
class ReleaseHold:
    type: ClassVar[str] = "hold.release"
    account_id: str
    hold_id: str
    at: datetime


#: Commands that may be held for a supervisor's approval and run later by ExecuteApproved.
ApprovableCommand = WithdrawMoney | ReverseTransaction


@dataclass(frozen=True, slots=True)
class ExecuteApproved:
    """Run a command a supervisor approved; a refusal is recorded, not raised.

    Like a transfer's debit leg: the record (``ApprovedCommandRefused``) consumes the
    execution's command id in the account's stream, so a second driver of the same approval
    (a recovering process) can never carry it out after the first found it refused, even if
    the balance has changed in between.
    """

    type: ClassVar[str] = "approval.execute"
    approval_id: str
    command: ApprovableCommand


AccountCommand = (
    OpenAccount
    | DepositMoney
    | WithdrawMoney
    | CloseAccount
    | DebitForTransfer
    | CreditForTransfer
    | RefundTransfer
    | ReverseTransaction
    | PlaceHold
    | ReleaseHold
    | ExecuteApproved
)

# ── Events (facts; immutable, past tense) ─────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class AccountOpened:
    type: ClassVar[str] = "account.opened"
    account_id: str
    customer_id: str
    initial_balance: Decimal
    opened_at: datetime


@dataclass(frozen=True, slots=True)
class MoneyDeposited:
    type: ClassVar[str] = "money.deposited"
    account_id: str
    amount: Decimal
    description: str | None
    deposited_at: datetime
    transfer_id: str | None = None
    counterparty_account_id: str | None = None
    #: A transfer's refund (the credit side refused); not a clerk's reversal.
    reversal: bool = False
    #: A clerk's reversal: the event id of the withdrawal this deposit undoes.
    reverses_event_id: str | None = None


@dataclass(frozen=True, slots=True)
class MoneyWithdrawn:
    type: ClassVar[str] = "money.withdrawn"
    account_id: str
    amount: Decimal
    description: str | None
    withdrawn_at: datetime
    transfer_id: str | None = None
    counterparty_account_id: str | None = None
    #: A clerk's reversal: the event id of the deposit this withdrawal undoes.
    reverses_event_id: str | None = None


@dataclass(frozen=True, slots=True)
class WithdrawalRefused:
    """A transfer's debit leg was refused; the balance is unchanged."""

    type: ClassVar[str] = "money.withdrawal_refused"
    account_id: str
    amount: Decimal
    reason: str
    refused_at: datetime
    transfer_id: str
    counterparty_account_id: str


@dataclass(frozen=True, slots=True)
class AccountClosed:
    type: ClassVar[str] = "account.closed"
    account_id: str
    reason: str | None
    closed_at: datetime


@dataclass(frozen=True, slots=True)
class HoldPlaced:
    type: ClassVar[str] = "hold.placed"
    account_id: str
    hold_id: str
    amount: Decimal
    reason: str
    placed_at: datetime
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class HoldReleased:
    type: ClassVar[str] = "hold.released"
    account_id: str
    hold_id: str
    amount: Decimal
    released_at: datetime


@dataclass(frozen=True, slots=True)
class ApprovedCommandRefused:
    """An approved request was refused when it ran (the rules are checked again then);
    nothing changed on the account."""

    type: ClassVar[str] = "approval.execution_refused"
    account_id: str
    approval_id: str
    action: str  #: the refused command's type, e.g. ``money.withdraw``
    amount: Decimal
    reason: str
    refused_at: datetime


AccountEvent = (
    AccountOpened
    | MoneyDeposited
    | MoneyWithdrawn
    | WithdrawalRefused
    | AccountClosed
    | HoldPlaced
    | HoldReleased
    | ApprovedCommandRefused
)
#: What ``evolve`` folds: the events above, and any stored event this version does not know.
AccountHistoryEvent = AccountEvent | UnrecognizedEvent
ACCOUNT_EVENT_TYPES: tuple[str, ...] = (
    AccountOpened.type,
    MoneyDeposited.type,
    MoneyWithdrawn.type,
    WithdrawalRefused.type,
    AccountClosed.type,
    HoldPlaced.type,
    HoldReleased.type,
    ApprovedCommandRefused.type,
)

# ── State ─────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class AccountState:
    """What the rules need to know about one account, folded from its stream."""

    account_id: str | None = None
    customer_id: str | None = None
    balance: Decimal = ZERO
    status: AccountStatus = "not_found"
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    last_activity_at: datetime | None = None
    #: The first event of the stream this version does not understand (None: all of it).
    unrecognized: str | None = None
    #: Holds placed and not released, in the order placed. In the decider's state expired
    #: ones stay here (whether a hold counts depends on the moment asked about); the state
    #: ``BankService.get_account`` returns holds only those active when it was read.
    holds: tuple[Hold, ...] = ()
    #: Event ids of the transactions reversed so far (each may be reversed once).
    reversed_ids: frozenset[str] = frozenset()
    #: Ids of the holds released so far (releasing twice is refused).
    released_holds: frozenset[str] = frozenset()

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    @property
    def available_balance(self) -> Decimal:
        """The balance less every hold in :attr:`holds`."""
        return self.balance - held_amount(self.holds)

    def available_at(self, moment: datetime) -> Decimal:
        """The balance less the holds still active at ``moment``."""
        return self.balance - held_amount(active_holds(self.holds, moment))

    def active_at(self, moment: datetime) -> AccountState:
        """This state with only the holds active at ``moment`` (what a clerk is shown)."""
        return AccountState(
            self.account_id,
            self.customer_id,
            self.balance,
            self.status,
            self.opened_at,
            self.closed_at,
            self.last_activity_at,
            self.unrecognized,
            active_holds(self.holds, moment),
            self.reversed_ids,
            self.released_holds,
        )

    @property
    def exists(self) -> bool:
        return self.status != "not_found"


def initial_state() -> AccountState:
    return AccountState()
