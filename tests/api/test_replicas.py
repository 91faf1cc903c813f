"""Two `qa serve` replicas (real uvicorn subprocesses, the real model) on one PostgreSQL database,
each with its own source folder as on two hosts: a document uploaded through one is answerable
through the other within the reload interval, with a verbatim, cited quote."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from test_e2e import QA_BIN, Server

from qa.store.postgres import SCHEMA_VERSION

pytestmark = pytest.mark.slow

KEY = "replica-test-key"
FIRST = (
    "Interviewer:\nWhere did the survey start?\n\n"
    "Ana Ruiz:\nThe survey started in the harbour district of Porto in spring.\n"
)
UPLOADED = (
    "Interviewer:\nWhat did the divers find under the old pier?\n\n"
    "Tomas Berg:\nUnder the old pier the divers found a bronze ship's bell from 1851.\n"
)


def test_an_upload_through_one_replica_is_answerable_through_the_other(
    tmp_path: Path, pg_url: str, free_port: Callable[[], int]
) -> None:
    hosts = [tmp_path / "a", tmp_path / "b"]
    for host in hosts:
        (host / "src").mkdir(parents=True)
        (host / "src" / "porto.txt").write_text(FIRST, encoding="utf-8")
    built = subprocess.run(
        [str(QA_BIN), "index", "build", "--store", pg_url, "--source", str(hosts[0] / "src")],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    env = {"QA_API_KEY": KEY, "QA_RELOAD_INTERVAL": "0.5"}
    servers = [
        Server(
            ["--store", pg_url, "--source", str(host / "src")],
            free_port(),
            host / "server.log",
            env=env,
        )
        for host in hosts
    ]
    try:
        for server in servers:
            server.wait_ready()
        one, other = servers
        for server in servers:
            health = httpx.get(f"{server.url}/health", timeout=10).json()
            assert health["backend"] == "postgresql", health
            assert health["schema_version"] == SCHEMA_VERSION, health

        question = {"question": "Which object from 1851 did the divers find?", "k": 3}
        before = httpx.post(f"{other.url}/ask", json=question, timeout=30).json()
        assert all(q["doc_id"] != "pier.txt" for q in before["quotes"])

        r = httpx.post(
            f"{one.url}/documents",
            json={"name": "pier.txt", "text": UPLOADED},
            headers={"Authorization": f"Bearer {KEY}"},
            timeout=120,
        )
        assert r.status_code == 201, r.text
        uploaded = time.monotonic()
        # Written on host A only: host B has never seen the file.
        assert not (hosts[1] / "src" / "pier.txt").exists()

        deadline = uploaded + 10
        answer: dict[str, object] = {}
        while time.monotonic() < deadline:
            answer = httpx.post(f"{other.url}/ask", json=question, timeout=30).json()
            quotes = answer["quotes"]
            assert isinstance(quotes, list)
            if quotes and quotes[0]["doc_id"] == "pier.txt":
                break
            time.sleep(0.1)
        seen_after = time.monotonic() - uploaded
        quotes = answer["quotes"]
        assert isinstance(quotes, list) and quotes, answer
        assert quotes[0]["doc_id"] == "pier.txt", (answer, other.output())
        bell = [q for q in quotes if "bronze ship's bell" in q["text"]]
        assert bell and bell[0]["speaker"] == "Tomas Berg", answer
        # Verbatim: each quote is the uploaded text's slice at the cited span.
        for q in quotes:
            if q["doc_id"] == "pier.txt":
                assert UPLOADED[q["start"] : q["end"]] == q["text"]
        # Within the reload interval plus one request's work, not minutes.
        assert seen_after < 5, seen_after

        # Both replicas now serve the same version.
        versions = {httpx.get(f"{s.url}/health", timeout=10).json()["version"] for s in servers}
        assert len(versions) == 1, versions
    finally:
        for server in servers:
            server.stop()
