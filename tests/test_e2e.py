"""End to end through the console script: `qa index build`, `qa ask --json`, and `qa serve` (real uvicorn)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
QA = Path(sys.executable).parent / "qa"
QUOTE_KEYS = {"text", "doc_id", "speaker", "start", "end", "line_start", "line_end", "score"}

pytestmark = pytest.mark.slow


def run(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(QA), *args], capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("e2e")
    source, index = base / "seeds", base / "index"
    shutil.copytree(ROOT / "seeds", source)
    done = run("index", "build", "--source", str(source), "--index", str(index), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["documents"] == 2 and report["chunks"] > 0
    return source, index


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def assert_exact(body: dict, source: Path) -> None:
    for item in body["quotes"] + body["passages"]:
        assert set(item) == QUOTE_KEYS
        text = (source / item["doc_id"]).read_text(encoding="utf-8")
        assert text[item["start"] : item["end"]] == item["text"]


def test_ask_json_through_the_console_script(built: tuple[Path, Path]) -> None:
    source, index = built
    done = run(
        "ask",
        "How many Optimus robots does Tesla plan to build next year?",
        "--json",
        "--source",
        str(source),
        "--index",
        str(index),
    )
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert set(body) == {"question", "answerable", "answer", "quotes", "passages"}
    assert body["answerable"] and body["quotes"]
    assert "[000_c8b093dbc246d9b3.txt, line" in body["answer"]
    assert_exact(body, source)


def test_index_update_and_status_json(built: tuple[Path, Path]) -> None:
    source, index = built
    done = run("index", "update", "--source", str(source), "--index", str(index), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    keys = {"added", "changed", "removed", "unchanged", "chunks_embedded", "seconds"}
    assert keys <= set(report) and not report["written"]
    assert [report[k] for k in sorted(keys - {"seconds"})] == [0, 0, 0, 0, 2]
    done = run("index", "status", "--source", str(source), "--index", str(index), "--json")
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    assert status["documents"] == 2 and status["size_bytes"] > 0 and status["last_update"]
    assert status["stale"] is False and "MiniLM" in status["model"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ask", "   "], "question must not be empty"),
        (["ask", "anything", "--index", "/nonexistent/index"], "no index in /nonexistent/index"),
        (
            ["index", "build", "--source", "/nonexistent/src", "--index", "/tmp/unused-qa-index"],
            "source folder not found",
        ),
    ],
)
def test_cli_errors_are_one_line_and_nonzero(
    args: list[str], message: str, built: tuple[Path, Path]
) -> None:
    source, index = built
    if "--index" not in args:
        args = [*args, "--source", str(source), "--index", str(index)]
    done = run(*args)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], done.stderr
    assert "Traceback" not in done.stderr


@pytest.fixture(scope="module")
def server(built: tuple[Path, Path]) -> Iterator[str]:
    source, index = built
    port = free_port()
    proc = subprocess.Popen(
        [
            str(QA),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--source",
            str(source),
            "--index",
            str(index),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"qa serve exited: {proc.stdout.read() if proc.stdout else ''}")
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            pytest.fail("qa serve did not answer /health in 90 s")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_server_end_to_end(server: str, built: tuple[Path, Path]) -> None:
    source, _ = built
    with httpx.Client(base_url=server, timeout=30) as client:
        health = client.get("/health").json()
        assert health["status"] == "ok" and health["documents"] == 2 and health["chunks"] > 0
        assert "MiniLM" in health["model"]

        r = client.post(
            "/ask", json={"question": "How many patients have had Neuralink implanted?", "k": 3}
        )
        assert r.status_code == 200
        body = r.json()
        assert body["answerable"] and len(body["passages"]) == 3
        assert_exact(body, source)

        r = client.get("/search", params={"q": "Neuralink patients", "k": 2})
        assert r.status_code == 200
        passages = r.json()["passages"]
        assert len(passages) == 2
        assert_exact({"quotes": [], "passages": passages}, source)

        docs = client.get("/documents").json()
        assert {d["doc_id"] for d in docs} == {
            "000_c8b093dbc246d9b3.txt",
            "003_aef95c100974d035.txt",
        }
        assert client.get("/docs").status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"question": ""},
        {"question": "   "},
        {"question": "x" * 2001},
        {"question": 42},
        {"question": "ok", "k": 0},
        {"question": "ok", "k": 51},
        {"question": "bad\x00control"},
        {},
    ],
)
def test_server_rejects_bad_questions_with_422(server: str, body: dict) -> None:
    r = httpx.post(f"{server}/ask", json=body, timeout=10)
    assert r.status_code == 422
    payload = r.json()
    assert payload["error"] == "invalid_request" and payload["detail"]


def test_server_rejects_malformed_json(server: str) -> None:
    r = httpx.post(
        f"{server}/ask", content=b"{bad", headers={"content-type": "application/json"}, timeout=10
    )
    assert r.status_code == 422
    assert r.json()["detail"] == "request body is not valid JSON"


def test_serve_refuses_a_missing_index_clearly(tmp_path: Path) -> None:
    done = run(
        "serve",
        "--port",
        str(free_port()),
        "--source",
        str(ROOT / "seeds"),
        "--index",
        str(tmp_path / "none"),
    )
    assert done.returncode != 0
    assert "no index in" in done.stderr and "qa index build" in done.stderr
