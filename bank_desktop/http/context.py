"""What every request handler shares: the store, the services per clerk, the read side.

Handlers receive it as a FastAPI dependency (``api: Api`` in their signature), and ``serve``'s
settings come in one object (:class:`ServeSettings`).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Final, TypeVar

from fastapi import Depends
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from bank_desktop.application import BankService, RecoveryReport
from bank_desktop.application.lru import LockedLru
from bank_desktop.domain.errors import ValidationError
from bank_desktop.domain.text import required_text
from bank_desktop.eventstore import EventStore, SnapshotStore
from bank_desktop.http.clerk_auth import authenticated_clerk, owed_token_check
from bank_desktop.http.errors import ApiError, field_error
from bank_desktop.http.host_guard import LOOPBACK_NAMES
from bank_desktop.http.read_side import LiveReadModel

_log = logging.getLogger("bank_desktop.http")

T = TypeVar("T")

#: The seed's default webhook token: fine on a laptop, never in production.
SEED_DEV_TOKEN: Final = "dev-token"
#: Shortest webhook token accepted outside ``--dev`` (a guessable secret protects nothing).
MIN_TOKEN_LENGTH: Final = 32
#: A command that prints a good token (shown in the refusal; tested to work as written).
MAKE_TOKEN: Final = "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
#: Threads running commands at once (anyio's default pool has 40): enough to fill a shared
#: commit, few enough that a burst queues here rather than at the store's lock.
COMMAND_THREADS: Final = 16
#: Services kept for clerks other than the default (each has its own stream cache).
CLERK_SERVICES: Final = 64
#: Header naming the clerk a command is recorded for.
CLERK_HEADER: Final = "X-Clerk-Id"
#: Response header: the global position of the last event a write produced (an upper bound).
POSITION_HEADER: Final = "X-Event-Position"
#: Request header alternative to ``?after=``: wait until the read model has applied this.
WAIT_HEADER: Final = "X-Wait-For-Position"
#: Response header on reads: the global position the read model had applied.
READ_POSITION_HEADER: Final = "X-Read-Position"
#: Transfers younger than this are left to the process that started them.
RECOVERY_MIN_AGE: Final = timedelta(seconds=30)


class InsecureTokenError(ValueError):
    """The webhook token is the seed's default or too short, and ``--dev`` was not given."""


def checked_projection_token(token: str | None, *, dev: bool) -> str | None:
    """The token the webhook requires, or None: without a token (and without ``dev``) the
    webhook is off. Refuses the seed's default and tokens under 32 characters unless ``dev``."""
    token = (token or "").strip()
    if dev:
        return token or SEED_DEV_TOKEN
    if not token:
        return None
    advice = (
        f"set a random secret of {MIN_TOKEN_LENGTH} or more characters (e.g. the output of "
        f"`{MAKE_TOKEN}`), or pass --dev on a development machine."
    )
    if token == SEED_DEV_TOKEN:
        raise InsecureTokenError(
            f"PROJECTION_AUTH_TOKEN is the seed's default {SEED_DEV_TOKEN!r}: {advice}"
        )
    if len(token) < MIN_TOKEN_LENGTH:
        raise InsecureTokenError(
            f"PROJECTION_AUTH_TOKEN has only {len(token)} characters: {advice}"
        )
    return token


