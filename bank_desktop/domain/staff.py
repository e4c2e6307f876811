"""The staff register decider: which roles each clerk holds, and the API token each may use.

The whole bank's staff is one stream, so every decision sees every grant before it: two desks
bootstrapping the first admin at the same moment cannot both succeed (the second append
conflicts, is decided again, and finds an admin already there).

Roles: *teller* (every clerk is one, granted or not), *supervisor* (approves requests above
the approval limit), *admin* (grants and revokes roles, sets the limit, issues API tokens).
The first admin can be granted by anyone, but only while the store has no admin at all; from
then on only admins change the register, and the last admin cannot be revoked (the register
would be open to anyone again).

Tokens are never in here: only the keyed hash of each (``token_hash``), the id that finds it,
and the key's id. One token per clerk; issuing a new one replaces the old.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Final, Literal, assert_never

from bank_desktop.domain.errors import (
    IllegalStateError,
    PermissionDeniedError,
    UnreadableHistoryError,
    ValidationError,
)
from bank_desktop.domain.history import UnrecognizedEvent
from bank_desktop.domain.text import required_text

Role = Literal["teller", "supervisor", "admin"]
ROLES: Final[tuple[Role, ...]] = ("teller", "supervisor", "admin")
TELLER: Final[Role] = "teller"
SUPERVISOR: Final[Role] = "supervisor"
ADMIN: Final[Role] = "admin"
#: The longest clerk id (the same bound as a BankService's clerk id).
CLERK_ID_LIMIT: Final = 64


def parse_role(value: object) -> Role:
    """A role named by a clerk or a client, or ValidationError listing the roles there are."""
    text = value.strip().lower() if isinstance(value, str) else None
    if text not in ROLES:
        raise ValidationError(
            f"Unknown role {value!r}: the roles are {', '.join(ROLES)}.",
            {"field": "role", "roles": list(ROLES)},
        )
    return text


def clerk_id(value: str, field: str = "Clerk id") -> str:
    """A clerk id as the register records it (trimmed, printable, at most 64 characters)."""
    return required_text(value, field, max_length=CLERK_ID_LIMIT)


# ── Commands ──────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class GrantRole:
    type: ClassVar[str] = "staff.grant_role"
    clerk_id: str
    role: Role
    granted_by: str
    at: datetime


@dataclass(frozen=True, slots=True)
class RevokeRole:
    type: ClassVar[str] = "staff.revoke_role"
    clerk_id: str
    role: Role
    revoked_by: str
    at: datetime


@dataclass(frozen=True, slots=True)
class CreateTokenKey:
    """Create the store's key for hashing API tokens, unless it has one (then: nothing)."""

    type: ClassVar[str] = "staff.create_token_key"
    key_id: str
    key: str
    created_by: str
    at: datetime


@dataclass(frozen=True, slots=True)
class IssueToken:
    type: ClassVar[str] = "staff.issue_token"
    clerk_id: str
    token_id: str
    token_hash: str
    key_id: str
    issued_by: str
    at: datetime


@dataclass(frozen=True, slots=True)
class RevokeToken:
    type: ClassVar[str] = "staff.revoke_token"
    clerk_id: str
    revoked_by: str
    at: datetime


StaffCommand = GrantRole | RevokeRole | CreateTokenKey | IssueToken | RevokeToken

# ── Events ────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class RoleGranted:
    type: ClassVar[str] = "staff.role_granted"
    clerk_id: str
    role: Role
    granted_by: str
    granted_at: datetime


@dataclass(frozen=True, slots=True)
class RoleRevoked:
    type: ClassVar[str] = "staff.role_revoked"
    clerk_id: str
    role: Role
    revoked_by: str
    revoked_at: datetime


@dataclass(frozen=True, slots=True)
class TokenKeyCreated:
    type: ClassVar[str] = "staff.token_key_created"
    key_id: str
    key: str
    created_by: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TokenIssued:
    type: ClassVar[str] = "staff.token_issued"
    clerk_id: str
    token_id: str
    token_hash: str
    key_id: str
    issued_by: str
    issued_at: datetime


@dataclass(frozen=True, slots=True)
class TokenRevoked:
    type: ClassVar[str] = "staff.token_revoked"
    clerk_id: str
    token_id: str
    revoked_by: str
    revoked_at: datetime


StaffEvent = RoleGranted | RoleRevoked | TokenKeyCreated | TokenIssued | TokenRevoked
StaffHistoryEvent = StaffEvent | UnrecognizedEvent
STAFF_EVENT_TYPES: Final[tuple[str, ...]] = (
    RoleGranted.type,
    RoleRevoked.type,
    TokenKeyCreated.type,
    TokenIssued.type,
    TokenRevoked.type,
)

# ── State ─────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class ApiToken:
    """A clerk's current API token, as the register keeps it: never the token itself."""

    token_id: str
    token_hash: str
    key_id: str
    issued_by: str
    issued_at: datetime


@dataclass(frozen=True, slots=True)
class TokenKey:
    key_id: str
    key: str


@dataclass(frozen=True, slots=True)
class StaffState:
    """Granted roles per clerk (teller is implied for everyone), tokens per clerk, the key."""

    granted: dict[str, frozenset[Role]] = field(default_factory=dict)
    tokens: dict[str, ApiToken] = field(default_factory=dict)
    token_key: TokenKey | None = None
    #: The first event of the stream this version does not understand (None: all of it).
    unrecognized: str | None = None

    def roles_of(self, clerk: str) -> frozenset[Role]:
        """Every role ``clerk`` holds, teller included."""
        return self.granted.get(clerk, frozenset()) | {TELLER}

    def holders_of(self, role: Role) -> list[str]:
        return sorted(clerk for clerk, roles in self.granted.items() if role in roles)

    @property
    def has_admin(self) -> bool:
        return any(ADMIN in roles for roles in self.granted.values())

    def clerk_of_token(self, token_id: str) -> str | None:
        for clerk, token in self.tokens.items():
            if token.token_id == token_id:
                return clerk
        return None


