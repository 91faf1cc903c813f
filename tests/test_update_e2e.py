"""Crash safety and zero-downtime reload with the real model: kill -9 `qa index update` at each
pause point, and upload/delete transcripts under a steady stream of /ask on a real uvicorn."""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from qa.debug import POINTS
from qa.embed import Embedder, SentenceTransformerEmbedder
from qa.service import QAService
from qa.settings import Settings
from qa.store.files import IndexDir

QA = Path(sys.executable).parent / "qa"

pytestmark = pytest.mark.slow

SPACE = """Host:
What is the plan for the lunar base?

Commander Ortiz:
We will land the first habitat module near the south pole of the Moon in 2031. The crater rims \
there get sunlight almost all the time, which powers the base, and the shadowed floors hold water ice.

Host:
How many astronauts will live there?

Commander Ortiz:
Four astronauts will live in the habitat for six months at a time.
"""
KITCHEN = """Host:
What is the secret of your sourdough bread?

Chef Laurent:
I feed the starter twice a day with rye flour and keep the dough cold overnight for sixteen hours.
"""
ATACAMA = """Interviewer:
What did the expedition find in the Atacama desert?

Dr. Rivera:
We found extremophile bacteria living inside salt crystals. Nobody on the team expected that.
The colony survives on the moisture the salt pulls out of the air at night.
"""
ASK_SPACE = "How many astronauts will live in the lunar habitat?"
ASK_ATACAMA = "What lives inside salt crystals in the Atacama desert?"
ASK_BREAD = "How does the chef make sourdough bread?"


@pytest.fixture(scope="module")
def model() -> Embedder:
    return SentenceTransformerEmbedder()


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory, model: Embedder) -> Path:
    """space.txt and kitchen.txt, indexed (with the embedding cache filled)."""
    root = tmp_path_factory.mktemp("update-base")
    (root / "src").mkdir()
    (root / "src" / "space.txt").write_text(SPACE, encoding="utf-8")
    (root / "src" / "kitchen.txt").write_text(KITCHEN, encoding="utf-8")
    QAService(settings(root), embedder=model).build()
    return root


def settings(root: Path) -> Settings:
    return Settings(source_dir=root / "src", index_dir=root / "index", reload_interval=-1)


def copy_of(base: Path, tmp_path: Path) -> Path:
    shutil.copytree(base, tmp_path, dirs_exist_ok=True)
    return tmp_path


def answers_from(svc: QAService, question: str) -> set[str]:
    """Documents cited by the answer's quotes; every quote must be an exact source slice."""
    answer = svc.ask(question)
    for q in answer.quotes:
        text = (svc.settings.source_dir / q.doc_id).read_text(encoding="utf-8")
        assert text[q.start : q.end] == q.text
    return {q.doc_id for q in answer.quotes}