@dataclass(frozen=True, slots=True)
class ServeSettings:
    """How ``serve`` runs the API over a store (``create_app(store, settings)``)."""

    #: Who the server's own work (recovery) is recorded for; in open mode also the clerk of
    #: a request that names none. Otherwise each request acts as its token's clerk.
    clerk_id: str
    #: The webhook's token (PROJECTION_AUTH_TOKEN); None: the webhook is off. ``create_app``
    #: refuses the seed's default or a short one unless ``dev``.
    projection_token: str | None = None
    dev: bool = False
    #: Where snapshots (``<data_dir>/serve``) and the store's record go; None: neither.
    data_dir: Path | None = None
    #: Snapshots elsewhere than under ``data_dir`` (tests).
    snapshots: SnapshotStore | None = field(default=None, compare=False)
    wait_timeout: float = 5.0  #: the longest a read waits for ``?after=``
    #: What DeltaBase numbers the first event of a stream (0); ours is 1.
    webhook_position_base: int = 0
    recovery_interval: float = 60.0  #: seconds between recoveries of interrupted transfers
    snapshot_interval: float = 300.0  #: seconds between snapshots (when the model moved)
    idle_wait: float = 0.25  #: how long the subscription waits for news per turn
    #: Once news arrives, how long the read model lets more gather before reading it: under
    #: a stream of writes it applies them a few at a time (read-your-writes waits that long
    #: at most more).
    live_gather: float = 0.002
    close_store: bool = False  #: close the store when the app stops
    #: Names requests may use for the server (see :mod:`bank_desktop.http.host_guard`).
    allowed_hosts: Collection[str] = LOOPBACK_NAMES
    #: The seed tutorial's mode: no client tokens, ``X-Clerk-Id`` names the clerk (``serve
    #: --open``, loopback only). Otherwise every request needs a clerk's API token.
    open: bool = False


