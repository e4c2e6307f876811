"""``bank-desktop deploy`` for DeltaBase: make the event stores and webhooks of the config exist.

For each event store of :class:`~._infra.InfrastructureConfig`: look it up
(``GET {prefix}/event-stores/{name}``); create it when missing (``POST {prefix}/event-stores``,
where "already exists" counts as found) or bring its description and settings in line
(``PATCH .../settings``). Then its subscriptions: the current ones are listed
(``GET .../subscriptions``) and matched by subscriber id (the config's ``id``), else by filter and
URL. An identical one is left alone; one whose URL, headers, timeout or filter changed is
replaced (deleted, then created) so that no event is delivered twice; a missing one is created
with ``POST .../subscribe`` (DeltaBase's duplicate detection, ``isExistingSubscription``, makes
that safe to repeat). Subscriptions the config does not mention are reported and kept.

A second run therefore changes nothing, and ``dry_run`` only reads: it reports the plan.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import httpx
import msgspec

from bank_desktop.eventstore.deltabase._http import DeltaBaseHttp
from bank_desktop.eventstore.deltabase._infra import (
    EventStoreConfig,
    InfrastructureConfig,
    InfrastructureConfigError,
    SubscriptionConfig,
    mask_headers,
)
from bank_desktop.eventstore.deltabase._settings import (
    DeltaBaseSettings,
    build_client,
    settings_from_url,
)
from bank_desktop.eventstore.deltabase._store import DeltaBaseEventStore
from bank_desktop.eventstore.errors import EventStoreError

CHANGES: Final = frozenset({"created", "updated", "replaced"})
_PAGE: Final = 100


@dataclass(frozen=True, slots=True)
class DeployStep:
    """One line of the report: what was (or would be) done to what."""

    action: str  #: created, updated, replaced, found, unchanged, kept; or create/update/replace
    subject: str

    @property
    def changed(self) -> bool:
        return self.action in CHANGES


@dataclass(frozen=True, slots=True)
class DeployReport:
    target: str
    dry_run: bool
    steps: tuple[DeployStep, ...]

    @property
    def changed(self) -> bool:
        return any(step.changed for step in self.steps)

    def lines(self) -> list[str]:
        if self.dry_run:
            out = [f"plan for {self.target}:"]
            out += [f"plan: {s.action} {s.subject}" for s in self.steps]
            if not any(s.action in ("create", "update", "replace") for s in self.steps):
                out.append("plan: nothing to change")
            return out
        out = [f"{s.action}: {s.subject}" for s in self.steps]
        counts = {a: sum(s.action == a for s in self.steps) for a in ("created", "updated")}
        counts["replaced"] = sum(s.action == "replaced" for s in self.steps)
        done = ", ".join(f"{n} {a}" for a, n in counts.items() if n)
        out.append(f"{self.target}: {done}." if done else f"{self.target}: no changes.")
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())


def deploy(
    config: InfrastructureConfig,
    target: DeltaBaseEventStore | DeltaBaseSettings,
    *,
    dry_run: bool = False,
    client: httpx.Client | None = None,
) -> DeployReport:
    """Apply ``config`` to the DeltaBase ``target`` points at (idempotent)."""
    if isinstance(target, DeltaBaseEventStore):
        settings, http = target.settings, target.http
        owned = None
    else:
        settings = target
        owned = client if client is not None else build_client(settings)
        http = DeltaBaseHttp(settings, owned)
    try:
        steps: list[DeployStep] = []
        if config.event_store(settings.event_store) is None:
            steps.append(
                DeployStep(
                    "note",
                    f"the app uses event store {settings.event_store!r}, which the config "
                    "does not declare",
                )
            )
        for store in config.eventStores:
            _Deployer(http, store, dry_run, steps).run()
        return DeployReport(settings.display_url, dry_run, tuple(steps))
    finally:
        if owned is not None and client is None:
            owned.close()


def run_deploy(
    url: str, *, config_path: str | Path | None = None, dry_run: bool = False
) -> DeployReport:
    """``bank-desktop deploy`` on a ``deltabase+http(s)://`` URL with a config file."""
    settings = settings_from_url(url)
    # The URL names the store the app will use; the config (like the seed's) names its store
    # from DELTABASE_EVENT_STORE_NAME. Unless that is set, the URL's name fills it in; if the
    # two then differ, deploying would prepare a store the app never opens: refuse.
    environ = dict(os.environ)
    environ.setdefault("DELTABASE_EVENT_STORE_NAME", settings.event_store)
    config = load_config_file(config_path or Path.cwd() / "deltabase_config.py", env=environ)
    declared = [store.name for store in config.eventStores]
    if settings.event_store not in declared:
        raise InfrastructureConfigError(
            f"The store URL names event store {settings.event_store!r}, but the config declares "
            f"{', '.join(map(repr, declared)) or 'none'}: set DELTABASE_EVENT_STORE_NAME or fix "
            "the URL."
        )
    return deploy(config, settings, dry_run=dry_run)