def update_killed_at(root: Path, point: str) -> None:
    """Run `qa index update`, wait until it pauses at `point`, kill -9 it."""
    env = {
        **os.environ,
        "QA_PAUSE_AT": point,
        "QA_BATCH_SIZE": "4",  # several batches, so `embedding` pauses half-way through
        "QA_SOURCE_DIR": str(root / "src"),
        "QA_INDEX_DIR": str(root / "index"),
    }
    proc = subprocess.Popen(
        [str(QA), "index", "update", "--json"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stderr is not None
    stderr = proc.stderr
    threading.Thread(target=lambda: [lines.put(ln) for ln in stderr], daemon=True).start()
    seen = []
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                assert proc.poll() is None, f"update exited before {point}: {seen}"
                continue
            seen.append(line)
            if f"paused at {point}" in line:
                break
        else:
            pytest.fail(f"update never paused at {point}: {seen}")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def test_kill9_at_every_point_leaves_a_working_index(
    base: Path, tmp_path: Path, model: Embedder
) -> None:
    root = copy_of(base, tmp_path)
    idx = IndexDir(root / "index")
    old = idx.current()
    (root / "src" / "atacama.txt").write_text(ATACAMA, encoding="utf-8")

    versions = root / "index" / "versions"
    for point in POINTS[:-1]:  # every point before CURRENT is switched
        update_killed_at(root, point)
        assert idx.current() == old, point
        # What the kill left behind (each run first clears what the previous one left).
        temporaries = list(versions.glob(".tmp-*"))
        never_live = [p for p in versions.iterdir() if p.name[0] != "." and p.name > old]
        assert (bool(temporaries), bool(never_live)) == {
            "embedding": (False, False),
            "version-written": (True, False),
            "version-renamed": (False, True),
        }[point]
        svc = QAService(settings(root), embedder=model)
        assert svc.load().version == old
        assert answers_from(svc, ASK_SPACE) == {"space.txt"}, point
        assert "atacama.txt" not in svc.index.documents

    # The next update recovers: leftovers go, the work finishes, the killed runs' vectors are reused.
    svc = QAService(settings(root), embedder=model)
    report = svc.update()
    assert (
        report.written and report.doc_ids.added == ("atacama.txt",) and report.texts_embedded == 0
    )
    assert sorted(p.name for p in versions.iterdir()) == sorted(
        [old, report.version]
    )  # temporaries and never-live versions gone
    assert "atacama.txt" in answers_from(svc, ASK_ATACAMA)

    # Killed right after CURRENT switched (before pruning): the new version is the live one.
    (root / "src" / "kitchen.txt").unlink()
    update_killed_at(root, POINTS[-1])
    svc = QAService(settings(root), embedder=model)
    assert svc.load().version == idx.current() != report.version
    assert "kitchen.txt" not in svc.index.documents
    assert "kitchen.txt" not in answers_from(svc, ASK_BREAD)
    again = svc.update()
    assert not again.written and again.unchanged == 2


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(base: Path, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = copy_of(base, tmp_path)
    port = free_port()
    env = {**os.environ, "QA_API_KEY": "s3cret", "QA_RELOAD_INTERVAL": "0.5"}
    proc = subprocess.Popen(
        [
            str(QA),
            "serve",
            "--port",
            str(port),
            "--source",
            str(root / "src"),
            "--index",
            str(root / "index"),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert proc.poll() is None, "qa serve exited"
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            pytest.fail("qa serve did not answer /health")
        yield url, root
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_updates_under_a_steady_stream_of_questions(
    server: tuple[str, Path], model: Embedder
) -> None:
    url, root = server
    statuses: list[int] = []
    failures: list[str] = []
    stop = threading.Event()

    def ask_loop() -> None:
        with httpx.Client(base_url=url, timeout=60) as client:
            for _ in range(2000):  # bounded
                if stop.is_set():
                    return
                try:
                    r = client.post("/ask", json={"question": ASK_SPACE, "k": 3})
                    statuses.append(r.status_code)
                    body = r.json()
                    if r.status_code != 200 or not body["answerable"]:
                        failures.append(r.text[:300])
                except (httpx.HTTPError, ValueError) as exc:
                    failures.append(repr(exc))

    workers = [threading.Thread(target=ask_loop) for _ in range(2)]
    for w in workers:
        w.start()
    auth = {"Authorization": "Bearer s3cret"}
    try:
        with httpx.Client(base_url=url, timeout=120) as client:
            while len(statuses) < 5 and not failures and any(w.is_alive() for w in workers):
                time.sleep(0.1)
            r = client.post(
                "/documents", files={"file": ("atacama.txt", ATACAMA.encode(), "text/plain")}
            )
            assert r.status_code == 401  # no key
            r = client.post(
                "/documents",
                files={"file": ("atacama.txt", ATACAMA.encode(), "text/plain")},
                headers=auth,
            )
            assert r.status_code == 201, r.text
            assert r.json()["update"]["added"] == 1 and r.json()["update"]["chunks_embedded"] > 0
            body = client.post("/ask", json={"question": ASK_ATACAMA}).json()
            assert body["quotes"] and body["quotes"][0]["doc_id"] == "atacama.txt"

            r = client.delete("/documents/kitchen.txt", headers=auth)
            assert r.status_code == 200 and r.json()["removed"] == 1
            body = client.post("/ask", json={"question": ASK_BREAD}).json()
            assert all(p["doc_id"] != "kitchen.txt" for p in body["passages"])

            # Another process updates the index: the server picks the version up, no restart.
            before = client.get("/health").json()["version"]
            (root / "src" / "kitchen.txt").write_text(KITCHEN, encoding="utf-8")
            report = QAService(settings(root), embedder=model).update()
            assert (
                report.doc_ids.added == ("kitchen.txt",) and report.chunks_embedded == 0
            )  # cached
            deadline = time.monotonic() + 30
            while client.get("/health").json()["version"] == before:
                assert time.monotonic() < deadline, "server never loaded the new version"
                time.sleep(0.2)
            assert client.get("/health").json()["version"] == report.version
            assert client.get("/health").json()["documents"] == 3
            n = len(statuses)
            # More questions after the reload, unless the askers already asked all theirs.
            while len(statuses) < n + 5 and not failures and any(w.is_alive() for w in workers):
                time.sleep(0.1)
    finally:
        stop.set()
        for w in workers:
            w.join(timeout=120)
    assert not failures, failures[:3]
    assert statuses and set(statuses) == {200}
    print(f"\n{len(statuses)} /ask requests during upload, delete and reload: all 200")
