"""Fuzz every operation of /openapi.json with schemathesis: no 500s, every response matches the spec."""
from __future__ import annotations

import pytest
import schemathesis
from schemathesis import GenerationMode
from hypothesis import HealthCheck, given, settings

from newstagger.service import create_app

# Small limits so generated texts and batches reach them (413) often, not never.
LIMITS = {"max_text_chars": 300, "max_batch": 4, "max_body_bytes": 20_000}
EXAMPLES = {"POST /classify": 150}  # the one operation with a body; the GETs take no input


@pytest.fixture(scope="module")
def api_schema(tiny_model_path, tiny_tagger):
    app = create_app({"model": str(tiny_model_path), **LIMITS}, tagger=tiny_tagger)
    # Invalid input may be rejected with any 4xx the spec declares: 413 for over-long text or batches.
    config = schemathesis.Config.from_dict(
        {"checks": {"negative_data_rejection": {"expected-statuses": ["400", "413", "415", "422"]}}})
    return schemathesis.openapi.from_wsgi("/openapi.json", app, config=config)


def _operations():
    # The document does not depend on the model, so the operation list is known before any fixture.
    from newstagger.openapi import build_spec

    spec = build_spec(max_text_chars=LIMITS["max_text_chars"], max_batch=LIMITS["max_batch"])
    return [f"{method.upper()} {path}" for path, ops in spec["paths"].items() for method in ops]


def _cases():
    # Operations without input have nothing to negate: positive data only for them.
    for label in _operations():
        yield pytest.param(label, GenerationMode.POSITIVE, id=f"{label}-positive")
        if label.startswith("POST"):
            yield pytest.param(label, GenerationMode.NEGATIVE, id=f"{label}-negative")


@pytest.mark.parametrize("label,mode", list(_cases()))
def test_operation_conforms_to_the_spec(api_schema, label, mode):
    # schemathesis' own pytest plugin does not run under pytest 9, so drive its strategies with hypothesis.
    method, path = label.split(" ", 1)
    operation = api_schema[path][method]
    strategy = operation.as_strategy(generation_mode=mode)

    @given(case=strategy)
    # derandomize: CI must not depend on luck; deeper random runs are a matter of raising EXAMPLES.
    @settings(max_examples=EXAMPLES.get(label, 5), deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    def run(case):
        response = case.call_and_validate()
        assert response.status_code < 500

    run()
