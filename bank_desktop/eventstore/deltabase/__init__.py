"""The hosted DeltaBase store behind a small face; its parts are private modules (as httpx keeps
``_transports/``):

- ``_store``: :class:`DeltaBaseEventStore`, the event store port over REST and the live feed;
- ``_settings``: :class:`DeltaBaseSettings`, every protocol choice the documents leave open;
- ``_http``: requests, retries and error translation over an injected ``httpx.Client``;
- ``_append``: appends that are never doubled or lost when an answer goes missing;
- ``_wire``: DeltaBase's JSON both ways, with :func:`read_envelope`, the one reader of event
  envelopes (the adapter's reads and ``serve``'s webhook alike);
- ``_live``: :class:`~._live.WebSocketFeed`, news of new events over a WebSocket;
- ``_infra`` and ``_deploy``: ``deltabase_config.py``'s models and ``bank-desktop deploy``.

The rest of the application sees only the port (``open_store`` picks this adapter by URL);
``deploy``, ``deltabase_config.py``, ``serve``'s webhook and the tests use the names below.
"""

from __future__ import annotations

from bank_desktop.eventstore.deltabase._deploy import (
    DeployReport,
    deploy,
    load_config_file,
    prepare_deltabase,
    run_deploy,
)
from bank_desktop.eventstore.deltabase._infra import (
    DeltaBaseConfig,
    InfrastructureConfig,
    InfrastructureConfigError,
    load_infrastructure,
)
from bank_desktop.eventstore.deltabase._live import FeedMode
from bank_desktop.eventstore.deltabase._settings import (
    EVENT_ID_KEY,
    DeltaBaseSettings,
    Secret,
    build_client,
    settings_from_url,
)
from bank_desktop.eventstore.deltabase._store import DeltaBaseEventStore, open_deltabase
from bank_desktop.eventstore.deltabase._wire import EnvelopeError, read_envelope

__all__ = [
    "EVENT_ID_KEY",
    "DeltaBaseConfig",
    "DeltaBaseEventStore",
    "DeltaBaseSettings",
    "DeployReport",
    "EnvelopeError",
    "FeedMode",
    "InfrastructureConfig",
    "InfrastructureConfigError",
    "Secret",
    "build_client",
    "deploy",
    "load_config_file",
    "load_infrastructure",
    "open_deltabase",
    "prepare_deltabase",
    "read_envelope",
    "run_deploy",
    "settings_from_url",
]
