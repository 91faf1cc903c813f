"""End to end: `qa serve` as a real uvicorn subprocess, spoken to over HTTP with httpx."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

if TYPE_CHECKING:
    from conftest import Built

pytestmark = pytest.mark.slow

QA_BIN = Path(sys.executable).parent / "qa"
READY_TIMEOUT = 60.0
Verbatim = Callable[[Any, Path], int]


class Server:
    def __init__(
        self, args: list[str], port: int, log: Path, env: dict[str, str] | None = None
    ) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        self._log_file = log.open("w")
        self.proc = subprocess.Popen(
            [str(QA_BIN), "serve", "--host", "127.0.0.1", "--port", str(port), *args],
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=log.parent,
            env={**os.environ, **(env or {})},
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"qa serve exited with {self.proc.returncode}:\n{self.output()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        pytest.fail(f"qa serve did not answer /health in {READY_TIMEOUT:.0f} s:\n{self.output()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._log_file.close()


@pytest.fixture
def start_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[list[str], int], Server]:
    def start(args: list[str], port: int) -> Server:
        server = Server(args, port, tmp_path_factory.mktemp("serve") / "server.log")
        request.addfinalizer(server.stop)
        server.wait_ready()
        return server

    return start


@pytest.fixture(scope="module")
def server(seeded: Built, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    srv = Server(
        ["--source", str(seeded.source), "--index", str(seeded.index)],
        port,
        tmp_path_factory.mktemp("serve") / "server.log",
    )
    try:
        srv.wait_ready()
        yield srv.url
    finally:
        srv.stop()


def test_server_end_to_end(server: str, seeded: Built, verbatim: Verbatim) -> None:
    with httpx.Client(base_url=server, timeout=30) as client:
        health = client.get("/health").json()
        assert health["status"] == "ok" and health["documents"] == 2 and health["chunks"] > 0
        assert "MiniLM" in health["model"]
        assert health["version"] == seeded.service.status().version

        r = client.post(
            "/ask", json={"question": "How many patients have had Neuralink implanted?", "k": 3}
        )
        assert r.status_code == 200
        body = r.json()
        assert set(body) >= {"question", "answerable", "answer", "quotes", "passages", "coverage"}
        assert body["answerable"] and body["quotes"] and len(body["passages"]) == 3
        assert verbatim(body["quotes"] + body["passages"], seeded.source) >= 4

        r = client.get("/search", params={"q": "Neuralink patients", "k": 2})
        assert r.status_code == 200
        passages = r.json()["passages"]
        assert len(passages) == 2
        assert verbatim(passages, seeded.source) == 2

        docs = client.get("/documents").json()
        assert {d["doc_id"] for d in docs} == {
            "000_c8b093dbc246d9b3.txt",
            "003_aef95c100974d035.txt",
        }
        assert client.get("/docs").status_code == 200
        assert "/ask" in client.get("/openapi.json").json()["paths"]


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
def test_server_rejects_bad_questions_with_422(server: str, body: dict[str, Any]) -> None:
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


def test_serve_refuses_a_missing_index_clearly(
    tmp_path: Path, free_port: Callable[[], int]
) -> None:
    done = subprocess.run(
        [
            str(QA_BIN),
            "serve",
            "--port",
            str(free_port()),
            "--source",
            str(tmp_path),
            "--index",
            str(tmp_path / "none"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        cwd=tmp_path,
    )
    assert done.returncode == 4
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("qa: error: no index in"), done.stderr
    assert "qa index build" in lines[0]


def test_serve_build_indexes_an_empty_folder_then_serves(
    tmp_path: Path,
    free_port: Callable[[], int],
    start_server: Callable[[list[str], int], Server],
    verbatim: Verbatim,
) -> None:
    src, index = tmp_path / "src", tmp_path / "index"
    src.mkdir()
    index.mkdir()  # exists, but holds no index yet
    (src / "talk.txt").write_text(
        "Host:\nWhat colour is the sky on Mars?\n"
        "Guest:\nThe sky on Mars is butterscotch by day. Sunsets there are blue.\n"
        "Host:\nThanks.\nGuest:\nAnytime.\n",
        encoding="utf-8",
    )
    server = start_server(["--build", "--source", str(src), "--index", str(index)], free_port())
    assert "updating" in server.output()
    assert (index / "CURRENT").is_file()
    health = httpx.get(f"{server.url}/health", timeout=10).json()
    assert health["documents"] == 1 and health["chunks"] > 0
    r = httpx.post(
        f"{server.url}/ask", json={"question": "What colour is the Martian sky?"}, timeout=30
    )
    assert r.status_code == 200
    body = r.json()
    assert body["answerable"] and body["quotes"]
    assert any("butterscotch" in p["text"] for p in body["passages"])
    assert verbatim(body["quotes"] + body["passages"], src) > 0


def test_sigterm_finishes_in_flight_requests_and_exits_0(
    seeded: Built, start_server: Callable[[list[str], int], Server], free_port: Callable[[], int]
) -> None:
    srv = start_server(["--source", str(seeded.source), "--index", str(seeded.index)], free_port())
    statuses: list[int] = []
    errors: list[str] = []

    def client() -> None:
        with httpx.Client(base_url=srv.url, timeout=30) as c:
            for i in range(200):
                try:
                    r = c.post("/ask", json={"question": f"robots and Mars, take {i}"})
                    statuses.append(r.status_code)
                except httpx.TransportError as exc:  # refused once the server stopped accepting
                    errors.append(type(exc).__name__)
                    return

    threads = [threading.Thread(target=client) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    srv.proc.send_signal(signal.SIGTERM)
    assert srv.proc.wait(timeout=30) == 0, srv.output()
    for t in threads:
        t.join(timeout=30)
    # Every request that got an answer got a whole one; none was cut off with a 5xx.
    assert statuses and set(statuses) == {200}, statuses
    assert "Finished server process" in srv.output() or "Shutting down" in srv.output()


def test_serve_watch_indexes_a_dropped_file(
    seeded: Built,
    tmp_path: Path,
    free_port: Callable[[], int],
    start_server: Callable[[list[str], int], Server],
    verbatim: Verbatim,
) -> None:
    """`qa serve --watch`: a transcript copied into the source folder becomes findable."""
    import shutil

    src, index = tmp_path / "src", tmp_path / "index"
    shutil.copytree(seeded.source, src)
    shutil.copytree(seeded.index, index)
    srv = start_server(["--watch", "--source", str(src), "--index", str(index)], free_port())
    (src / "atacama.txt").write_text(
        "Interviewer:\nWhat did the expedition find in the Atacama desert?\n\n"
        "Dr. Rivera:\nWe found extremophile bacteria living inside salt crystals.\n",
        encoding="utf-8",
    )
    deadline = time.monotonic() + 90  # bounded: a debounce, one small update, a reload
    docs: set[str] = set()
    with httpx.Client(base_url=srv.url, timeout=30) as c:
        while time.monotonic() < deadline and "atacama.txt" not in docs:
            time.sleep(0.5)
            docs = {d["doc_id"] for d in c.get("/documents").json()}
        assert "atacama.txt" in docs, srv.output()
        body = c.post("/ask", json={"question": "What lives inside salt crystals?"}).json()
        assert "atacama.txt" in {q["doc_id"] for q in body["quotes"]}
        assert verbatim(body["quotes"] + body["passages"], src) > 0
