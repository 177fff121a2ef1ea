"""Schemathesis over the gateway's own OpenAPI document: no request earns a 5xx.

Every operation is called with generated valid and invalid inputs, each with an admin token,
an operator token, a forged token and none, against the app on the session's real Redis
(through the ASGI transport). ``POST /admin/replay`` is left out: a valid call starts a real
replay process (its input checks are covered in ``tests/api/test_rest.py``).
"""

from __future__ import annotations

import json
import warnings
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)

from fuzz_gateway import SECRET, Gateway

from api.main import create_app
from flowcast.settings import Settings

pytestmark = pytest.mark.integration
EXCLUDED = {"POST /admin/replay"}
EXAMPLES = 30
FIGURES = Path(__file__).resolve().parents[2] / "test-artifacts" / "reliability"
SEEN: Counter[int] = Counter()


@pytest.fixture(scope="module", autouse=True)
def report_statuses() -> Iterator[None]:
    """Save how many requests were fuzzed and what they earned (RELIABILITY.md)."""
    yield
    FIGURES.mkdir(parents=True, exist_ok=True)
    figures = {"requests": SEEN.total(), "by_status": dict(sorted(SEEN.items()))}
    figures["5xx"] = sum(n for status, n in SEEN.items() if status >= 500)
    (FIGURES / "openapi_fuzz.json").write_text(json.dumps(figures, indent=2))


def operations() -> dict[str, Any]:
    """The app's operations, read from its OpenAPI document (label → operation)."""
    app = create_app(Settings(redis_url="redis://127.0.0.1:1/0", jwt_secret=SECRET))
    schema = schemathesis.openapi.from_dict(app.openapi())
    found = (result.ok() for result in schema.get_all_operations())
    return {op.label: op for op in found if op.label not in EXCLUDED}


OPERATIONS = operations()


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_no_input_and_no_token_earns_a_5xx(label: str, gateway: Gateway) -> None:
    _, client, tokens = gateway
    operation = OPERATIONS[label]
    cases = st.one_of(operation.as_strategy(mode) for mode in GenerationMode)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases)
    def call_with_every_token(case: schemathesis.Case) -> None:
        for token in tokens.values():
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            # through the client whose event loop runs the app's lifespan (and Redis client)
            response = client.request(**case.as_transport_kwargs(headers=headers))
            SEEN[response.status_code] += 1
            assert response.status_code < 500, (label, response.text[:300])

    call_with_every_token()