def prepare_deltabase(url: str) -> tuple[DeltaBaseEventStore, bool]:
    """Open a DeltaBase store, creating its event store when missing (no subscriptions).

    For ``prepare_store``: returns the store and whether the event store was created.
    """
    store = DeltaBaseEventStore(settings_from_url(url))
    try:
        config = InfrastructureConfig(
            eventStores=[EventStoreConfig(name=store.settings.event_store)]
        )
        report = deploy(config, store)
    except BaseException:
        store.close()
        raise
    return store, report.changed


def load_config_file(
    path: str | Path, *, env: Mapping[str, str] | None = None
) -> InfrastructureConfig:
    """Import a ``deltabase_config.py`` and return its validated config.

    Uses its ``load_config(env)`` when it has one (with ``env``, default the process
    environment), else its ``config``.
    """
    path = Path(path)
    if not path.is_file():
        raise InfrastructureConfigError(
            f"No DeltaBase config at {path}: run deploy from the project folder or pass --config."
        )
    spec = importlib.util.spec_from_file_location("_deltabase_config", path)
    if spec is None or spec.loader is None:
        raise InfrastructureConfigError(f"Cannot load {path} as Python.")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except InfrastructureConfigError:
        raise
    except Exception as exc:
        raise InfrastructureConfigError(f"{path} failed to load: {exc}") from exc
    loader = getattr(module, "load_config", None)
    found = loader(env) if callable(loader) else getattr(module, "config", None)
    if not isinstance(found, InfrastructureConfig):
        raise InfrastructureConfigError(
            f"{path} must define load_config() returning an InfrastructureConfig, or `config`."
        )
    return found


class _Deployer:
    def __init__(
        self, http: DeltaBaseHttp, store: EventStoreConfig, dry_run: bool, steps: list[DeployStep]
    ) -> None:
        self.http = http
        self.store = store
        self.dry_run = dry_run
        self.steps = steps
        self.subject = f"event store {store.name!r}"

    def say(self, action: str, subject: str) -> None:
        self.steps.append(DeployStep(action, subject))

    def run(self) -> None:
        exists = self.event_store()
        if not exists:
            for subscription in self.store.subscriptions:
                self.say("create", _describe(subscription))
            return
        current = self.subscriptions()
        for subscription in self.store.subscriptions:
            self.subscription(subscription, current)
        for record in current:
            if not record.get("_matched"):
                self.say(
                    "kept",
                    f"subscription {record.get('subscriptionId')!r} "
                    f"({_filter_text(record.get('eventFilter'))}), which the config does not "
                    "name",
                )

    # ── event store ───────────────────────────────────────────────────────────────────────

    def event_store(self) -> bool:
        """Create or update the store; False only when it is missing on a dry run."""
        http, store = self.http, self.store
        path = http.management_path(store.name)
        status, body = http.exchange("GET", path, action=f"look up {self.subject}", ok=(200, 404))
        if status == 404:
            if self.dry_run:
                self.say("create", self.subject)
                return False
            payload: dict[str, Any] = {"name": store.name}
            if store.description is not None:
                payload["description"] = store.description
            if store.settings is not None:
                payload["settings"] = store.settings.model_dump(exclude_none=True)
            status, _ = http.exchange(
                "POST",
                http.management_path(),
                action=f"create {self.subject}",
                content=_json(payload),
                ok=(200, 201, 409),
            )
            self.say("found" if status == 409 else "created", self.subject)
            return True
        changes = self.store_changes(body if isinstance(body, dict) else {})
        if not changes:
            self.say("found", f"{self.subject} (unchanged)")
        elif self.dry_run:
            self.say("update", f"{self.subject}: {', '.join(sorted(changes))}")
        else:
            http.exchange(
                "PATCH",
                http.management_path(store.name, "settings"),
                action=f"update {self.subject}",
                content=_json(changes),
            )
            self.say("updated", f"{self.subject}: {', '.join(sorted(changes))}")
        return True

    def store_changes(self, current: Mapping[str, Any]) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        store = self.store
        if store.description is not None and current.get("description") != store.description:
            changes["description"] = store.description
        if store.settings is not None:
            wanted = store.settings.model_dump(exclude_none=True)
            raw = current.get("settings")
            have: Mapping[str, Any] = raw if isinstance(raw, dict) else {}
            if any(have.get(k) != v for k, v in wanted.items()):
                changes["settings"] = wanted
        return changes

    # ── subscriptions ─────────────────────────────────────────────────────────────────────

    def subscriptions(self) -> list[dict[str, Any]]:
        http, found = self.http, list[dict[str, Any]]()
        path = http.management_path(self.store.name, "subscriptions")
        while True:
            body = http.request_json(
                "GET",
                path,
                action=f"list the subscriptions of {self.subject}",
                params={"limit": _PAGE, "offset": len(found)},
                ok=(200,),
            )
            page = body.get("subscriptions")
            if not isinstance(page, list):
                raise EventStoreError(
                    f"DeltaBase listed the subscriptions of {self.subject} without the "
                    "required list 'subscriptions'."
                )
            found.extend(item for item in page if isinstance(item, dict))
            total = body.get("totalCount")
            if len(page) < _PAGE or (isinstance(total, int) and len(found) >= total):
                return found

    def subscription(self, wanted: SubscriptionConfig, current: list[dict[str, Any]]) -> None:
        described = _describe(wanted)
        match = _find(wanted, current)
        if match is not None:
            match["_matched"] = True
            if _same(wanted, match):
                self.say("unchanged", described)
                return
            if self.dry_run:
                self.say("replace", described)
                return
            sub_id = str(match.get("subscriptionId"))
            self.http.exchange(
                "DELETE",
                self.http.management_path(self.store.name, "subscriptions", sub_id),
                action=f"remove the outdated subscription {sub_id}",
                ok=(200, 204, 404),
            )
            self.create(wanted)
            self.say("replaced", described)
            return
        if self.dry_run:
            self.say("create", described)
            return
        existing = self.create(wanted)
        self.say("unchanged" if existing else "created", described)

    def create(self, wanted: SubscriptionConfig) -> bool:
        """POST the subscription; True when DeltaBase says it existed already."""
        body = self.http.request_json(
            "POST",
            self.http.management_path(self.store.name, "subscribe"),
            action=f"subscribe {wanted.id!r} to {self.subject}",
            content=_json(subscribe_body(wanted)),
            ok=(200, 201),
        )
        return body.get("isExistingSubscription") is True


