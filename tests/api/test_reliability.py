"""Load and faults against a real server: concurrent clients with writes in the middle, and a
server killed (-9) in the middle of an index update."""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from conftest import Built
from test_e2e import Server

pytestmark = pytest.mark.slow

KEY = "load-test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
NEW = "Interviewer:\nWhere do the bacteria live?\n\nDr. Rivera:\nInside salt crystals in the Atacama desert.\n"
QUESTIONS = [
    "How many Optimus robots will Tesla build next year?",
    "What did Musk say about Neuralink patients?",
    "Why does Musk call Ron Baron a friend?",
    "When will Grok 5 be released?",
    "What will an Optimus robot cost?",
    "How safe will autonomous driving become?",
]


def _copy(seeded: Built, tmp_path: Path) -> tuple[Path, Path]:
    source, index = tmp_path / "src", tmp_path / "index"
    shutil.copytree(seeded.source, source)
    shutil.copytree(seeded.index, index)
    return source, index


def _children(pid: int) -> list[int]:
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(stat.parent.name))
    return kids


def test_sixteen_clients_with_an_upload_and_a_delete(
    seeded: Built, tmp_path: Path, free_port: Callable[[], int]
) -> None:
    source, index = _copy(seeded, tmp_path)
    srv = Server(
        ["--source", str(source), "--index", str(index)],
        free_port(),
        tmp_path / "server.log",
        env={"QA_API_KEY": KEY, "QA_RELOAD_INTERVAL": "0.5"},
    )
    try:
        srv.wait_ready()
        latencies: list[float] = []
        failures: list[str] = []
        stop = time.monotonic() + 20.0

        def client(n: int) -> None:
            with httpx.Client(base_url=srv.url, timeout=30) as c:
                i = 0
                while time.monotonic() < stop:
                    q = f"{QUESTIONS[(n + i) % len(QUESTIONS)]} ({n}.{i})"  # distinct: no cache
                    t0 = time.perf_counter()
                    try:
                        r = (
                            c.post("/ask", json={"question": q})
                            if i % 2 == 0
                            else c.get("/search", params={"q": q})
                        )
                        if r.status_code != 200:
                            failures.append(f"{r.status_code} {r.text[:200]}")
                    except httpx.HTTPError as exc:
                        failures.append(repr(exc))
                    latencies.append((time.perf_counter() - t0) * 1000)
                    i += 1

        threads = [threading.Thread(target=client, args=(n,)) for n in range(16)]
        for t in threads:
            t.start()
        time.sleep(6)
        with httpx.Client(base_url=srv.url, timeout=60, headers=AUTH) as w:
            up = w.post("/documents", json={"name": "atacama.txt", "text": NEW})
            assert up.status_code == 201, up.text
            gone = w.delete("/documents/003_aef95c100974d035.txt")
            assert gone.status_code == 200, gone.text
        for t in threads:
            t.join()
        p50 = statistics.median(latencies)
        p99 = sorted(latencies)[int(0.99 * (len(latencies) - 1))]
        print(
            f"\nload: {len(latencies)} requests in 20 s from 16 clients, {len(failures)} errors, "
            f"p50 {p50:.0f} ms, p99 {p99:.0f} ms"
        )
        assert not failures, failures[:5]
        with httpx.Client(base_url=srv.url, timeout=30) as c:
            docs = {d["doc_id"] for d in c.get("/documents").json()}
            assert docs == {"000_c8b093dbc246d9b3.txt", "atacama.txt"}
            hits = c.get("/search", params={"q": "bacteria salt crystals", "k": 1}).json()[
                "passages"
            ]
            assert hits[0]["doc_id"] == "atacama.txt"
        # The writes ran in the server's indexing process, at a lower priority (qa.indexproc).
        kids = _children(srv.proc.pid)
        assert kids, "qa serve runs its writes in a child process"
        assert max(os.getpriority(os.PRIO_PROCESS, k) for k in kids) > os.getpriority(
            os.PRIO_PROCESS, srv.proc.pid
        )
    finally:
        srv.stop()


def test_server_killed_during_an_update_serves_the_last_complete_index(
    seeded: Built, tmp_path: Path, free_port: Callable[[], int]
) -> None:
    source, index = _copy(seeded, tmp_path)
    args = ["--source", str(source), "--index", str(index)]
    before = (index / "CURRENT").read_text()
    srv = Server(
        args,
        free_port(),
        tmp_path / "a.log",
        env={"QA_API_KEY": KEY, "QA_PAUSE_AT": "version-written"},
    )
    try:
        srv.wait_ready()
        (source / "atacama.txt").write_text(NEW, encoding="utf-8")

        def run_update() -> None:
            # The server is killed under this request: that is the point.
            with contextlib.suppress(httpx.HTTPError):
                httpx.post(f"{srv.url}/index/update", headers=AUTH, timeout=120)

        update = threading.Thread(target=run_update, daemon=True)
        update.start()
        deadline = time.monotonic() + 90
        while "paused at version-written" not in srv.output():
            assert time.monotonic() < deadline, srv.output()
            time.sleep(0.2)
        # Reads go on while an update holds the lock.
        assert (
            httpx.post(f"{srv.url}/ask", json={"question": "Neuralink?"}, timeout=30).status_code
            == 200
        )
        srv.proc.kill()
        srv.proc.wait(timeout=10)
    finally:
        srv.stop()
    assert (index / "CURRENT").read_text() == before

    again = Server(args, free_port(), tmp_path / "b.log", env={"QA_API_KEY": KEY})
    try:
        again.wait_ready()
        with httpx.Client(base_url=again.url, timeout=120) as c:
            assert c.get("/health").json()["documents"] == 2  # the last complete version
            r = c.post("/index/update", headers=AUTH)
            assert r.status_code == 200 and r.json()["added"] == 1, r.text
            assert c.get("/health").json()["documents"] == 3
            assert not list((index / "versions").glob(".tmp-*")), "crash leftovers cleaned up"
    finally:
        again.stop()
