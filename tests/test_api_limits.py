"""Request bodies bounded per route and never read before the key check (qa/api/limits.py);
filter values checked (qa/api/schemas.py, qa.retrieve.filter_values)."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes import HashEmbedder
from fastapi.testclient import TestClient
from pydantic import SecretStr

from qa.api import create_app
from qa.api.limits import JSON_BODY_BYTES, UPLOAD_SLACK, RequestLimits
from qa.errors import InvalidInput
from qa.models import Filters
from qa.service import QAService
from qa.settings import Settings

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
KEY = "limits-key"
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> QAService:
    base = tmp_path_factory.mktemp("limits")
    shutil.copytree(SEEDS, base / "src")
    svc = QAService(
        Settings(
            source_dir=base / "src",
            index_dir=base / "index",
            api_key=SecretStr(KEY),
            max_upload_bytes=4000,
        ),
        embedder=HashEmbedder(),
    )
    svc.build()
    return svc


@pytest.fixture(scope="module")
def client(service: QAService) -> Iterator[TestClient]:
    with TestClient(create_app(service=service)) as c:
        yield c


def test_an_oversized_ask_body_is_a_json_413(client: TestClient) -> None:
    body = json.dumps({"question": "Neuralink?", "doc": ["x" * 100] * 400}).encode()
    assert len(body) > JSON_BODY_BYTES
    r = client.post("/ask", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"] == "payload_too_large"
    assert "x-request-id" in r.headers  # answered inside the observability middleware


def test_a_chunked_body_is_counted_as_it_streams(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"question": "Neuralink?", "doc": ["'
        for _ in range(100):
            yield b"y" * 1024
        yield b'"]}'

    r = client.post("/ask", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"] == "payload_too_large"


def test_an_ordinary_ask_and_an_upload_at_the_limit_pass(client: TestClient) -> None:
    r = client.post("/ask", json={"question": "How many patients have Neuralink?", "k": 2})
    assert r.status_code == 200
    text = "Alice:\n" + "word " * 790  # just under max_upload_bytes
    r = client.post("/documents", json={"name": "limit.txt", "text": text}, headers=AUTH)
    assert r.status_code == 201, r.text
    assert client.delete("/documents/limit.txt", headers=AUTH).status_code == 200


def test_other_routes_take_small_bodies_only(client: TestClient) -> None:
    big = b"z" * (JSON_BODY_BYTES + 1)
    assert client.post("/index/update", content=big, headers=AUTH).status_code == 413
    assert (
        client.request("DELETE", "/documents/a.txt", content=big, headers=AUTH).status_code == 413
    )
    assert client.request("GET", "/search?q=x", content=big).status_code == 413


def test_the_key_is_checked_before_the_body_is_parsed(service: QAService, tmp_path: Path) -> None:
    settings = service.settings.model_copy(update={"read_api_key": SecretStr("r34d")})
    keyed = QAService(settings, embedder=service.embedder)
    with TestClient(create_app(service=keyed)) as c:
        # Not even JSON: a body that was parsed first would be a 422.
        r = c.post("/ask", content=b"{not json", headers={"content-type": "application/json"})
        assert r.status_code == 401 and r.json()["error"] == "unauthorized"
        r = c.post("/documents", content=b"\xff" * 10_000, headers={"content-type": "text/plain"})
        assert r.status_code == 401
        ok = {"Authorization": "Bearer r34d"}
        assert c.post("/ask", json={"question": "Neuralink?"}, headers=ok).status_code == 200


def _run(
    app: Any, method: str, path: str, headers: dict[str, str], body: list[bytes]
) -> tuple[int, dict[str, Any], int]:
    """Drive a pure ASGI app; returns (status, JSON body, body messages read)."""
    reads = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal reads
        reads += 1
        if reads > len(body):
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": body[reads - 1], "more_body": reads < len(body)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    data = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], json.loads(data or b"null"), reads


async def _reads_everything(scope: Any, receive: Any, send: Any) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b'"read"'})


def test_a_keyless_request_reads_no_byte_of_its_body() -> None:
    settings = Settings(api_key=SecretStr(KEY), read_api_key=SecretStr("r"))
    app = RequestLimits(_reads_everything, settings)
    for method, path in (("POST", "/ask"), ("POST", "/documents"), ("POST", "/index/update")):
        status, body, reads = _run(app, method, path, {"content-length": "10"}, [b"x" * 10])
        assert status == 401 and body["error"] == "unauthorized" and reads == 0
    closed = RequestLimits(_reads_everything, Settings())
    status, body, reads = _run(closed, "POST", "/documents", {"content-length": "5"}, [b"x" * 5])
    assert status == 403 and reads == 0


def test_a_declared_length_over_the_limit_reads_nothing_and_a_stream_stops_at_it() -> None:
    settings = Settings(max_upload_bytes=1000, api_key=SecretStr(KEY))
    app = RequestLimits(_reads_everything, settings)
    huge = {"content-length": str(100 * 2**20), **AUTH}
    status, _, reads = _run(app, "POST", "/ask", huge, [b"x"])
    assert status == 413 and reads == 0
    # A stream of 1 KB pieces: refused once past the limit, the rest never read.
    pieces = [b"x" * 1024] * 1000
    stream = {"transfer-encoding": "chunked"}
    status, body, reads = _run(app, "POST", "/ask", stream, pieces)
    assert status == 413 and body["error"] == "payload_too_large"
    assert reads == JSON_BODY_BYTES // 1024 + 1
    limit = 1000 + UPLOAD_SLACK
    status, _, reads = _run(app, "POST", "/documents", {**stream, **AUTH}, pieces)
    assert status == 413 and reads == limit // 1024 + 1
    status, body, _ = _run(app, "POST", "/documents", {**stream, **AUTH}, pieces[:10])
    assert status == 200 and body == "read"


# -- filter values ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("speaker", "Musk\x00"),
        ("speaker", "\x1b[31mred"),
        ("speaker", "tab\there"),
        ("speaker", "c1\x85"),
        ("speaker", "   "),
        ("speaker", "s" * 5000),
        ("doc", "nul\x00.txt"),
        ("doc", "d" * 5000),
    ],
)
def test_filter_values_are_checked(client: TestClient, field: str, value: str) -> None:
    r = client.post("/ask", json={"question": "Neuralink?", field: [value]})
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "invalid_request" and field in r.json()["detail"]
    r = client.get("/search", params={"q": "Neuralink", field: value})
    assert r.status_code == 422, r.text
    assert field in r.json()["detail"]


def test_too_many_filter_values_are_refused(client: TestClient) -> None:
    r = client.post("/ask", json={"question": "Neuralink?", "speaker": ["Musk"] * 101})
    assert r.status_code == 422 and "speaker" in r.json()["detail"]


@pytest.mark.parametrize(
    ("docs", "speakers"),
    [((), ("Musk\x00",)), (("a\x07.txt",), ()), ((), ("x" * 100_000,)), (("",), ())],
)
def test_the_library_and_cli_check_filter_values_too(
    service: QAService, docs: tuple[str, ...], speakers: tuple[str, ...]
) -> None:
    with pytest.raises(InvalidInput, match=r"^(doc|speaker): "):
        service.search("Neuralink", filters=Filters.of(docs=docs, speakers=speakers))
