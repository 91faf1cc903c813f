"""The PostgreSQL backend (qa.store.postgres) against a real server (conftest `pg_server`): two
services on one database, a writer killed mid-transaction, concurrent workers, migrations,
import/export, and filtered vector search. The shared contract tests are in test_store.py."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import psycopg
import pytest
from fakes import HashEmbedder

from qa.errors import IndexIncompatible
from qa.models import dump
from qa.service import QAService
from qa.settings import Settings
from qa.store.postgres import SCHEMA_VERSION, PgStore

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


def _folder(tmp_path: Path, copies: int = 0, *, shared: bool = True) -> Path:
    """The seeds, plus `copies` renamed copies of each: distinct documents that share texts, or,
    not `shared`, whose every word carries its document's mark, so no text is in two of them."""
    source = tmp_path / "seeds"
    shutil.copytree(SEEDS, source)
    for d, path in enumerate(sorted(SEEDS.glob("*.txt"))):
        for i in range(-1 if not shared else 0, copies):
            text = path.read_text(encoding="utf-8")
            name = path.name
            if i >= 0:
                text += f"\nInterviewer:\nCopy {i} of {path.stem}?\n"
                name = f"copy{i}_{path.name}"
            if not shared:
                mark = "zq" + "abcdefgh"[d] + "abcdefgh"[i + 1]
                text = re.sub(r"(\w+)", rf"\1{mark}", text)
            (source / name).write_text(text, encoding="utf-8")
    return source


def _service(source: Path, url: str, **settings: object) -> QAService:
    return QAService(
        Settings(source_dir=source, index_dir=source.parent / "unused", store=url, **settings),  # type: ignore[arg-type]
        embedder=HashEmbedder(),
    )


def _count(url: str, query: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(query.encode()).fetchone()
    return int(row[0]) if row else 0


def test_an_upload_through_one_replica_is_answerable_through_the_other(
    tmp_path: Path, pg_url: str
) -> None:
    source = _folder(tmp_path)
    one = _service(source, pg_url, reload_interval=0.05)
    one.build()
    other = _service(source, pg_url, reload_interval=0.05)
    other.load()
    text = "Interviewer:\nWhat grows on the moon?\n\nDana Vos:\nBlue cabbages grow on the moon.\n"
    one.add_document("moon.txt", text.encode())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        hits = other.search("blue cabbages moon", k=3)  # a request triggers the reload check
        if hits and hits[0].doc_id == "moon.txt":
            break
        time.sleep(0.05)
    assert hits and hits[0].doc_id == "moon.txt"
    # The quote is the canonical text's slice, served from the table.
    assert text[hits[0].start : hits[0].end] == hits[0].text
    health = dump(other.status())
    assert health["backend"] == "postgresql" and health["schema_version"] == SCHEMA_VERSION
    assert health["version"] == one.store.current()


def test_a_writer_killed_mid_document_leaves_nothing_and_frees_its_job(
    tmp_path: Path, pg_url: str
) -> None:
    source = _folder(tmp_path)
    _service(source, pg_url).store.current()  # the schema, created
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from pathlib import Path; from fakes import HashEmbedder;"
        "from qa.service import QAService; from qa.settings import Settings;"
        "QAService(Settings(source_dir=Path(sys.argv[2]), store=sys.argv[3]),"
        " embedder=HashEmbedder()).work()"
    )
    env = {**os.environ, "QA_PAUSE_AT": "document-written", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(TESTS), str(source), pg_url],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            if "paused at document-written" in line:
                break
        else:
            pytest.fail("the worker never reached its pause point")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    # Its document's rows died with its transaction; its job is claimable again.
    assert _count(pg_url, "SELECT count(*) FROM qa_documents") == 0
    assert _count(pg_url, "SELECT count(*) FROM qa_chunks") == 0
    report = _service(source, pg_url).work()
    assert report.documents == 2 and report.version is not None
    loaded = _service(source, pg_url).load()
    assert set(loaded.documents) == {p.name for p in SEEDS.glob("*.txt")}


def test_two_workers_share_an_update_each_document_embedded_once(
    tmp_path: Path, pg_url: str
) -> None:
    # 6 documents, no text in two of them: two workers indexing two documents at once that share
    # a text may each embed it (neither finds it cached yet); that costs time, not correctness.
    source = _folder(tmp_path, copies=2, shared=False)
    services = [_service(source, pg_url) for _ in range(2)]
    services[0].store.current()  # the schema, created once before they race
    reports = []
    threads = [threading.Thread(target=lambda s=s: reports.append(s.work())) for s in services]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(reports) == 2
    assert sum(r.documents for r in reports) == 6
    assert [r.version for r in reports].count(None) == 1  # the last to finish wrote it
    done_by = _count(pg_url, "SELECT count(DISTINCT worker) FROM qa_jobs WHERE state = 'done'")
    assert _count(pg_url, "SELECT count(*) FROM qa_jobs WHERE state = 'done'") == 6
    assert done_by in (1, 2)
    # No text was embedded twice: each is one cache row, and embedded by one worker.
    assert sum(r.texts_embedded for r in reports) == _count(
        pg_url, "SELECT count(*) FROM qa_embeddings"
    )
    data = _service(source, pg_url).load()
    assert len(data.documents) == 6
    # Nothing left to do: a third worker finds no run to open.
    assert _service(source, pg_url).work().documents == 0


