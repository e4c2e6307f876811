"""Property-based fuzzing of the whole API from its OpenAPI document (schemathesis).

Over a thousand generated requests, valid and invalid by the schema, against a real server:
none may answer 500, and every response must match what the document promises (status code,
content type, body schema, documented headers). Requests are aimed both at random account ids
and at real accounts (so deposits, withdrawals, transfers and closes reach the domain), and
the webhook is called both with and without the right token.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.http.conftest import AUTH, Server

REQUESTS = 1_200
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@pytest.mark.slow
def test_a_thousand_generated_requests_find_no_500_and_no_schema_violation(
    server: Server,
) -> None:
    accounts = [
        server.post("/accounts", {"customerId": f"fuzz-{i}", "initialBalance": 1_000}).json()[
            "accountId"
        ]
        for i in range(3)
    ]
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    strategies = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        strategies.append(schema.as_strategy(generation_mode=mode))
        strategies.append(schema.as_strategy(generation_mode=mode, headers=dict(AUTH)))
        for account in accounts:
            strategies.append(
                schema.as_strategy(generation_mode=mode, path_parameters={"account_id": account})
            )
    statuses: Counter[int] = Counter()
    operations: Counter[str] = Counter()
    session = requests.Session()
    in_requests: list[float] = []
    started = time.monotonic()

    @settings(
        max_examples=REQUESTS,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=st.one_of(strategies))
    def call(case: schemathesis.Case) -> None:
        t0 = time.monotonic()
        try:
            response = case.call(base_url=server.url, session=session, timeout=30)
        except (requests.exceptions.InvalidHeader, UnicodeEncodeError, ValueError):
            return  # the client library refuses to send it (e.g. a header with a newline)
        in_requests.append(time.monotonic() - t0)
        statuses[response.status_code] += 1
        operations[f"{case.method} {case.path}"] += 1
        case.validate_response(response, checks=CHECKS)

    call()
    elapsed = time.monotonic() - started
    sent = sum(statuses.values())
    print(
        f"\nfuzz: {sent} requests in {elapsed:.1f} s ({sum(in_requests):.1f} s waiting for "
        f"responses); statuses {dict(sorted(statuses.items()))}"
    )
    print(f"fuzz: per operation {dict(sorted(operations.items()))}")
    assert sent >= 1_000
    assert 500 not in statuses
    assert len(operations) >= 8  # every operation was reached
    assert statuses[200] + statuses[201] > 0  # some requests went through to the domain
