"""A doubtful DeltaBase append is looked for by command id only within its namespace.

When an append's outcome is unknown and our event ids are not found, the stream is searched
by command id and types. A client's event carrying the text of an internal step's id (as an
older version let clients write) must not be taken for that step, or the step would be
believed done when it never landed (issue 11, item 1).
"""

from __future__ import annotations

from datetime import UTC, datetime

from bank_desktop.eventstore.deltabase._append import _locate
from bank_desktop.eventstore.port import NewEvent, RecordedEvent


def _recorded(metadata: dict[str, str]) -> RecordedEvent:
    return RecordedEvent(
        "their-event",
        "money.deposited",
        {"accountId": "account-x", "amount": 1},
        "account-x",
        3,
        10,
        datetime(2026, 11, 2, tzinfo=UTC),
        metadata,
    )


def test_a_client_event_with_the_text_of_an_internal_id_is_not_our_step() -> None:
    ours = NewEvent(
        "money.deposited",
        {"accountId": "account-x", "amount": 1},
        {"commandId": "transfer-aaaaaaaaaaaa:credit", "commandScope": "internal"},
    )
    planted = _recorded({"commandId": "transfer-aaaaaaaaaaaa:credit"})
    assert _locate([planted], [ours]) is None
    same = _recorded({"commandId": "transfer-aaaaaaaaaaaa:credit", "commandScope": "internal"})
    assert _locate([same], [ours]) == [same]
