"""``create_app``: the seed's REST API and the projection webhook over one store.

The composition of the headless API: the live read model (snapshot, catch-up, subscription
thread), the services per clerk, the routes, the error mapping, OpenAPI and the access log.
Starting the app (its lifespan) loads the read model and starts following the store; stopping
it stops the subscription thread and saves the snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Final

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from bank_desktop import __version__
from bank_desktop.eventstore import EventStore, open_snapshot_store, remember_store
from bank_desktop.http import approvals, commands, queries, teller_routes, webhook
from bank_desktop.http.access_log import AccessLog
from bank_desktop.http.clerk_auth import ClerkAuth
from bank_desktop.http.context import (
    RECOVERY_MIN_AGE,
    ApiContext,
    ServeSettings,
    checked_projection_token,
)
from bank_desktop.http.docs import install_openapi
from bank_desktop.http.errors import ApiError, install_error_handlers
from bank_desktop.http.host_guard import HostGuard
from bank_desktop.http.read_side import LiveReadModel
from bank_desktop.http.wire import ExactJSONResponse

_log = logging.getLogger("bank_desktop.http")
#: The deposit and withdraw endpoints (http/commands.py).
_MONEY_PATH: Final = re.compile(r"/accounts/[^/]+/(?:deposit|withdraw)")

DESCRIPTION = """\
The seed tutorial's banking API on Bank Desktop's event store: the same domain, rules and
events as the clerks' window.

* Amounts are JSON numbers with at most two decimal places; they are never rounded.
* Every request carries a clerk's API token, `Authorization: Bearer <token>` (an admin issues
  one with `bank-desktop staff token CLERK`); the token's clerk is who acted. (`serve --open`,
  the tutorial's mode on loopback, takes no tokens; `X-Clerk-Id` names the clerk there.)
* A withdrawal or transfer above the approval limit answers 202 with `{approvalId, status,
  url}`: nothing moved yet; a supervisor approves it (`POST /approvals/{id}/approve`), and
  `GET url` says where it stands.
* Writes answer with `X-Event-Position`; pass it to a read as `?after=` to read your writes.
* `Idempotency-Key` on any POST makes a retry safe.
* Errors are `{"error": message, "details": {...}}`. Whatever is wrong with a request is 400
  (a field or amount of any kind, a query parameter, a business rule; `details.errors` names
  the fields); 422 only for an `Idempotency-Key` already used for another request.
* `GET /accounts` is the seed's array, a page at a time (`limit`, `offset`; `Link` and
  `X-Total-Count` headers).
