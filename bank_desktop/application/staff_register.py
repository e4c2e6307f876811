"""The staff register and the policy in the store: roles, API tokens, the approval limit.

Both are streams of their own (``staff``, ``policy``) decided like any other; every question
("which roles does this clerk hold?", "what is the limit?", "whose token is this?") reads the
stream's new events first, so a grant, a revocation or a new limit made at another desk counts
at once, here and in every running ``serve``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Final, TypeVar

from bank_desktop.application import api_tokens
from bank_desktop.application.clock import Clock, wire_precision
from bank_desktop.application.command_handling import CommandHandler, CommandResult
from bank_desktop.application.ids import checked_command_id
from bank_desktop.application.request_claims import RequestClaims
from bank_desktop.application.stream_kinds import POLICY, STAFF, StreamKind, acting
from bank_desktop.domain import policy as po
from bank_desktop.domain import staff

#: The one stream of the staff register, and the one of the policy.
STAFF_STREAM: Final = "staff"
POLICY_STREAM: Final = "policy"

C = TypeVar("C")
E = TypeVar("E")
S = TypeVar("S")
MetadataFactory = Callable[[str, str], Mapping[str, Any]]


class StaffRegister:
    """Reads and changes the staff register and the policy for one acting clerk."""

    def __init__(
        self,
        handler: CommandHandler,
        claims: RequestClaims,
        *,
        clerk_id: str,
        clock: Clock,
        metadata: MetadataFactory,
    ) -> None:
        self._handler = handler
        self._claims = claims
        self._clerk = clerk_id
        self._clock = clock
        self._metadata = metadata

    def _now(self) -> datetime:
        return wire_precision(self._clock())

    def _run(
        self,
        stream_id: str,
        command: C,
        kind: StreamKind[C, E, S],
        command_id: str | None,
    ) -> CommandResult[S]:
        key = checked_command_id(command_id)
        # Read what other desks wrote first: a decision to do nothing ("held already") is not
        # checked by an append, so it must never be taken on a stale cache.
        self._handler.current(stream_id, kind)
        metadata = self._metadata(key, key)
        pending = None
        if command_id is not None:
            pending = self._claims.pending(key, stream_id, command, metadata)
        return self._handler.execute(
            stream_id, command, kind, command_id=key, metadata=metadata, claim=pending
        )

    # ── roles ─────────────────────────────────────────────────────────────────────────────

    def state(self) -> staff.StaffState:
        """The register as the store holds it now."""
        state, _ = self._handler.current(STAFF_STREAM, STAFF)
        return state

    def roles_of(self, clerk_id: str) -> frozenset[staff.Role]:
        return self.state().roles_of(clerk_id)

    def grant(
        self, clerk_id: str, role: str, *, command_id: str | None = None
    ) -> frozenset[staff.Role]:
        """Grant ``role``; returns every role the clerk holds afterwards."""
        clerk = staff.clerk_id(clerk_id)
        command = staff.GrantRole(clerk, staff.parse_role(role), self._clerk, self._now())
        return self._run(STAFF_STREAM, command, STAFF, command_id).state.roles_of(clerk)

    def revoke(
        self, clerk_id: str, role: str, *, command_id: str | None = None
    ) -> frozenset[staff.Role]:
        clerk = staff.clerk_id(clerk_id)
        command = staff.RevokeRole(clerk, staff.parse_role(role), self._clerk, self._now())
        return self._run(STAFF_STREAM, command, STAFF, command_id).state.roles_of(clerk)

    # ── API tokens ────────────────────────────────────────────────────────────────────────

    def issue_token(self, clerk_id: str) -> str:
        """A new API token for ``clerk_id`` (it replaces the clerk's previous one). Returned
        once: the register keeps only its keyed hash."""
        clerk = staff.clerk_id(clerk_id)
        if self.state().token_key is None:  # the store's first token: make its key first
            key_id, key = api_tokens.new_key()
            create = staff.CreateTokenKey(key_id, key, self._clerk, self._now())
            self._run(STAFF_STREAM, create, STAFF, None)  # a twin's key wins: nothing written
        key_record = self.state().token_key
        assert key_record is not None
        token_id, token = api_tokens.new_token()
        issue = staff.IssueToken(
            clerk,
            token_id,
            api_tokens.token_hash(key_record.key, token),
            key_record.key_id,
            self._clerk,
            self._now(),
        )
        self._run(STAFF_STREAM, issue, STAFF, None)
        return token

    def revoke_token(self, clerk_id: str) -> bool:
        """Revoke the clerk's token; False when they had none."""
        clerk = staff.clerk_id(clerk_id)
        command = staff.RevokeToken(clerk, self._clerk, self._now())
        return bool(self._run(STAFF_STREAM, command, STAFF, None).events)

    def authenticate(self, token: str) -> str | None:
        """The clerk whose current token this is, or None (unknown, revoked, malformed).

        Reads the register's new events first: a token issued a moment ago by another process
        works at once, a revoked one stops at once.
        """
        state = self.state()
        token_id = api_tokens.token_id_of(token)
        clerk = None if token_id is None else state.clerk_of_token(token_id)
        record = None if clerk is None else state.tokens.get(clerk)
        key = state.token_key
        if record is None or key is None or record.key_id != key.key_id:
            api_tokens.matches(None, token, None)  # the same work as for a known token
            return None
        return clerk if api_tokens.matches(key.key, token, record.token_hash) else None

    # ── the policy ────────────────────────────────────────────────────────────────────────

    def policy(self) -> po.PolicyState:
        """The policy as the store holds it now."""
        state, _ = self._handler.current(POLICY_STREAM, POLICY)
        return state

    def set_approval_limit(
        self, limit: Decimal | None, *, command_id: str | None = None
    ) -> po.PolicyState:
        roles = self.roles_of(self._clerk)
        command = po.SetApprovalLimit(limit, self._clerk, self._now())
        kind = acting(POLICY, po.decide, roles)
        return self._run(POLICY_STREAM, command, kind, command_id).state
