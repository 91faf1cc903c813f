"""The HTTP contract, in-process (FastAPI TestClient) over the session's real-model index."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from fakes import HashEmbedder
from fastapi.testclient import TestClient

from qa.api import create_app
from qa.errors import IndexMissing
from qa.models import dump
from qa.service import QAService
from qa.settings import Settings

if TYPE_CHECKING:
    from conftest import Built

pytestmark = pytest.mark.slow

ASK_KEYS = {
    "question", "answerable", "answer", "quotes", "passages", "coverage", "confidence", "related"
}  # fmt: skip
ITEM_KEYS = {"text", "doc_id", "speaker", "start", "end", "line_start", "line_end", "score"}
ITEM_KEYS |= {"label", "segments", "time_start", "time_end", "title", "date"}
ITEM_KEYS |= {"page", "page_line_start", "page_line_end"}  # PDFs: null for other formats
Verbatim = Callable[[Any, Path], int]


@pytest.fixture(scope="module")
def client(seeded: Built) -> Iterator[TestClient]:
    with TestClient(create_app(service=seeded.service)) as c:  # runs the lifespan (load)
        yield c


def test_ask_contract(client: TestClient, seeded: Built, verbatim: Verbatim) -> None:
    r = client.post(
        "/ask", json={"question": "How many Optimus robots will Tesla build next year?"}
    )
    assert r.status_code == 200
    body = r.json()
    assert set(body) == ASK_KEYS
    assert body["question"] == "How many Optimus robots will Tesla build next year?"
    assert body["answerable"] is True and isinstance(body["answer"], str) and body["answer"]
    assert 1 <= len(body["quotes"]) <= 4 and 1 <= len(body["passages"]) <= 5
    for item in body["quotes"] + body["passages"]:
        assert set(item) == ITEM_KEYS
        assert isinstance(item["score"], float)
        assert item["speaker"] is None or isinstance(item["speaker"], str)
    assert verbatim(body["quotes"] + body["passages"], seeded.source) > 0
    # The answer text cites each quote by document and line.
    for q in body["quotes"]:
        assert q["text"] in body["answer"] and q["doc_id"] in body["answer"]


def test_ask_with_k_and_filters(client: TestClient, seeded: Built, verbatim: Verbatim) -> None:
    r = client.post(
        "/ask",
        json={
            "question": "What did he say about the value of X?",
            "k": 2,
            "doc": ["003_aef95c100974d035.txt"],
            "speaker": ["Ron Baron"],
        },
    )
    assert r.status_code == 200
    body = r.json()
    assert len(body["passages"]) <= 2 and len(body["quotes"]) <= 2
    for item in body["quotes"] + body["passages"]:
        assert (item["doc_id"], item["speaker"]) == ("003_aef95c100974d035.txt", "Ron Baron")
    verbatim(body["quotes"] + body["passages"], seeded.source)


def test_search(client: TestClient, seeded: Built, verbatim: Verbatim) -> None:
    r = client.get("/search", params={"q": "Neuralink patients", "k": 4})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"passages"} and len(body["passages"]) == 4
    scores = [p["score"] for p in body["passages"]]
    assert scores == sorted(scores, reverse=True)
    assert verbatim(body["passages"], seeded.source) == 4
    r = client.get("/search", params=[("q", "robots"), ("speaker", "Mark Penn"), ("k", "3")])
    assert r.status_code == 200
    assert {p["speaker"] for p in r.json()["passages"]} == {"Mark Penn"}


def test_health_and_documents(client: TestClient, seeded: Built) -> None:
    health = client.get("/health").json()
    assert health == dump(seeded.service.status())
    assert health["status"] == "ok" and health["documents"] == 2 and health["chunks"] > 0
    assert "MiniLM" in health["model"] and health["version"]
    docs = client.get("/documents").json()
    assert [d["doc_id"] for d in docs] == ["000_c8b093dbc246d9b3.txt", "003_aef95c100974d035.txt"]
    assert all(
        set(d) == {"doc_id", "sha256", "chunks", "status", "reason"} and len(d["sha256"]) == 64
        for d in docs
    )
    assert {(d["status"], d["reason"]) for d in docs} == {("indexed", None)}


def test_openapi_and_docs(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    assert {"/ask", "/search", "/health", "/documents"} <= set(spec["paths"])
    ask = spec["components"]["schemas"]["Answer"]["properties"]
    assert set(ask) == ASK_KEYS


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"question": ""}, "question"),
        ({"question": "   \n\t"}, "question"),
        ({"question": "x" * 2001}, "question"),
        ({"question": 42}, "question"),
        ({"question": ["a list"]}, "question"),
        ({"question": None}, "question"),
        ({"question": "bad\x00control"}, "question"),
        ({}, "question"),
        ({"question": "ok", "k": 0}, "k"),
        ({"question": "ok", "k": 51}, "k"),
        ({"question": "ok", "k": "many"}, "k"),
        ({"question": "ok", "speaker": "Musk"}, "speaker"),
    ],
    ids=[
        "empty",
        "whitespace",
        "too-long",
        "number",
        "list",
        "null",
        "control-char",
        "missing",
        "k=0",
        "k=51",
        "k-not-int",
        "speaker-not-list",
    ],
)
def test_ask_rejects_bad_input_with_422(
    client: TestClient, body: dict[str, Any], field: str
) -> None:
    r = client.post("/ask", json=body)
    assert r.status_code == 422
    payload = r.json()
    assert payload["error"] == "invalid_request"
    assert field in payload["detail"], payload["detail"]


@pytest.mark.parametrize(
    "content", [b"{bad", b"", b"question=hi", b'{"question": "unterminated}'], ids=str
)
def test_ask_rejects_malformed_json_with_422(client: TestClient, content: bytes) -> None:
    r = client.post("/ask", content=content, headers={"content-type": "application/json"})
    assert r.status_code == 422
    payload = r.json()
    assert payload["error"] == "invalid_request" and payload["detail"]


def test_malformed_json_says_so(client: TestClient) -> None:
    r = client.post("/ask", content=b"{bad", headers={"content-type": "application/json"})
    assert r.json()["detail"] == "request body is not valid JSON"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"q": ""}, "q"),
        ({"q": "  "}, "q"),
        ({"q": "x" * 2001}, "q"),
        ({}, "q"),
        ({"q": "ok", "k": 0}, "k"),
        ({"q": "ok", "k": 51}, "k"),
        ({"q": "ok", "k": "x"}, "k"),
    ],
    ids=["empty", "whitespace", "too-long", "missing", "k=0", "k=51", "k-not-int"],
)
def test_search_rejects_bad_input_with_422(
    client: TestClient, params: dict[str, Any], field: str
) -> None:
    r = client.get("/search", params=params)
    assert r.status_code == 422
    payload = r.json()
    assert payload["error"] == "invalid_request" and field in payload["detail"]


def test_search_rejects_an_unknown_parameter_naming_it(client: TestClient) -> None:
    r = client.get("/search", params={"q": "neuralink", "speakr": "Nobody"})
    assert r.status_code == 422 and "speakr" in r.json()["detail"]
    assert client.get("/search", params={"q": "neuralink", "_": "123"}).status_code == 200
    for day in ("2023-03-08T00:00:00", "20230308", "1678233600"):
        assert client.get("/search", params={"q": "x", "date_from": day}).status_code == 422
        r = client.post("/ask", json={"question": "x", "date_from": day})
        assert r.status_code == 422 and "date_from" in r.json()["detail"]
    r = client.get(
        "/search", params={"q": "neuralink", "date_from": "2024-02-01", "date_to": "2024-01-01"}
    )
    assert r.status_code == 422 and "is after date_to" in r.json()["detail"]


def test_a_filter_naming_nothing_indexed_is_a_422_naming_it(client: TestClient) -> None:
    # A misspelt document or speaker used to answer 200 "not found": read as "the transcripts
    # do not say this" when they were never searched.
    r = client.post("/ask", json={"question": "Neuralink?", "doc": ["003_aef95c100974d035.tx"]})
    assert r.status_code == 422, r.text
    assert r.json()["detail"] == (
        "doc: no indexed document '003_aef95c100974d035.tx'"
        " (did you mean '003_aef95c100974d035.txt'?)"
    )
    r = client.get("/search", params={"q": "Neuralink", "speaker": ["Elon Mosk"]})
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith("speaker: no indexed speaker 'elon mosk'")
    # One value that names a speaker keeps the filter (a saved query may name one gone since).
    r = client.get("/search", params={"q": "Neuralink", "speaker": ["Musk", "Elon Mosk"]})
    assert r.status_code == 200, r.text
    # Names match as before: a label as written, a display name, its last words, any case.
    for speaker in ("ron baron", "Baron", "ELON  MUSK"):
        r = client.get("/search", params={"q": "Neuralink", "speaker": speaker})
        assert r.status_code == 200, (speaker, r.text)


def test_filters_that_admit_no_passage_say_so_not_that_nothing_answers(
    client: TestClient,
) -> None:
    # The seeds are undated: a date range holds none of them, so nothing was searched. The
    # answer said "No passage in the indexed transcripts answers this question".
    r = client.post("/ask", json={"question": "Neuralink patients?", "date_from": "2020-01-01"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["coverage"], body["quotes"], body["passages"]) == ("not_found", [], [])
    assert body["answer"].startswith("No passage of the indexed transcripts is within these")
    assert "widen or remove one" in body["answer"]


def test_off_topic_question_is_not_answered(client: TestClient) -> None:
    body = client.post("/ask", json={"question": "What is the capital of France?"}).json()
    assert body["answerable"] is False and body["quotes"] == []
    assert body["answer"] == "No passage in the indexed transcripts answers this question."


def test_unanswerable_on_topic_question_is_related_not_answered(client: TestClient) -> None:
    body = client.post(
        "/ask",
        json={"question": "How many Cybertrucks did Tesla sell last year, according to Musk?"},
    ).json()
    assert body["answerable"] is False and body["quotes"] == []
    # On topic (other counts from the same interview), so the closest quotes come as related.
    assert body["coverage"] == "related" and body["related"] and 0 <= body["confidence"] < 0.5


def test_app_refuses_to_start_without_an_index(tmp_path: Path) -> None:
    svc = QAService(Settings(index_dir=tmp_path / "none"), embedder=HashEmbedder())
    with pytest.raises(IndexMissing), TestClient(create_app(service=svc)):
        pass
