"""deltabase_config.py and deploy: validated config, idempotent deploy, webhooks delivered."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import deltabase_config
from bank_desktop.application import BankService
from bank_desktop.eventstore.deltabase import (
    DeltaBaseEventStore,
    InfrastructureConfig,
    InfrastructureConfigError,
    deploy,
    load_config_file,
    load_infrastructure,
    run_deploy,
)
from tests.deltabase.conftest import API_KEY, Running, new_name
from tests.deltabase.threaded import ServedApp, WebhookReceiver

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "projection-token-s3cret-of-32-characters"  # serve needs 32+


def seed_env(name: str, service_url: str = "http://localhost:3001") -> dict[str, str]:
    return {
        "DELTABASE_EVENT_STORE_NAME": name,
        "SERVICE_URL": service_url,
        "PROJECTION_AUTH_TOKEN": TOKEN,
    }


# ── the config ────────────────────────────────────────────────────────────────────────────


def test_the_config_is_the_seeds() -> None:
    config = deltabase_config.load_config({})
    [store] = config.eventStores
    assert (store.name, store.description) == ("banking", "Banking system events")
    [subscription] = store.subscriptions
    assert subscription.id == "account-balances-projection"
    assert subscription.eventFilter == [
        "account.opened",
        "money.deposited",
        "money.withdrawn",
        "account.closed",
    ]
    assert subscription.subscriberType == "webhook"
    webhook = subscription.webhook
    assert webhook is not None
    assert webhook.url == "http://localhost:3001/api/projections/balances/events"
    assert webhook.headers == {
        "Content-Type": "application/json",
        "Authorization": "Bearer dev-token",
    }
    assert webhook.retryPolicy is not None
    assert (webhook.retryPolicy.maxAttempts, webhook.retryPolicy.backoffMinutes) == (5, 2)
    assert isinstance(deltabase_config.config, InfrastructureConfig)


def test_the_config_reads_the_seeds_environment_and_masks_the_token() -> None:
    config = deltabase_config.load_config(seed_env("branch-7", "https://bank.example/"))
    assert config.eventStores[0].name == "branch-7"
    webhook = config.eventStores[0].subscriptions[0].webhook
    assert webhook is not None
    assert webhook.url == "https://bank.example/api/projections/balances/events"
    assert webhook.headers["Authorization"] == f"Bearer {TOKEN}"
    for shown in (repr(config), str(config), repr(webhook), str(webhook)):
        assert TOKEN not in shown
    assert "'Authorization': 'Bearer ***'" in repr(webhook)


@pytest.mark.parametrize(
    ("env", "path", "problem"),
    [
        ({"DELTABASE_EVENT_STORE_NAME": "Bad Name"}, "eventStores[0].name", "a-z, 0-9"),
        ({"SERVICE_URL": "ftp://files"}, "eventStores[0].subscriptions[0].webhook.url", "http"),
    ],
)
def test_a_bad_environment_is_reported_by_path(env: dict[str, str], path: str, problem: str):
    with pytest.raises(InfrastructureConfigError) as invalid:
        deltabase_config.load_config({**env, "PROJECTION_AUTH_TOKEN": TOKEN})
    message = str(invalid.value)
    assert "is not a valid DeltaBase config" in message
    assert f"  {path}: " in message
    assert problem in message
    assert TOKEN not in message


def test_every_config_mistake_is_listed() -> None:
    with pytest.raises(InfrastructureConfigError) as invalid:
        load_infrastructure(
            {
                "eventStores": [
                    {
                        "name": "ok-name",
                        "subscriptions": [
                            {"id": "a", "eventFilter": [], "subscriberType": "webhook"},
                            {"id": "a", "eventFilter": "x", "subscriberType": "queue"},
                            {
                                "id": "b",
                                "eventFilter": "*",
                                "subscriberType": "webhook",
                                "webhook": {
                                    "url": "http://h/x",
                                    "retryPolicy": {"maxAttempts": 0, "backoffMinutes": 1},
                                    "surprise": True,
                                },
                            },
                        ],
                    }
                ]
            }
        )
    message = str(invalid.value)
    for expected in (
        "eventStores[0].subscriptions[0].eventFilter: must name at least one",
        "eventStores[0].subscriptions[1].subscriberType:",
        "eventStores[0].subscriptions[2].webhook.retryPolicy.maxAttempts:",
        "eventStores[0].subscriptions[2].webhook.surprise: Extra inputs are not permitted",
    ):
        assert expected in message
    with pytest.raises(InfrastructureConfigError, match="at least 1 item"):
        load_infrastructure({"eventStores": []})


def test_the_config_file_is_loaded_from_the_project_root(tmp_path: Path) -> None:
    assert isinstance(load_config_file(ROOT / "deltabase_config.py"), InfrastructureConfig)
    with pytest.raises(InfrastructureConfigError, match="No DeltaBase config at"):
        load_config_file(tmp_path / "deltabase_config.py")
    broken = tmp_path / "broken.py"
    broken.write_text("config = 42\n")
    with pytest.raises(InfrastructureConfigError, match="must define load_config"):
        load_config_file(broken)


# ── deploy ────────────────────────────────────────────────────────────────────────────────


def test_deploy_twice_the_second_run_changes_nothing(deltabase: Running) -> None:
    name = new_name()
    config = deltabase_config.load_config(seed_env(name))
    settings = deltabase.settings(name)

    plan = deploy(config, settings, dry_run=True)
    assert name not in deltabase.fake.stores  # a dry run writes nothing
    assert plan.lines()[1:] == [
        f"plan: create event store {name!r}",
        "plan: create subscription 'account-balances-projection' (account.opened, "
        "money.deposited, money.withdrawn, account.closed) → webhook "
        "http://localhost:3001/api/projections/balances/events "
        "[Content-Type: application/json, Authorization: Bearer ***]",
    ]

    first = deploy(config, settings)
    assert [(s.action, s.subject.split(" (")[0]) for s in first.steps] == [
        ("created", f"event store {name!r}"),
        ("created", "subscription 'account-balances-projection'"),
    ]
    assert first.changed
    assert first.lines()[-1].endswith(": 2 created.")

    second = deploy(config, settings)
    assert not second.changed
    assert [s.action for s in second.steps] == ["found", "unchanged"]
    assert second.lines()[-1].endswith(": no changes.")
    assert len(deltabase.fake.stores[name].subscriptions) == 1

    again = deploy(config, settings, dry_run=True)
    assert again.lines()[-1] == "plan: nothing to change"
    for report in (plan, first, second, again):
        assert TOKEN not in str(report)
        assert API_KEY not in str(report)


def test_deploy_recognises_a_subscription_made_by_someone_else(deltabase: Running) -> None:
    # Listed without its headers and with another subscriber id: matched by filter and URL,
    # and DeltaBase's duplicate detection keeps the POST from creating a second one.
    deltabase.fake.list_shows_headers = False
    try:
        name = new_name()
        config = deltabase_config.load_config(seed_env(name))
        deploy(config, deltabase.settings(name))
        [record] = deltabase.fake.stores[name].subscriptions.values()
        record["subscriberId"] = "created-by-the-ts-cli"
        second = deploy(config, deltabase.settings(name))
        assert not second.changed
        assert len(deltabase.fake.stores[name].subscriptions) == 1
    finally:
        deltabase.fake.list_shows_headers = True


def test_deploy_replaces_a_changed_subscription_and_updates_the_store(deltabase: Running):
    name = new_name()
    deploy(deltabase_config.load_config(seed_env(name)), deltabase.settings(name))
    deltabase.fake.stores[name].description = "old words"
    moved = deltabase_config.load_config(seed_env(name, "https://new-host.example"))
    report = deploy(moved, deltabase.settings(name))
    assert [s.action for s in report.steps] == ["updated", "replaced"]
    [record] = deltabase.fake.stores[name].subscriptions.values()
    assert record["subscriberConfig"]["url"].startswith("https://new-host.example/")
    assert deltabase.fake.stores[name].description == "Banking system events"
    assert not deploy(moved, deltabase.settings(name)).changed


def test_deploy_reports_subscriptions_it_does_not_manage(deltabase: Running) -> None:
    name = new_name()
    config = deltabase_config.load_config(seed_env(name))
    deploy(config, deltabase.settings(name))
    deltabase.fake.stores[name].subscriptions["sub_other"] = {
        "subscriptionId": "sub_other",
        "eventFilter": "transfer.*",
        "subscriberType": "webhook",
        "subscriberId": "audit",
        "subscriberConfig": {"url": "http://audit/x", "headers": {}},
    }
    report = deploy(config, deltabase.settings(name))
    assert not report.changed
    assert "kept: subscription 'sub_other' (transfer.*), which the config does not name" in (
        report.lines()
    )


def test_run_deploy_reads_the_url_the_environment_and_the_config_file(
    deltabase: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = new_name()
    for key, value in seed_env(name).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("DELTABASE_API_KEY", API_KEY)
    monkeypatch.chdir(ROOT)
    url = deltabase.store_url(name)
    assert run_deploy(url).changed
    report = run_deploy(url)
    assert not report.changed
    assert report.target == url


def test_deploy_through_an_open_store(open_delta: Callable[..., DeltaBaseEventStore]) -> None:
    store = open_delta(create=False)
    name = store.settings.event_store
    config = deltabase_config.load_config(seed_env(name))
    assert deploy(config, store).changed
    assert not deploy(config, store).changed
    other = load_infrastructure({"eventStores": [{"name": "some-other-store"}]})
    report = deploy(other, store, dry_run=True)
    assert report.steps[0].action == "note"
    assert "which the config does not declare" in report.steps[0].subject


# ── webhooks ──────────────────────────────────────────────────────────────────────────────


def test_deployed_webhook_delivers_the_documented_body_with_retries(
    open_delta: Callable[..., DeltaBaseEventStore], deltabase: Running
) -> None:
    receiver = WebhookReceiver(fail_first=1)
    served = ServedApp(receiver.app)
    try:
        store = open_delta(create=False)
        name = store.settings.event_store
        deploy(deltabase_config.load_config(seed_env(name, served.url)), store)
        bank = BankService(store, clerk_id="clerk-3")
        account = bank.open_account("cust-9", "100")
        bank.deposit(account, "25.50")
        store.append("audit-1", [], 0)  # nothing: no delivery
        events: list[dict[str, Any]] = receiver.wait_for_events(2)
    finally:
        served.close()
    assert [e["type"] for e in events] == ["account.opened", "money.deposited"]
    assert events[1]["data"]["amount"] == 25.5
    assert str(events[1]["data"]["amount"]) == "25.50"  # exact, as sent
    envelope_keys = {"streamId", "streamPosition", "globalPosition", "eventId", "type", "data"}
    assert envelope_keys | {"metadata", "createdAt"} <= events[0].keys()
    assert [e["streamPosition"] for e in events] == [0, 1]  # DeltaBase counts from 0
    headers = receiver.posts[0][0]
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert headers["content-type"] == "application/json"
    assert (
        served.url + "/api/projections/balances/events",
        500,
    ) in deltabase.fake.webhooks.attempts


def test_the_command_line_deploys_then_works_on_deltabase(
    deltabase: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    from bank_desktop.cli import main
    from tests.deltabase.conftest import API_KEY, new_name

    monkeypatch.setenv("DELTABASE_API_KEY", API_KEY)
    monkeypatch.setenv("SERVICE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("PROJECTION_AUTH_TOKEN", "t0ken-for-tests")
    url = deltabase.store_url(new_name())

    def run(*args: str) -> tuple[int, str]:
        out = io.StringIO()
        return main(["--store", url, *args], out=out), out.getvalue()

    assert run("open", "--customer", "cust-1")[0] == 2  # no event store yet: deploy first
    code, first = run("deploy")
    assert code == 0
    code, second = run("deploy")
    assert code == 0
    assert "no changes" in second.lower()
    code, text = run("open", "--customer", "cust-1", "--initial", "100")
    assert code == 0
    assert API_KEY not in first + second + text