def subscribe_body(subscription: SubscriptionConfig) -> dict[str, Any]:
    """The (inferred) wire body of ``POST .../subscribe`` for one config entry."""
    body: dict[str, Any] = {
        "eventFilter": subscription.eventFilter,
        "subscriberId": subscription.id,
    }
    webhook = subscription.webhook
    if webhook is not None:
        config: dict[str, Any] = {"url": webhook.url, "headers": dict(webhook.headers)}
        if webhook.timeoutMs is not None:
            config["timeoutMs"] = webhook.timeoutMs
        if webhook.retryPolicy is not None:
            config["retryPolicy"] = webhook.retryPolicy.model_dump()
        body["subscriber"] = {"type": subscription.subscriberType, "config": config}
    if subscription.initialPosition is not None:
        body["initialPosition"] = subscription.initialPosition
    return body


def _find(wanted: SubscriptionConfig, current: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    for record in current:
        if record.get("subscriberId") == wanted.id and not record.get("_matched"):
            return record
    url = wanted.webhook.url if wanted.webhook else None
    for record in current:
        config = record.get("subscriberConfig")
        same_url = isinstance(config, dict) and config.get("url") == url
        same_filter = _filters(record.get("eventFilter")) == _filters(wanted.eventFilter)
        if same_url and same_filter and not record.get("_matched"):
            return record
    return None


def _same(wanted: SubscriptionConfig, record: Mapping[str, Any]) -> bool:
    """Whether DeltaBase's record matches the config in everything it shows."""
    if _filters(record.get("eventFilter")) != _filters(wanted.eventFilter):
        return False
    if record.get("subscriberType", wanted.subscriberType) != wanted.subscriberType:
        return False
    config = record.get("subscriberConfig")
    webhook = wanted.webhook
    if not isinstance(config, dict) or webhook is None:
        return webhook is None
    if config.get("url") != webhook.url:
        return False
    if "headers" in config and (config.get("headers") or {}) != webhook.headers:
        return False
    for key in ("timeoutMs", "timeout"):
        if config.get(key) is not None and config.get(key) != webhook.timeoutMs:
            return False
    return True


def _filters(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return sorted(str(v) for v in value)
    return []


def _filter_text(value: Any) -> str:
    return ", ".join(_filters(value)) or "no filter"


def _describe(subscription: SubscriptionConfig) -> str:
    webhook = subscription.webhook
    text = f"subscription {subscription.id!r} ({', '.join(subscription.event_types)})"
    if webhook is not None:
        headers = ", ".join(f"{k}: {v}" for k, v in mask_headers(webhook.headers).items())
        text += f" → webhook {webhook.url}" + (f" [{headers}]" if headers else "")
    return text


def _json(value: Any) -> bytes:
    return msgspec.json.encode(value)
