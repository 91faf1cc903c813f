"""Request ids, security headers, CORS, metrics, the request deadline (fake embedder: logic only)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from fakes import HashEmbedder
from fastapi.testclient import TestClient
from pydantic import SecretStr

from qa.api import create_app
from qa.models import Answer
from qa.service import QAService
from qa.settings import Settings

SEEDS = Path(__file__).resolve().parents[2] / "seeds"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    base = tmp_path_factory.mktemp("obs")
    shutil.copytree(SEEDS, base / "seeds")
    settings = Settings(source_dir=base / "seeds", index_dir=base / "index")
    QAService(settings, embedder=HashEmbedder()).build()
    return settings


def client(settings: Settings, service: QAService | None = None) -> TestClient:
    svc = service or QAService(settings, embedder=HashEmbedder())
    return TestClient(create_app(settings, service=svc))


def test_request_id_is_echoed_or_made(built: Settings) -> None:
    with client(built) as c:
        given = c.get("/health", headers={"X-Request-ID": "abc-123"})
        assert given.headers["x-request-id"] == "abc-123"
        made = c.get("/health", headers={"X-Request-ID": "bad id\nwith newline"})
        assert len(made.headers["x-request-id"]) == 32


def test_security_headers(built: Settings) -> None:
    with client(built) as c:
        r = c.get("/health")
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        assert "default-src 'none'" in r.headers["content-security-policy"]
        docs = c.get("/docs")
        assert docs.status_code == 200 and "content-security-policy" not in docs.headers


def test_cors_closed_by_default_and_allowlisted(built: Settings) -> None:
    pre = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    with client(built) as c:
        r = c.options("/ask", headers=pre)
        assert "access-control-allow-origin" not in r.headers
    allowed = built.model_copy(update={"cors_origins": ["https://app.example"]})
    with client(allowed) as c:
        ok = c.options("/ask", headers={**pre, "Origin": "https://app.example"})
        assert ok.headers["access-control-allow-origin"] == "https://app.example"
        bad = c.options("/ask", headers=pre)
        assert "access-control-allow-origin" not in bad.headers


def test_metrics_count_requests_by_route_and_status(built: Settings) -> None:
    with client(built) as c:
        c.post("/ask", json={"question": "robots"})
        c.post("/ask", json={"question": ""})
        text = c.get("/metrics").text
    assert 'qa_requests_total{method="POST",route="/ask",status="200"}' in text
    assert 'qa_requests_total{method="POST",route="/ask",status="422"}' in text
    assert "qa_request_seconds_bucket" in text
    assert "qa_index_chunks " in text and "qa_index_documents 2.0" in text
    assert "qa_index_update_seconds_count" in text


class SlowService(QAService):
    def ask(self, question: str, k: int = 5, **kw: Any) -> Answer:
        time.sleep(1.0)
        return super().ask(question, k, **kw)


def test_a_request_past_its_deadline_gets_503_json(built: Settings) -> None:
    settings = built.model_copy(update={"request_timeout": 0.2})
    with client(settings, SlowService(settings, embedder=HashEmbedder())) as c:
        r = c.post("/ask", json={"question": "robots"})
        assert r.status_code == 503
        assert r.json()["error"] == "timeout"
        # The server keeps serving (/health has the same short deadline: on a loaded machine
        # one attempt may pass it, so a few are allowed).
        codes = [c.get("/health").status_code for _ in range(5)]
        assert 200 in codes, codes


def test_question_text_stays_out_of_info_logs(
    built: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    caplog.set_level(logging.INFO, logger="qa")
    with client(built) as c:
        c.post("/ask", json={"question": "secret robots plan"})
    assert "secret robots plan" not in caplog.text
    assert any(getattr(r, "fields", {}).get("route") == "/ask" for r in caplog.records)
    caplog.clear()
    loud = built.model_copy(update={"log_questions": True})
    with client(loud) as c:
        c.post("/ask", json={"question": "secret robots plan"})
    assert any(
        getattr(r, "fields", {}).get("question") == "secret robots plan" for r in caplog.records
    )


def test_metrics_need_the_read_key_when_one_is_set(built: Settings) -> None:
    keyed = built.model_copy(update={"read_api_key": SecretStr("r34d")})
    with client(keyed) as c:
        assert c.get("/metrics").status_code == 401
        assert c.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        ok = c.get("/metrics", headers={"Authorization": "Bearer r34d"})
        assert ok.status_code == 200 and "qa_requests_total" in ok.text
        assert c.get("/health").status_code == 200  # still open, for load balancers


class SlowWrites(QAService):
    def add_document(self, name: str, data: bytes) -> Any:
        time.sleep(1.0)
        return super().add_document(name, data)


def test_a_write_past_the_read_deadline_finishes_and_says_so(tmp_path: Path) -> None:
    from pydantic import SecretStr

    shutil.copytree(SEEDS, tmp_path / "seeds")
    settings = Settings(
        source_dir=tmp_path / "seeds",
        index_dir=tmp_path / "index",
        request_timeout=0.2,
        api_key=SecretStr("k"),
    )
    QAService(settings, embedder=HashEmbedder()).build()
    with client(settings, SlowWrites(settings, embedder=HashEmbedder())) as c:
        r = c.post(
            "/documents",
            json={"name": "late.txt", "text": "Alice:\nIt arrived late.\n"},
            headers={"Authorization": "Bearer k"},
        )
        # Not a 503 for an upload that goes live: the response is the write's own outcome.
        assert r.status_code == 201, r.text
        assert "late.txt" in {d["doc_id"] for d in c.get("/documents").json()}
