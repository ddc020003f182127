"""Schemathesis against our OpenAPI schema, in-process (ASGI): no 5xx, every answer matches the schema.

Bounded: `MAX_EXAMPLES` per operation (about 20 operations, each one probed), `STATEFUL_EXAMPLES` link-following
runs and `QUOTE_EXAMPLES` quotes, so the whole run stays well under a minute.
(schemathesis' pytest fixture loader does not run on pytest 9, so operations are driven with hypothesis here.)
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.python import asgi

from defiscope.devnet import Devnet
from defiscope.store import Repository
from tests.api.conftest import FilledStore, index_heads, make_app, quoting_app

#: Cases per operation in each of the positive and negative phases: every operation stays probed, and the two
#: phases (most of the file's time at 25) take half as long.
MAX_EXAMPLES = 12
STATEFUL_EXAMPLES = 25
QUOTE_EXAMPLES = 100
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]


def test_every_operation_conforms(api_store: FilledStore) -> None:
    app = make_app(api_store, rate_per_ip="1000000/minute", rate_per_quote="1000000/minute")
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(checks=CHECKS)

        run()


def test_negative_data_is_refused_without_server_errors(api_store: FilledStore) -> None:
    """Schemathesis' negative phase: values that break the schema (wrong types, out of range, too long) must
    be answered with a 4xx, never a 5xx."""
    app = make_app(api_store, rate_per_ip="1000000/minute", rate_per_quote="1000000/minute")
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    # Operations without parameters have no invalid input to send.
    spec = app.openapi()["paths"]
    operations = [r.ok() for r in schema.get_all_operations()]
    probed = [op for op in operations if spec[op.path][op.method.lower()].get("parameters")]
    assert len(probed) >= 15
    for operation in probed:

        @given(case=operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
        @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(checks=[not_a_server_error, negative_data_rejection])

        run()


def test_stateful_links_are_followed_without_server_errors(api_store: FilledStore) -> None:
    """Schemathesis' stateful phase: the OpenAPI links (a listing's slug or chain into the detail, history and
    provenance operations) are followed with the values the server answered."""
    app = make_app(api_store, rate_per_ip="1000000/minute", rate_per_quote="1000000/minute")
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    machine = schema.as_state_machine()

    class Checked(machine):  # type: ignore[misc,valid-type]
        def validate_response(self, response: Any, case: schemathesis.Case, **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS)
            followed.add(case.operation.path)

    followed: set[str] = set()
    Checked.run(
        settings=settings(
            max_examples=STATEFUL_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
    )
    assert "/v1/protocols/{slug}" in followed or "/v1/protocols/{slug}/tvl" in followed


#: Quotes that succeed on the devnet (the generated cases mostly probe refusals): single, split, with a tx.
QUOTES = [
    {"chain": "1", "sell": "USDC", "buy": "WETH", "amount": "1000"},
    {"chain": "ethereum", "sell": "WETH", "buy": "DAI", "amount": "3.5", "routes": 3, "slippage": "1.25"},
    {"chain": "1", "sell": "DAI", "buy": "USDT", "amount": "50000", "recipient": "0x" + "ab" * 20},
    {"chain": "bsc", "sell": "USDT", "buy": "WBNB", "amount": "250"},
]


def test_quote_conforms_on_a_quoting_server(devnet: Devnet, tmp_path: Path) -> None:
    """/v1/quote against a store indexed at the devnet's head, so quotes succeed as well as fail."""
    url = f"sqlite:///{tmp_path / 'quotes.db'}"
    repo = Repository.open(url)
    asyncio.run(index_heads(devnet, repo))
    app, clients = quoting_app(devnet, repo, url)
    operation = schemathesis.openapi.from_asgi("/openapi.json", app)["/v1/quote"]["GET"]
    # schemathesis runs every in-process ASGI call on one shared event loop: the chain clients live there.
    with asgi.get_client(app) as session:
        try:
            for query in QUOTES:
                response = operation.Case(query=query).call(session=session)
                assert response.status_code == 200, response.text
                operation.Case(query=query).validate_response(response, checks=CHECKS)

            @given(case=operation.as_strategy())
            @settings(
                max_examples=QUOTE_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
            )
            def run(case: schemathesis.Case) -> None:
                case.call_and_validate(session=session, checks=CHECKS)

            run()
        finally:
            for client in clients:
                asgi._get_portal().call(client.aclose)
            repo.close()