"""


def create_app(store: EventStore, settings: ServeSettings) -> FastAPI:
    """The API over ``store``; raises InsecureTokenError for the seed's default or a short
    webhook token unless ``settings.dev``. Without a token (and without ``dev``) the webhook
    is off.

    Requests must name the server by one of ``settings.allowed_hosts`` and come from no other
    web page's origin (see :mod:`bank_desktop.http.host_guard`).

    Snapshots of the read model go to ``settings.snapshots``, or under ``data_dir/serve``
    (apart from the window's: earlier versions applied webhook deliveries to it); neither
    means no snapshots. With ``data_dir`` the store's position is recorded when the app stops
    (see ``open_known_store``). ``close_store`` closes the store when the app stops.
    """
    token = checked_projection_token(settings.projection_token, dev=settings.dev)
    settings = dataclasses.replace(settings, projection_token=token)
    data_dir, close_store, clerk_id = settings.data_dir, settings.close_store, settings.clerk_id
    snapshots = settings.snapshots
    if snapshots is None and data_dir is not None:
        snapshots = open_snapshot_store(store, data_dir / "serve")
    live = LiveReadModel(
        store, snapshots, idle_wait=settings.idle_wait, gather=settings.live_gather
    )
    api = ApiContext(store, live, settings)
    recovery_interval, snapshot_interval = settings.recovery_interval, settings.snapshot_interval

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            await run_in_threadpool(live.load)
        except Exception:
            _log.exception("Cannot load the read model from %s", store.url)
            if close_store:
                store.close()
            raise
        live.start()
        _log.info("Serving store %s as clerk %s", store.url, clerk_id)
        task = asyncio.create_task(_upkeep(api, recovery_interval, snapshot_interval))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await run_in_threadpool(api.close)
            await run_in_threadpool(live.stop)
            if data_dir is not None:
                await run_in_threadpool(remember_store, store, data_dir)
            if close_store:
                store.close()
            _log.info("Stopped at read model position %s", live.checkpoint)

    app = FastAPI(
        title="Bank Desktop API",
        version=__version__,
        description=DESCRIPTION,
        default_response_class=ExactJSONResponse,
        lifespan=lifespan,
    )
    app.state.api = api
    install_error_handlers(app)
    _routes(app, webhook_on=token is not None)

    @app.get("/health", tags=["operations"], summary="Liveness and read model state")
    async def health(request: Request) -> Response:
        status = live.status
        problems = live.problems
        return ExactJSONResponse(
            {
                "status": "degraded" if problems else "ok",
                "readModel": {
                    "position": live.checkpoint,
                    "state": status.state.value if status else "starting",
                    "problems": problems,
                },
            }
        )

    install_openapi(app, bearer=not settings.open)
    _guard(app, api, settings)
    return app


def _routes(app: FastAPI, *, webhook_on: bool) -> None:
    app.router.routes[0:0] = commands.money_routes()  # matched first: serve's hot path
    app.include_router(commands.router)
    app.include_router(queries.router)
    app.include_router(teller_routes.router)
    app.include_router(approvals.router)
    if webhook_on:
        app.include_router(webhook.router)
    else:
        app.add_api_route(
            webhook.PATH, _webhook_disabled, methods=["POST"], include_in_schema=False
        )


def _guard(app: FastAPI, api: ApiContext, settings: ServeSettings) -> None:
    """The middleware every request passes, outermost last: who asks (a clerk's token,
    unless open), from where (Host and Origin), and one access-log line for each."""
    if not settings.open:  # inside the host guard: a foreign Host is refused before a lookup
        app.add_middleware(
            ClerkAuth,
            authenticate=api.authenticate,
            exempt={webhook.PATH},
            blocking=api.blocking,
            deferrable=_money_command,
        )
    app.add_middleware(HostGuard, allowed_hosts=tuple(settings.allowed_hosts))
    app.add_middleware(AccessLog)  # outermost: refused requests are logged too


def _money_command(scope: Scope) -> bool:
    """A deposit or withdrawal: its handler runs the command through ``ApiContext.run``,
    which makes the token lookup ClerkAuth defers (one thread hop for both)."""
    return (
        scope.get("method") == "POST" and _MONEY_PATH.fullmatch(scope.get("path", "")) is not None
    )


async def _webhook_disabled() -> Response:
    """The webhook's path when ``serve`` has no PROJECTION_AUTH_TOKEN: say why, not just 404."""
    raise ApiError(
        404,
        "The projection webhook is disabled on this server: start `bank-desktop serve` with "
        "PROJECTION_AUTH_TOKEN set to a secret of 32 or more characters to enable it.",
    )


async def _upkeep(api: ApiContext, recovery_interval: float, snapshot_interval: float) -> None:
    """Recover interrupted transfers (at once, then now and then) and save snapshots."""
    older_than = timedelta(0)
    since_save = 0.0
    while True:
        try:
            await run_in_threadpool(api.recover, older_than)
        except Exception:
            _log.exception("Transfer recovery failed; will try again")
        older_than = RECOVERY_MIN_AGE
        await asyncio.sleep(recovery_interval)
        since_save += recovery_interval
        if since_save >= snapshot_interval:
            since_save = 0.0
            try:
                await run_in_threadpool(lambda: api.live.save(only_if_changed=True))
            except Exception:
                _log.exception("Saving the read model snapshot failed")
