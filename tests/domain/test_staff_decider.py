"""The staff register decider: bootstrap of the first admin, grants and revokes by admins only,
the last admin kept, tokens issued and revoked (an admin's business once there is one).

Grouped by the register's starting state: empty (no admin yet), then with an admin.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given as hgiven
from hypothesis import strategies as st

from bank_desktop.domain import staff
from bank_desktop.domain.errors import (
    IllegalStateError,
    PermissionDeniedError,
    UnreadableHistoryError,
    ValidationError,
)
from bank_desktop.domain.history import UnrecognizedEvent
from bank_desktop.domain.staff import (
    CreateTokenKey,
    GrantRole,
    IssueToken,
    RevokeRole,
    RevokeToken,
    RoleGranted,
    RoleRevoked,
    StaffCommand,
    StaffHistoryEvent,
    StaffState,
    TokenIssued,
    TokenKeyCreated,
    TokenRevoked,
)
from tests.domain.decider_spec import DeciderSpec

spec: DeciderSpec[StaffState, StaffCommand, StaffHistoryEvent] = DeciderSpec(
    staff.decide,  # type: ignore[arg-type]
    staff.evolve,
    staff.initial_state,
)
given = spec.given
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

ADMIN_1 = RoleGranted("admin-1", "admin", "admin-1", T0)
KEY = TokenKeyCreated("k1", "secret-key", "admin-1", T0)


class TestWhenNoAdminExists:
    def test_anyone_may_grant_the_first_admin(self) -> None:
        assert given().when(GrantRole("admin-1", "admin", "admin-1", T0)) == [ADMIN_1]

    def test_the_first_admin_may_be_someone_else(self) -> None:
        events = given().when(GrantRole("alice", "admin", "it-desk", T0))
        assert events == [RoleGranted("alice", "admin", "it-desk", T0)]

    @pytest.mark.parametrize("role", ["supervisor", "teller"])
    def test_no_other_role_can_be_granted(self, role: staff.Role) -> None:
        with pytest.raises(PermissionDeniedError, match="no admin yet"):
            given().when(GrantRole("sup-1", role, "someone", T0))

    def test_tokens_may_be_issued_while_a_desk_sets_itself_up(self) -> None:
        assert given().when(CreateTokenKey("k1", "secret-key", "clerk-1", T0)) == [
            TokenKeyCreated("k1", "secret-key", "clerk-1", T0)
        ]
        issued = given(KEY).when(IssueToken("clerk-1", "t1", "hash", "k1", "clerk-1", T0))
        assert issued == [TokenIssued("clerk-1", "t1", "hash", "k1", "clerk-1", T0)]

    def test_every_clerk_is_a_teller(self) -> None:
        assert given().state.roles_of("anyone") == {"teller"}
        assert not given().state.has_admin


class TestWhenAnAdminExists:
    def test_a_second_bootstrap_is_refused(self) -> None:
        with pytest.raises(PermissionDeniedError, match="not an admin"):
            given(ADMIN_1).when(GrantRole("intruder", "admin", "intruder", T0))

    def test_the_admin_grants_roles(self) -> None:
        events = given(ADMIN_1).when(GrantRole("sup-1", "supervisor", "admin-1", T0))
        assert events == [RoleGranted("sup-1", "supervisor", "admin-1", T0)]
        state = given(ADMIN_1, *events).state
        assert state.roles_of("sup-1") == {"teller", "supervisor"}

    def test_a_non_admin_cannot_grant_or_revoke(self) -> None:
        sup = RoleGranted("sup-1", "supervisor", "admin-1", T0)
        with pytest.raises(PermissionDeniedError, match="sup-1 is not an admin"):
            given(ADMIN_1, sup).when(GrantRole("sup-2", "supervisor", "sup-1", T0))
        with pytest.raises(PermissionDeniedError):
            given(ADMIN_1, sup).when(RevokeRole("sup-1", "supervisor", "sup-1", T0))

    def test_granting_a_held_role_again_changes_nothing(self) -> None:
        assert given(ADMIN_1).when(GrantRole("admin-1", "admin", "admin-1", T0)) == []

    def test_revoking(self) -> None:
        sup = RoleGranted("sup-1", "supervisor", "admin-1", T0)
        events = given(ADMIN_1, sup).when(RevokeRole("sup-1", "supervisor", "admin-1", T0))
        assert events == [RoleRevoked("sup-1", "supervisor", "admin-1", T0)]
        assert given(ADMIN_1, sup, *events).state.roles_of("sup-1") == {"teller"}
        assert given(ADMIN_1).when(RevokeRole("nobody", "supervisor", "admin-1", T0)) == []

    def test_the_last_admin_cannot_be_revoked(self) -> None:
        with pytest.raises(IllegalStateError, match="only admin"):
            given(ADMIN_1).when(RevokeRole("admin-1", "admin", "admin-1", T0))
        second = RoleGranted("admin-2", "admin", "admin-1", T0)
        events = given(ADMIN_1, second).when(RevokeRole("admin-1", "admin", "admin-2", T0))
        assert events == [RoleRevoked("admin-1", "admin", "admin-2", T0)]

    def test_tokens_are_an_admins_business(self) -> None:
        with pytest.raises(PermissionDeniedError):
            given(ADMIN_1, KEY).when(IssueToken("teller-1", "t1", "h", "k1", "teller-1", T0))
        with pytest.raises(PermissionDeniedError):
            given(ADMIN_1).when(CreateTokenKey("k1", "key", "teller-1", T0))
        issued = given(ADMIN_1, KEY).when(IssueToken("teller-1", "t1", "h", "k1", "admin-1", T0))
        assert issued == [TokenIssued("teller-1", "t1", "h", "k1", "admin-1", T0)]

    def test_a_clerk_may_revoke_their_own_token(self) -> None:
        token = TokenIssued("teller-1", "t1", "h", "k1", "admin-1", T0)
        events = given(ADMIN_1, KEY, token).when(RevokeToken("teller-1", "teller-1", T0))
        assert events == [TokenRevoked("teller-1", "t1", "teller-1", T0)]
        with pytest.raises(PermissionDeniedError):
            given(ADMIN_1, KEY, token).when(RevokeToken("teller-1", "teller-2", T0))

    def test_a_new_token_replaces_the_old_and_a_revoke_removes_it(self) -> None:
        first = TokenIssued("teller-1", "t1", "h1", "k1", "admin-1", T0)
        second = TokenIssued("teller-1", "t2", "h2", "k1", "admin-1", T0)
        state = given(ADMIN_1, KEY, first, second).state
        assert state.tokens["teller-1"].token_id == "t2"
        assert state.clerk_of_token("t1") is None
        assert state.clerk_of_token("t2") == "teller-1"
        stale = TokenRevoked("teller-1", "t1", "admin-1", T0)  # an older token's revocation
        assert given(ADMIN_1, KEY, first, second, stale).state.clerk_of_token("t2") == "teller-1"
        assert given(ADMIN_1, KEY).when(RevokeToken("teller-1", "admin-1", T0)) == []

    def test_a_token_hashed_with_an_unknown_key_is_refused(self) -> None:
        with pytest.raises(IllegalStateError, match="key"):
            given(ADMIN_1).when(IssueToken("teller-1", "t1", "h", "k1", "admin-1", T0))
        with pytest.raises(IllegalStateError, match="key"):
            given(ADMIN_1, KEY).when(IssueToken("teller-1", "t1", "h", "k9", "admin-1", T0))

    def test_the_key_is_created_once(self) -> None:
        assert given(ADMIN_1, KEY).when(CreateTokenKey("k2", "other", "admin-1", T0)) == []


class TestInput:
    @pytest.mark.parametrize("role", ["root", "", "Supervisors"])
    def test_unknown_roles_are_refused(self, role: str) -> None:
        with pytest.raises(ValidationError, match="roles are teller, supervisor, admin"):
            staff.parse_role(role)

    def test_roles_are_read_leniently(self) -> None:
        assert staff.parse_role(" Supervisor ") == "supervisor"

    @pytest.mark.parametrize("clerk", ["", "   ", "a\u202eb", "x" * 65])
    def test_bad_clerk_ids_are_refused(self, clerk: str) -> None:
        with pytest.raises(ValidationError):
            given().when(GrantRole(clerk, "admin", "it", T0))

    def test_an_unreadable_register_decides_nothing(self) -> None:
        with pytest.raises(UnreadableHistoryError):
            given(ADMIN_1, UnrecognizedEvent("staff.future", 2)).when(
                GrantRole("sup-1", "supervisor", "admin-1", T0)
            )


@hgiven(
    st.lists(
        st.tuples(
            st.sampled_from(["grant", "revoke"]),
            st.sampled_from(["a", "b", "c"]),
            st.sampled_from(staff.ROLES),
            st.sampled_from(["a", "b", "c"]),
        ),
        max_size=30,
    )
)
def test_once_there_is_an_admin_there_always_is_one(
    steps: list[tuple[str, str, staff.Role, str]],
) -> None:
    """Whatever anyone tries, in any order, an admin once granted never leaves the register
    without one, and only admins (or the bootstrap) ever change it."""
    state = staff.initial_state()
    for action, clerk, role, actor in steps:
        command: StaffCommand = (
            GrantRole(clerk, role, actor, T0)
            if action == "grant"
            else RevokeRole(clerk, role, actor, T0)
        )
        had_admin = state.has_admin
        actor_was_admin = "admin" in state.roles_of(actor)
        try:
            events = staff.decide(command, state)
        except (PermissionDeniedError, IllegalStateError):
            continue
        if events and had_admin:
            assert actor_was_admin
        for event in events:
            state = staff.evolve(state, event)
        if had_admin:
            assert state.has_admin
