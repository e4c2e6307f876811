"""Infrastructure as code for DeltaBase: the seed's ``deltabase.config.ts``, in Python.

``bank-desktop deploy`` reads this file from the project root (or ``--config PATH``) and
creates what it declares on the DeltaBase the store URL names: the event store and the webhook
that feeds the balances projection of ``bank-desktop serve``. Running it again changes nothing.

Environment variables keep the seed's names and defaults:

- ``SERVICE_URL`` (``http://localhost:3001``): where ``bank-desktop serve`` listens;
- ``DELTABASE_EVENT_STORE_NAME`` (``banking``): the event store;
- ``PROJECTION_AUTH_TOKEN`` (``dev-token``): the bearer token the webhook sends.

The config is validated when it is loaded; a mistake is reported with its path, e.g.
``eventStores[0].name: must be 3 to 63 of a-z, 0-9, '-' and '_'``. Printing it masks the token.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from bank_desktop.eventstore.deltabase import DeltaBaseConfig, load_infrastructure

BALANCE_EVENTS = ["account.opened", "money.deposited", "money.withdrawn", "account.closed"]


def load_config(env: Mapping[str, str] | None = None) -> DeltaBaseConfig:
    """The validated config for the given environment (``os.environ`` by default)."""
    environ = os.environ if env is None else env
    service_url = environ.get("SERVICE_URL") or "http://localhost:3001"
    event_store_name = environ.get("DELTABASE_EVENT_STORE_NAME") or "banking"
    projection_token = environ.get("PROJECTION_AUTH_TOKEN") or "dev-token"
    return load_infrastructure(
        {
            "eventStores": [
                {
                    "name": event_store_name,
                    "description": "Banking system events",
                    "subscriptions": [
                        {
                            "id": "account-balances-projection",
                            "eventFilter": BALANCE_EVENTS,
                            "subscriberType": "webhook",
                            "webhook": {
                                "url": f"{service_url.rstrip('/')}/api/projections/balances/events",
                                "headers": {
                                    "Content-Type": "application/json",
                                    "Authorization": f"Bearer {projection_token}",
                                },
                                "retryPolicy": {"maxAttempts": 5, "backoffMinutes": 2},
                            },
                        }
                    ],
                }
            ]
        },
        source=__file__,
    )


#: The config for this process's environment, like the seed's default export.
config = load_config()