def initial_state() -> StaffState:
    return StaffState()


# ── decide ────────────────────────────────────────────────────────────────────────────────


def decide(command: StaffCommand, state: StaffState) -> list[StaffEvent]:
    if state.unrecognized is not None:  # who holds what is not fully known: change nothing
        raise UnreadableHistoryError("staff", "The register", state.unrecognized)
    match command:
        case GrantRole():
            return _grant(command, state)
        case RevokeRole():
            return _revoke(command, state)
        case CreateTokenKey():
            _require_token_admin(state, command.created_by, None)
            if state.token_key is not None:
                return []
            key_id = required_text(command.key_id, "Key id", max_length=64)
            key = required_text(command.key, "Key", max_length=200)
            return [TokenKeyCreated(key_id, key, command.created_by, command.at)]
        case IssueToken():
            return [_issue(command, state)]
        case RevokeToken():
            clerk = clerk_id(command.clerk_id)
            _require_token_admin(state, command.revoked_by, clerk)
            token = state.tokens.get(clerk)
            if token is None:
                return []
            return [TokenRevoked(clerk, token.token_id, command.revoked_by, command.at)]
        case _:
            assert_never(command)


def _grant(command: GrantRole, state: StaffState) -> list[StaffEvent]:
    clerk = clerk_id(command.clerk_id)
    role = parse_role(command.role)
    bootstrap = role == ADMIN and not state.has_admin
    if not bootstrap:
        _require_admin(state, command.granted_by, "grant roles")
    if role in state.granted.get(clerk, frozenset()):
        return []
    return [RoleGranted(clerk, role, command.granted_by, command.at)]


def _revoke(command: RevokeRole, state: StaffState) -> list[StaffEvent]:
    clerk = clerk_id(command.clerk_id)
    role = parse_role(command.role)
    _require_admin(state, command.revoked_by, "revoke roles")
    if role not in state.granted.get(clerk, frozenset()):
        return []
    if role == ADMIN and state.holders_of(ADMIN) == [clerk]:
        raise IllegalStateError(
            f"{clerk} is the only admin: grant the admin role to someone else before revoking "
            "it, or nobody could manage the staff any more.",
            {"clerkId": clerk, "role": role},
            state="last_admin",
            action="revoke role",
        )
    return [RoleRevoked(clerk, role, command.revoked_by, command.at)]


def _issue(command: IssueToken, state: StaffState) -> TokenIssued:
    clerk = clerk_id(command.clerk_id)
    _require_token_admin(state, command.issued_by, None)
    key = state.token_key
    if key is None or key.key_id != command.key_id:
        raise IllegalStateError(
            "The token was hashed with a key this store does not have; issue it again.",
            {"keyId": command.key_id},
            state="no_key",
            action="issue token",
        )
    token_id = required_text(command.token_id, "Token id", max_length=64)
    token_hash = required_text(command.token_hash, "Token hash", max_length=200)
    return TokenIssued(clerk, token_id, token_hash, key.key_id, command.issued_by, command.at)


def _require_admin(state: StaffState, actor: str, action: str) -> None:
    if ADMIN in state.roles_of(actor):
        return
    if not state.has_admin:
        raise PermissionDeniedError(
            f"There is no admin yet, so nobody can {action}: first grant the admin role to "
            "the person who manages the staff.",
            {"clerkId": actor, "required": ADMIN},
        )
    raise PermissionDeniedError(
        f"Only an admin can {action}; {actor} is not an admin.",
        {"clerkId": actor, "required": ADMIN},
    )


def _require_token_admin(state: StaffState, actor: str, own: str | None) -> None:
    """Tokens are an admin's business once the store has an admin; before that (a desk
    setting itself up) anyone may issue them. Anyone may always revoke their own (``own``)."""
    if not state.has_admin or actor == own:
        return
    _require_admin(state, actor, "issue or revoke API tokens")


# ── evolve ────────────────────────────────────────────────────────────────────────────────


def evolve(state: StaffState, event: StaffHistoryEvent) -> StaffState:
    match event:
        case RoleGranted():
            granted = dict(state.granted)
            granted[event.clerk_id] = granted.get(event.clerk_id, frozenset()) | {event.role}
            return StaffState(granted, state.tokens, state.token_key, state.unrecognized)
        case RoleRevoked():
            granted = dict(state.granted)
            left = granted.get(event.clerk_id, frozenset()) - {event.role}
            if left:
                granted[event.clerk_id] = left
            else:
                granted.pop(event.clerk_id, None)
            return StaffState(granted, state.tokens, state.token_key, state.unrecognized)
        case TokenKeyCreated():
            if state.token_key is not None:
                return state
            key = TokenKey(event.key_id, event.key)
            return StaffState(state.granted, state.tokens, key, state.unrecognized)
        case TokenIssued():
            tokens = dict(state.tokens)
            tokens[event.clerk_id] = ApiToken(
                event.token_id, event.token_hash, event.key_id, event.issued_by, event.issued_at
            )
            return StaffState(state.granted, tokens, state.token_key, state.unrecognized)
        case TokenRevoked():
            tokens = dict(state.tokens)
            current = tokens.get(event.clerk_id)
            if current is not None and current.token_id == event.token_id:
                del tokens[event.clerk_id]
            return StaffState(state.granted, tokens, state.token_key, state.unrecognized)
        case UnrecognizedEvent():
            if state.unrecognized is not None:
                return state
            return StaffState(state.granted, state.tokens, state.token_key, event.describe())
        case _:
            assert_never(event)
