"""Schemathesis against our OpenAPI schema, in-process (ASGI): no 5xx, every answer matches the schema.

Bounded: `MAX_EXAMPLES` per operation (about 20 operations), so the whole run stays well under a minute.
(schemathesis' pytest fixture loader does not run on pytest 9, so operations are driven with hypothesis here.)
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import FilledStore, make_app

MAX_EXAMPLES = 25
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]


def test_every_operation_conforms(api_store: FilledStore) -> None:
    app = make_app(api_store, rate_per_ip="1000000/minute")
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(checks=CHECKS)

        run()
