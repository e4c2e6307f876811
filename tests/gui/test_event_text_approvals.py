"""The Event log's text says who asked for and who approved what an approval carried out, and
never shows the store's token key."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from bank_desktop.application import BankService
from bank_desktop.domain import ApprovalRequired
from bank_desktop.eventstore import RecordedEvent, open_store
from bank_desktop.gui.event_text import approval_of, clerk_of, format_event_details


def _store_with_an_approved_withdrawal() -> tuple[list[RecordedEvent], str]:
    store = open_store("memory://")
    admin = BankService(store, clerk_id="admin-1")
    admin.grant_role("admin-1", "admin")
    admin.grant_role("sup-1", "supervisor")
    admin.set_approval_limit("100")
    admin.issue_token("teller-1")
    teller = BankService(store, clerk_id="teller-1")
    account = teller.open_account("cust-1", "500")
    try:
        teller.withdraw(account, "200")
    except ApprovalRequired as held:
        approval_id = held.approval_id
    BankService(store, clerk_id="sup-1").approve(approval_id)
    return store.read_all(limit=1000), approval_id


def test_an_approved_withdrawal_names_who_asked_and_who_approved() -> None:
    events, approval_id = _store_with_an_approved_withdrawal()
    (withdrawn,) = [e for e in events if e.type == "money.withdrawn"]
    assert clerk_of(withdrawn) == "sup-1 (requested by teller-1, approved by sup-1)"
    details = format_event_details(withdrawn)
    assert details.splitlines()[1] == (
        f"Approval ({approval_id}): requested by teller-1, approved by sup-1"
    )
    (requested,) = [e for e in events if e.type == "approval.requested"]
    assert clerk_of(requested) == "teller-1 (requested by teller-1)"
    (approved,) = [e for e in events if e.type == "approval.approved"]
    assert approval_of(approved) == "approved by sup-1"


def test_plain_events_are_shown_as_before() -> None:
    events, _ = _store_with_an_approved_withdrawal()
    (opened,) = [e for e in events if e.type == "account.opened"]
    assert clerk_of(opened) == "teller-1"
    assert format_event_details(opened).splitlines()[1] == ""


def test_the_token_key_is_never_shown() -> None:
    events, _ = _store_with_an_approved_withdrawal()
    (key,) = [e for e in events if e.type == "staff.token_key_created"]
    details = format_event_details(key)
    assert key.data["key"] not in details
    assert '"key": "(secret, not shown)"' in details


def test_odd_values_never_raise() -> None:
    odd = RecordedEvent(
        "e1",
        "money.withdrawn",
        {"approvedBy": ["x"], "amount": Decimal("1")},
        "account-a",
        1,
        1,
        datetime(2026, 1, 1, tzinfo=UTC),
        {"clerkId": "c", "requestedBy": "a\u202eb"},
    )
    assert clerk_of(odd) == "c (requested by a\\u202eb, approved by ['x'])"
