"""Store URLs, the environment and the settings object; the key never shows."""

from __future__ import annotations

import pytest

from bank_desktop.eventstore import StoreConfigError, redact_url
from bank_desktop.eventstore.deltabase import (
    DeltaBaseEventStore,
    DeltaBaseSettings,
    Secret,
    build_client,
    open_deltabase,
    settings_from_url,
)

KEY = "dbk_live_0123456789abcdef"


def test_host_port_and_store_come_from_the_url() -> None:
    settings = settings_from_url("deltabase+http://127.0.0.1:8787/banking", env={})
    assert settings.base_url == "http://127.0.0.1:8787"
    assert settings.event_store == "banking"
    assert settings.api_key is None
    assert settings.display_url == "deltabase+http://127.0.0.1:8787/banking"
    https = settings_from_url("deltabase+https://api.delta-base.com/branch_7", env={})
    assert https.base_url == "https://api.delta-base.com"
    assert https.display_url == "deltabase+https://api.delta-base.com/branch_7"


def test_a_path_before_the_store_is_part_of_the_base_url() -> None:
    settings = settings_from_url("deltabase+https://proxy.bank/deltabase/banking", env={})
    assert settings.base_url == "https://proxy.bank/deltabase"
    assert settings.event_store == "banking"


def test_the_environment_fills_the_gaps() -> None:
    env = {
        "DELTABASE_BASE_URL": "https://api.delta-base.com/",
        "DELTABASE_EVENT_STORE_NAME": "branch-7",
        "DELTABASE_API_KEY": KEY,
    }
    settings = settings_from_url("deltabase://", env=env)
    assert settings.base_url == "https://api.delta-base.com"
    assert settings.event_store == "branch-7"
    assert settings.api_key == Secret(KEY)
    assert settings_from_url("deltabase+https:///other-store", env=env).event_store == (
        "other-store"
    )
    assert settings_from_url("deltabase+http://h:1/", env=env).event_store == "branch-7"
    default = settings_from_url("deltabase:", env={})
    assert (default.base_url, default.event_store) == ("http://localhost:8787", "banking")


def test_a_key_in_the_url_wins_and_is_never_shown() -> None:
    env = {"DELTABASE_API_KEY": "from-env"}
    for url in (
        f"deltabase+https://:{KEY}@h.example/banking",
        f"deltabase+https://h.example/banking?apiKey={KEY}",
    ):
        settings = settings_from_url(url, env=env)
        assert settings.api_key is not None
        assert settings.api_key.reveal() == KEY
        assert settings.display_url == "deltabase+https://h.example/banking"
        store = DeltaBaseEventStore(settings)
        for shown in (repr(settings), str(settings), store.url, repr(store), redact_url(url)):
            assert KEY not in shown
        store.close()


def test_a_bare_user_part_is_refused_without_echoing_it() -> None:
    with pytest.raises(StoreConfigError, match="after a colon") as refused:
        settings_from_url(f"deltabase+https://{KEY}@h.example/banking", env={})
    assert KEY not in str(refused.value)


@pytest.mark.parametrize(
    ("query", "field", "value"),
    [
        ("auth=bearer", "auth_header", "bearer"),
        ("prefix=none", "rest_prefix", ""),
        ("prefix=v1/api", "rest_prefix", "/v1/api"),
        ("append=events", "append_path", "events"),
        ("read=whole", "stream_read", "whole"),
        ("version=last_position", "expected_version", "last_position"),
        ("live=poll", "live_websocket", False),
        ("ws_auth=query", "ws_auth", "query"),
        ("timeout=2.5", "read_timeout", 2.5),
    ],
)
def test_protocol_options_in_the_url(query: str, field: str, value: object) -> None:
    settings = settings_from_url(f"deltabase+http://h:1/banking?{query}", env={})
    assert getattr(settings, field) == value
    assert settings_from_url(settings.display_url, env={}) == settings  # the URL round-trips


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("deltabase+http://h:1/Banking", "not a DeltaBase event store name"),
        ("deltabase+http://h:1/ab", "not a DeltaBase event store name"),
        ("deltabase+http://h:1/banking?colour=blue", "Unknown DeltaBase URL option 'colour'"),
        ("deltabase+http://h:1/banking?auth=basic", "auth='basic'"),
        ("deltabase+http://h:1/banking?timeout=0", "timeout='0'"),
        ("deltabase+http://h:99999/banking", "malformed"),
        ("deltabase://h/banking", "before a host"),
        ("postgresql://h/banking", "starts with deltabase"),
        ("deltabase+http://h:1/banking#x", "fragment"),
    ],
)
def test_bad_urls_are_refused_clearly(url: str, message: str) -> None:
    with pytest.raises(StoreConfigError, match=message):
        settings_from_url(url, env={})


def test_a_scheme_that_contradicts_the_environment_is_refused() -> None:
    env = {"DELTABASE_BASE_URL": "http://localhost:8787"}
    with pytest.raises(StoreConfigError, match="is not https"):
        settings_from_url("deltabase+https:///banking", env=env)


def test_the_client_factory_sets_auth_timeouts_and_json() -> None:
    settings = DeltaBaseSettings(api_key=Secret(KEY), read_timeout=7.0, connect_timeout=2.0)
    client = build_client(settings)
    assert client.headers["X-API-Key"] == KEY
    assert "Authorization" not in client.headers
    assert client.headers["Accept"] == "application/json"
    assert client.timeout.read == 7.0
    assert client.timeout.connect == 2.0
    assert str(client.base_url) == "http://localhost:8787"
    client.close()
    bearer = build_client(settings.with_changes(auth_header="bearer"))
    assert bearer.headers["Authorization"] == f"Bearer {KEY}"
    assert "X-API-Key" not in bearer.headers
    bearer.close()
    assert build_client(DeltaBaseSettings()).headers.get("X-API-Key") is None


def test_open_deltabase_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DELTABASE_API_KEY", KEY)
    store = open_deltabase("deltabase+https://api.delta-base.com/banking")
    assert store.settings.api_key == Secret(KEY)
    assert store.url == "deltabase+https://api.delta-base.com/banking"
    store.close()
