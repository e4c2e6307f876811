"""What the window's loading worker computes off the GUI thread and hands over."""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter
from typing import Final

from bank_desktop.application.key_scan import KeyScan
from bank_desktop.application.projections import ReadModel
from bank_desktop.application.read_model_session import ReadModelSession
from bank_desktop.domain import format_money
from bank_desktop.eventstore import EventStore, SnapshotStore
from bank_desktop.gui.models.accounts import customer_text

Widest = tuple[list[str], list[str], list[str]]
ID_SAMPLE: Final = 1000
_CENTS: Final = attrgetter("cents")


def widest_texts(model: ReadModel) -> Widest:
    """Texts the accounts columns must fit: the balances that may be widest when shown (the
    largest and the most negative), account ids and customers as shown (names, or ids). Runs
    on the loading worker."""
    rows = list(model.balances)
    if not rows:
        return [], [], []
    lowest, highest = min(rows, key=_CENTS), max(rows, key=_CENTS)
    # Ids: the longest by length, and a sample (Qt's own ResizeToContents looks at 1,000 rows),
    # because a letter's width varies where a digit's does not.
    sample = rows[:ID_SAMPLE]
    ids = [max((row.account_id for row in rows), key=len)] + [r.account_id for r in sample]
    names = [customer_text(row) for row in rows]
    customers = [max(names, key=len), *names[:ID_SAMPLE]]
    return [format_money(lowest.balance), format_money(highest.balance)], ids, customers


@dataclass(frozen=True, slots=True)
class Loaded:
    """What the loading worker hands the GUI thread."""

    session: ReadModelSession  #: loaded; its ``notices`` are for the status bar
    keys: list[str]
    widest: Widest
    opened: tuple[EventStore, SnapshotStore] | None  #: a store that was not open until now
    scan: KeyScan | None = None  #: over ``keys``, joined on the worker (see ``KeyScan``)
    #: Per row, its customer's place in the customers projection (-1: none), for the filter.
    owner_positions: list[int] | None = None

    @property
    def model(self) -> ReadModel:
        return self.session.model
