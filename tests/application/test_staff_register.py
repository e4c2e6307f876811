"""Staff, policy and API tokens in the store, through ``BankService`` (DESIGN §10).

Each desk's service reads the register on every call, so a change made through another service
(another desk, another process) counts at once; two desks bootstrapping at once end with one
admin; tokens are stored only as keyed hashes.
"""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest

from bank_desktop.application import BankService
from bank_desktop.application.staff_register import POLICY_STREAM, STAFF_STREAM
from bank_desktop.domain import (
    CommandIdReusedError,
    IllegalStateError,
    PermissionDeniedError,
    ValidationError,
)
from bank_desktop.eventstore import open_store
from bank_desktop.eventstore.port import EventStore
from tests.application.conftest import StepClock


def service(store: EventStore, clerk: str) -> BankService:
    return BankService(store, clerk_id=clerk, clock=StepClock())


@pytest.fixture
def admin(store: EventStore) -> BankService:
    bank = service(store, "admin-1")
    bank.grant_role("admin-1", "admin")
    return bank


def test_the_first_admin_then_only_admins_grant(store: EventStore) -> None:
    nobody = service(store, "someone")
    with pytest.raises(PermissionDeniedError, match="no admin yet"):
        nobody.grant_role("sup-1", "supervisor")
    admin = service(store, "admin-1")
    assert admin.grant_role("admin-1", "admin") == {"teller", "admin"}
    with pytest.raises(PermissionDeniedError, match="someone is not an admin"):
        nobody.grant_role("someone", "admin")
    assert admin.grant_role("sup-1", "supervisor") == {"teller", "supervisor"}
    # another desk sees the grant at once: the register is read on every call
    assert service(store, "sup-1").roles_of() == {"teller", "supervisor"}
    assert admin.revoke_role("sup-1", "supervisor") == {"teller"}
    assert nobody.roles_of("sup-1") == {"teller"}


def test_events_say_who_changed_the_register(admin: BankService, store: EventStore) -> None:
    admin.grant_role("sup-1", "supervisor")
    last = store.read_stream(STAFF_STREAM)[-1]
    assert last.type == "staff.role_granted"
    assert last.data["clerkId"] == "sup-1"
    assert last.data["grantedBy"] == "admin-1"
    assert last.metadata["clerkId"] == "admin-1"


def test_refusals_write_nothing(admin: BankService, store: EventStore) -> None:
    before = store.head_position()
    with pytest.raises(ValidationError, match="roles are"):
        admin.grant_role("sup-1", "boss")
    with pytest.raises(ValidationError):
        admin.grant_role("  ", "supervisor")
    with pytest.raises(IllegalStateError, match="only admin"):
        admin.revoke_role("admin-1", "admin")
    teller = service(store, "teller-1")
    with pytest.raises(PermissionDeniedError):
        teller.set_approval_limit("10")
    with pytest.raises(PermissionDeniedError):
        teller.issue_token("teller-1")
    assert store.head_position() == before


def test_a_request_id_names_one_staff_change(admin: BankService) -> None:
    admin.grant_role("sup-1", "supervisor", command_id="g-1")
    assert admin.grant_role("sup-1", "supervisor", command_id="g-1") == {"teller", "supervisor"}
    with pytest.raises(CommandIdReusedError):
        admin.grant_role("sup-2", "supervisor", command_id="g-1")


def test_two_desks_bootstrapping_at_once_make_one_admin(tmp_path: object) -> None:
    """Eight services on one SQLite file race for the first admin: exactly one wins."""
    url = f"sqlite://{tmp_path}/bank.db"
    stores = [open_store(url) for _ in range(8)]
    start = threading.Barrier(len(stores))
    outcomes: list[str] = []

    def bootstrap(index: int) -> None:
        bank = service(stores[index], f"admin-{index}")
        start.wait()
        try:
            bank.grant_role(f"admin-{index}", "admin")
        except PermissionDeniedError:
            outcomes.append("refused")
        else:
            outcomes.append("granted")

    threads = [threading.Thread(target=bootstrap, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    try:
        assert sorted(outcomes) == ["granted"] + ["refused"] * 7
        assert len(service(stores[0], "x").staff().holders_of("admin")) == 1
    finally:
        for opened in stores:
            opened.close()


def test_the_approval_limit(admin: BankService, store: EventStore) -> None:
    assert admin.approval_limit() is None
    assert admin.set_approval_limit("5,000.00") == Decimal("5000.00")
    assert service(store, "teller-1").approval_limit() == Decimal("5000.00")
    assert store.read_stream(POLICY_STREAM)[-1].data == {
        "approvalLimit": Decimal("5000.00"),
        "setBy": "admin-1",
        "setAt": store.read_stream(POLICY_STREAM)[-1].data["setAt"],
    }
    assert admin.set_approval_limit(None) is None
    with pytest.raises(ValidationError, match="must not be negative"):
        admin.set_approval_limit("-1")
    with pytest.raises(TypeError):
        admin.set_approval_limit(5000.0)  # type: ignore[arg-type]


class TestApiTokens:
    def test_a_token_names_its_clerk_and_is_never_stored(
        self, admin: BankService, store: EventStore
    ) -> None:
        token = admin.issue_token("teller-1")
        assert token.startswith("bdt_")
        other_desk = service(store, "serve")
        assert other_desk.authenticate(token) == "teller-1"  # at once, in another service
        every_byte = repr([(e.data, e.metadata) for e in store.read_all(limit=10_000)])
        assert token not in every_byte
        secret = token.split("_", 2)[2]  # the secret may hold "_" itself
        assert secret not in every_byte

    def test_unknown_tampered_and_malformed_tokens_name_nobody(self, admin: BankService) -> None:
        token = admin.issue_token("teller-1")
        assert admin.authenticate(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
        assert admin.authenticate("") is None
        assert admin.authenticate("bdt_0000000000000000_" + "x" * 43) is None
        assert admin.authenticate(token + " ") is None

    def test_a_new_token_replaces_the_old_and_revoked_ones_stop(
        self, admin: BankService, store: EventStore
    ) -> None:
        first = admin.issue_token("teller-1")
        second = admin.issue_token("teller-1")
        serve = service(store, "serve")
        assert serve.authenticate(first) is None
        assert serve.authenticate(second) == "teller-1"
        assert admin.revoke_token("teller-1") is True
        assert serve.authenticate(second) is None
        assert admin.revoke_token("teller-1") is False

    def test_a_store_gets_one_key_however_many_desks_issue_at_once(self, store: EventStore) -> None:
        banks = [service(store, f"desk-{i}") for i in range(6)]  # no admin yet: anyone may
        start = threading.Barrier(len(banks))
        tokens: dict[str, str] = {}

        def issue(bank: BankService) -> None:
            start.wait()
            tokens[bank.clerk_id] = bank.issue_token(bank.clerk_id)

        threads = [threading.Thread(target=issue, args=(bank,)) for bank in banks]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        keys = [e for e in store.read_stream(STAFF_STREAM) if e.type == "staff.token_key_created"]
        assert len(keys) == 1
        for clerk, token in tokens.items():
            assert banks[0].authenticate(token) == clerk

    def test_once_there_is_an_admin_tokens_are_theirs_to_issue(
        self, admin: BankService, store: EventStore
    ) -> None:
        teller = service(store, "teller-1")
        with pytest.raises(PermissionDeniedError):
            teller.issue_token("teller-1")
        token = admin.issue_token("teller-1")
        assert teller.revoke_token("teller-1") is True  # but anyone may revoke their own
        assert teller.authenticate(token) is None