def test_a_database_at_an_older_schema_is_refused_then_migrated(
    tmp_path: Path, pg_url: str
) -> None:
    store = PgStore(pg_url)
    assert store.migrate(1) == (1, [1])
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("INSERT INTO qa_embeddings VALUES ('\\x01', '\\x02')")
    source = _folder(tmp_path)
    with pytest.raises(IndexIncompatible, match="run `qa db migrate`"):
        _service(source, pg_url).build()
    report = _service(source, pg_url).migrate()
    assert report.schema_version == SCHEMA_VERSION and report.applied == (2,)
    assert _service(source, pg_url).migrate().applied == ()  # applied once
    assert _count(pg_url, "SELECT count(*) FROM qa_embeddings") == 1  # data kept
    assert _service(source, pg_url).build().written


def test_import_from_files_and_export_back_embed_nothing(tmp_path: Path, pg_url: str) -> None:
    source = _folder(tmp_path)
    files = QAService(
        Settings(source_dir=source, index_dir=tmp_path / "index"), embedder=HashEmbedder()
    )
    files.build()
    db = _service(source, pg_url)
    moved = db.import_index(tmp_path / "index")
    assert moved.documents == 2
    question = "How many actuators does each Optimus robot have?"
    assert [dump(h) for h in db.search(question, k=5)] == [
        dump(h) for h in files.search(question, k=5)
    ]
    assert db.update().texts_embedded == 0  # nothing to do, nothing embedded
    back = db.export_index(tmp_path / "exported")
    again = QAService(
        Settings(source_dir=source, index_dir=tmp_path / "exported"), embedder=HashEmbedder()
    )
    assert back.documents == 2 and again.load().chunks == files.index.chunks
    assert dump(again.ask(question)) == dump(files.ask(question))


def test_filtered_search_is_exact_on_both_paths(tmp_path: Path, pg_url: str) -> None:
    source = _folder(tmp_path, copies=1)
    service = _service(source, pg_url)
    service.build()
    data = service.index
    store = data.chunk_store
    rng = np.random.default_rng(0)
    among = np.sort(rng.choice(len(data.chunks), size=40, replace=False))
    query = HashEmbedder().embed(["robot actuators and batteries"], 1)
    # The true top 10 among the admitted chunks, from their vectors in the database.
    with psycopg.connect(pg_url) as conn:
        from pgvector.psycopg import register_vector

        register_vector(conn)
        rows = conn.execute(
            "SELECT embedding FROM qa_chunks c JOIN qa_documents d ON d.key = c.doc_key"
            " ORDER BY d.doc_id, c.local"
        ).fetchall()
    vectors = np.vstack([np.asarray(v.to_numpy(), dtype=np.float32) for (v,) in rows])
    scores = vectors[among] @ query[0]
    truth = set(among[np.argsort(-scores, kind="stable")[:10]].tolist())
    for exact_among in (10_000, 0):  # the exact scan, then the filtered over-fetch
        store.exact_among = exact_among  # type: ignore[attr-defined]
        s, ids = store.search(query, 10, among)
        assert set(ids[0].tolist()) <= set(among.tolist())
        assert len(set(ids[0].tolist()) & truth) >= 9
        assert (np.diff(s[0]) <= 1e-6).all()


def test_hnsw_parameters_come_from_settings(tmp_path: Path, pg_url: str) -> None:
    from qa.settings import PostgresSettings

    service = _service(
        _folder(tmp_path), pg_url, postgres=PostgresSettings(hnsw_m=8, hnsw_ef_construction=32)
    )
    service.build()
    with psycopg.connect(pg_url) as conn:
        options = conn.execute(
            "SELECT reloptions FROM pg_class WHERE relname LIKE 'qa_chunks_hnsw_%'"
        ).fetchall()
    assert options and all(set(o) >= {"m=8", "ef_construction=32"} for (o,) in options)


def test_repeated_searches_are_planned_with_their_values(tmp_path: Path, pg_url: str) -> None:
    """psycopg prepares a statement run five times; a generic plan for it cannot know LIMIT or
    the filter's size and at scale is an exact scan (docs/benchmarks.md). Every search must be
    planned with its values, however often it repeats."""
    from qa.settings import PostgresSettings

    service = _service(_folder(tmp_path), pg_url, postgres=PostgresSettings(pool_size=1))
    service.build()
    store = service.index.chunk_store
    query = HashEmbedder().embed(["robot actuators and batteries"], 1)
    first = store.search(query, 5)
    for _ in range(8):
        again = store.search(query, 5)
        assert again[1].tolist() == first[1].tolist()
    pg = service.store
    assert isinstance(pg, PgStore)
    # One pooled connection: the statements the searches prepared are on it.
    ((generic, custom),) = pg.fetch(
        "SELECT coalesce(sum(generic_plans), 0), coalesce(sum(custom_plans), 0)"
        " FROM pg_prepared_statements",
        (),
    )
    assert custom > 0 and generic == 0
