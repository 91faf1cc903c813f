"""Schemathesis against the app's own OpenAPI schema: no 5xx, no response that breaks the schema."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import schemathesis
from fakes import HashEmbedder
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from qa.api import create_app
from qa.service import QAService
from qa.settings import Settings

SEEDS = Path(__file__).resolve().parents[2] / "seeds"


def _app():  # type: ignore[no-untyped-def]
    base = Path(__import__("tempfile").mkdtemp(prefix="qa-schema-"))
    shutil.copytree(SEEDS, base / "seeds")
    cfg = Settings(source_dir=base / "seeds", index_dir=base / "index")
    service = QAService(cfg, embedder=HashEmbedder())
    service.build()
    app = create_app(cfg, service=service)
    app.state.service = service  # schemathesis may call without running the lifespan
    return app


APP = _app()
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
# Valid requests per the schema. Invalid ones are covered case by case in test_api.py, with the
# exact status and message a client should get, and generated below.
schema.config.generation.update(modes=[schemathesis.GenerationMode.POSITIVE])
# Requests that break the schema (wrong types, missing fields, values past their bounds): each
# must be refused with a 4xx, never a 5xx.
negative = schemathesis.openapi.from_asgi("/openapi.json", APP)
negative.config.generation.update(modes=[schemathesis.GenerationMode.NEGATIVE])


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case: schemathesis.Case) -> None:
    response = case.call()
    assert response.status_code < 500, (
        f"{case.method} {case.path}: {response.status_code} {response.text}"
    )
    # What the API promises: no server errors; every status documented; every body as declared.
    # (A schema-valid upload can still be a bad transcript, so "valid data accepted" is not one.)
    case.validate_response(
        response,
        checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
    )


@negative.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_invalid_requests_are_refused_without_a_server_error(case: schemathesis.Case) -> None:
    response = case.call()
    assert response.status_code < 500, (
        f"{case.method} {case.path}: {response.status_code} {response.text}"
    )
    if response.status_code >= 400:  # every refusal is JSON naming the problem
        (ctype,) = response.headers.get("content-type", [""])
        assert ctype.startswith("application/json"), response.text
        assert "detail" in json.loads(response.text)
    case.validate_response(response, checks=[not_a_server_error])


@pytest.mark.parametrize("path", ["/health", "/documents"])
def test_schema_has_the_read_routes(path: str) -> None:
    assert path in schema.raw_schema["paths"]