class ApiContext:
    """One per app, in ``app.state.api``; handlers receive it as the dependency :data:`Api`."""

    def __init__(
        self,
        store: EventStore,
        live: LiveReadModel,
        settings: ServeSettings,
        *,
        services: Callable[[str], BankService] | None = None,
    ) -> None:
        self.store = store
        self.live = live
        self.settings = settings
        self.ledgers = live.ledgers
        self._make_service = services or (lambda clerk: BankService(store, clerk_id=clerk))
        self._default = self._make_service(settings.clerk_id)
        self._services: LockedLru[str, BankService] = LockedLru(CLERK_SERVICES)
        token = settings.projection_token
        self._expected_auth = f"Bearer {token}".encode() if token else None
        self._commands = ThreadPoolExecutor(COMMAND_THREADS, thread_name_prefix="bank-command")
        written = getattr(store, "written_position", None)
        self._written_position: Callable[[], int] | None = written if callable(written) else None

    # ── commands ──────────────────────────────────────────────────────────────────────────

    def acting(self, request: Request, clerk_header: str | None) -> BankService:
        """The service recording events for the clerk who sent ``request``: its token's clerk
        (:mod:`~bank_desktop.http.clerk_auth`), or in open mode the one it names."""
        clerk = authenticated_clerk(request.scope)
        if clerk is not None:
            return self.bank(clerk)
        if not self.settings.open:  # pragma: no cover - ClerkAuth answered 401 already
            raise ApiError(401, "Unauthorized: a clerk's API token is required.")
        return self.bank(clerk_header)

    def authenticate(self, token: str) -> str | None:
        """The clerk whose current API token ``token`` is (blocking: reads the store)."""
        return self._default.authenticate(token)

    def bank(self, clerk_header: str | None) -> BankService:
        """The service recording events for ``clerk_header`` (None: the server's clerk)."""
        if clerk_header is None or clerk_header == self.settings.clerk_id:
            return self._default
        try:
            clerk = required_text(clerk_header, "Clerk id", max_length=64)
        except ValidationError as exc:
            raise field_error(CLERK_HEADER, exc.message, 400) from None
        if clerk == self.settings.clerk_id:
            return self._default
        service = self._services.get(clerk)
        if service is None:
            service = self._services.put(clerk, self._make_service(clerk), keep=lambda _: True)
        return service

    def command_id(self, key: str | None) -> str | None:
        """The command id for an ``Idempotency-Key`` (None: a fresh one). The service binds
        it to the request in the store; the same key for another request is refused there."""
        if key is None:
            return None
        try:
            return required_text(key, "Idempotency-Key", max_length=200)
        except ValidationError as exc:
            raise field_error("Idempotency-Key", exc.message, 400) from None

    async def run(self, command: Callable[[], T]) -> tuple[T, int]:
        """Run a blocking command on the command threads; returns its result and a global
        position at or after its last event: the position of the last event it wrote, read
        from the store's record of this thread's writes (no query), or, when it wrote
        nothing (a replay), the store's head right after it.

        The threads are a plain executor rather than the event loop's default thread pool
        (anyio's): a hand-off there costs about twice the CPU, once per request. Commands
        running at once share the store's commits (group commit)."""
        written = self._written_position
        check = owed_token_check.get()  # the token's lookup, when ClerkAuth deferred it here

        def call() -> tuple[T, int]:
            if check is not None:
                check()
            before = written() if written is not None else None
            result = command()
            if written is not None:
                after = written()
                if after != before:
                    return result, after
            return result, self.store.head_position()

        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._commands, call)

    async def blocking(self, call: Callable[[], T]) -> T:
        """``call()`` on the command threads (a lighter hand-off than anyio's thread pool)."""
        return await asyncio.get_running_loop().run_in_executor(self._commands, call)

    def close(self) -> None:
        """Let the command threads finish what they run, then end them (the app stops)."""
        self._commands.shutdown(wait=True)

    def recover(self, older_than: timedelta) -> RecoveryReport:
        """Finish or reverse transfers that were left unfinished, and carry out approved
        requests nobody carried out (blocking). The read model names the unfinished transfers;
        approvals are read from the store (their events only)."""
        pending = self.live.unfinished_transfers()
        report = self._default.recover(older_than=older_than, candidates=pending)
        if report.finished or report.failed:
            _log.info("Recovered %s transfers (%s failed)", report.finished, len(report.failed))
        carried = len(report.approvals_executed) + len(report.approvals_failed)
        if carried:
            _log.info("Carried out %s approved requests", carried)
        return report

    # ── reads ─────────────────────────────────────────────────────────────────────────────

    async def wait_for(self, after: int | None, header: int | None) -> None:
        """Read-your-writes: wait (bounded) until the read model has applied the position."""
        wanted = max(after or 0, header or 0)
        if wanted <= 0:
            return
        if self.live.checkpoint >= wanted:
            return
        head = await run_in_threadpool(self.store.head_position)
        if wanted > head:
            raise ApiError(
                400,
                f"Position {wanted} is beyond the store's last event ({head}); pass the "
                "X-Event-Position a write answered with.",
                {"waitedFor": wanted, "headPosition": head},
            )
        timeout = self.settings.wait_timeout
        if not await self.live.wait_for(wanted, timeout):
            reached = self.live.checkpoint
            raise ApiError(
                503,
                f"The read model has not reached position {wanted} within {timeout:g} s "
                f"(it is at {reached}); try again shortly.",
                {"waitedFor": wanted, "readPosition": reached},
                headers={"Retry-After": "1"},
            )

    # ── the webhook ───────────────────────────────────────────────────────────────────────

    def authorize(self, header: str | None) -> None:
        """Constant-time check of ``Authorization: Bearer <token>``; 401 otherwise."""
        given = (header or "").encode("latin-1", errors="replace")
        expected = self._expected_auth
        if expected is None or not hmac.compare_digest(given, expected):
            raise ApiError(
                401,
                "Unauthorized: a valid 'Authorization: Bearer <token>' header is required.",
                headers={"WWW-Authenticate": "Bearer"},
            )


async def api_context(request: Request) -> ApiContext:
    """The app's :class:`ApiContext` (a FastAPI dependency). A coroutine on purpose: FastAPI
    runs a plain function dependency on the thread pool, a thread hand-off per request."""
    api = request.app.state.api
    assert isinstance(api, ApiContext)
    return api


#: A handler parameter that receives the app's context: ``async def route(api: Api): ...``.
Api = Annotated[ApiContext, Depends(api_context)]
