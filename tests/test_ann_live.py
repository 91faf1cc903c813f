"""qa.store.ann in live indexes: past `exact_below` vectors a store is IVF-fp16, recorded in the
manifest, and a filtered search still finds what the filter admits (fast: fake model)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import HashEmbedder

from qa.models import Filters
from qa.service import QAService
from qa.settings import Settings

DOCS = 220  # × 3 answer turns: enough chunks to train 16+ IVF cells (39 points each)


def transcript(i: int) -> str:
    return "".join(
        f"Host:\nWhat about topic{i}x{t}?\n\nGuest:\nThe word marker{i}x{t} is unique to here.\n\n"
        for t in range(3)
    )


@pytest.fixture
def service(tmp_path: Path) -> QAService:
    src = tmp_path / "src"
    src.mkdir()
    for i in range(DOCS):
        (src / f"doc{i:03d}.txt").write_text(transcript(i), encoding="utf-8")
    svc = QAService(
        Settings(source_dir=src, index_dir=tmp_path / "index", reload_interval=-1, exact_below=500),
        embedder=HashEmbedder(),
    )
    svc.build()
    return svc


def test_a_large_store_is_ivf_and_the_manifest_says_so(service: QAService) -> None:
    data = service.index
    plan = data.manifest.ann
    assert len(data.chunks) >= 500 and plan["chunks"]["type"] == "ivf"
    assert plan["chunks"]["storage"] == "fp16" and plan["chunks"]["nlist"] >= 16
    assert data.chunk_store.approximate and len(data.chunk_store) == len(data.chunks)
    # Fewer question keys than chunks, but still above the threshold here: IVF too.
    assert plan["questions"]["type"] == ("ivf" if data.chunk_store.approximate else "flat")
    # Each chunk's own vector finds a vector equal to it (itself, or a hash-collision twin).
    vecs = service.embedder.embed([c.text for c in data.chunks[::20]])
    scores, ids = data.chunk_store.search(vecs, 1)
    assert (ids[:, 0] >= 0).all() and (scores[:, 0] > 0.99).mean() >= 0.9
    hits = service.search("What about topic17x1?", k=3)
    text = (service.settings.source_dir / hits[0].doc_id).read_text(encoding="utf-8")
    assert text[hits[0].start : hits[0].end] == hits[0].text


def test_filtered_search_on_ivf_sees_every_admitted_chunk(service: QAService) -> None:
    # A query about one document, filtered to another: only the filter's document may come back,
    # and all of its chunks are candidates even though none is near the query's IVF cells.
    hits = service.search("marker17x1", k=10, filters=Filters.of(docs=["doc123.txt"]))
    assert hits and {h.doc_id for h in hits} == {"doc123.txt"}
    n = sum(c.doc_id == "doc123.txt" for c in service.index.chunks)
    assert len(hits) == n
    answer = service.ask(
        "What is unique about marker123x2?", filters=Filters.of(docs=["doc123.txt"])
    )
    assert answer.passages and all(p.doc_id == "doc123.txt" for p in answer.passages)


def test_updates_keep_the_plan_and_small_indexes_stay_exact(service: QAService) -> None:
    src = service.settings.source_dir
    (src / "new.txt").write_text(transcript(999), encoding="utf-8")
    service.update()
    assert service.index.manifest.ann["chunks"]["type"] == "ivf"
    assert "new.txt" in service.index.documents and service.index.chunk_store.approximate
    for p in src.glob("doc1*.txt"):
        p.unlink()
    for p in src.glob("doc0*.txt"):
        p.unlink()
    report = service.update()  # ~40 documents left: too few vectors to train the cells
    assert report.documents < 60
    assert service.index.manifest.ann["chunks"]["type"] == "flat"
    assert not service.index.chunk_store.approximate
