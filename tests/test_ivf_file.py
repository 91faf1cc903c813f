"""A version's trained IVF index is kept beside its manifest: the next load reads it instead of
training, gives the same results, and a corrupt, foreign or half-written file only means training
again (fast: fake model, a low `exact_below` as in test_ann_live)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fakes import HashEmbedder

from qa.models import Filters
from qa.service import QAService
from qa.settings import Settings
from qa.store import ann, ivf_file
from qa.store.files import IndexDir

DOCS = 220  # × 3 answer turns: enough chunks to train 16+ IVF cells


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
    assert svc.index.chunk_store.approximate  # loaded, trained, kept: before `trainings` counts
    return svc


@pytest.fixture
def trainings(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many vectors each IVF training was given, from here on."""
    calls: list[int] = []
    real = ann.train_and_add

    def counting(index: Any, params: dict[str, Any], ids: np.ndarray, vectors: np.ndarray) -> None:
        if not index.is_trained:
            calls.append(len(vectors))
        real(index, params, ids, vectors)

    monkeypatch.setattr(ann, "train_and_add", counting)
    return calls


def version_dir(service: QAService) -> Path:
    return service.settings.index_dir / "versions" / service.index.version


def queries(service: QAService) -> np.ndarray:
    return service.embedder.embed([f"marker{i}x1" for i in range(0, DOCS, 7)])


def test_the_first_load_keeps_the_trained_index_and_the_next_reads_it(
    service: QAService, trainings: list[int]
) -> None:
    first = service.index  # loaded (and trained) by the fixture
    assert first.chunk_store.approximate
    folder = version_dir(service)
    assert (folder / "chunks.ivf").is_file()
    assert (folder / "questions.ivf").is_file() == first.question_store.approximate
    again = IndexDir(service.settings.index_dir).load()
    assert trainings == []  # read, not trained
    assert again.chunk_store.approximate and len(again.chunk_store) == len(first.chunk_store)
    q = queries(service)
    s1, i1 = first.chunk_store.search(q, 10)
    s2, i2 = again.chunk_store.search(q, 10)
    assert np.array_equal(i1, i2) and np.allclose(s1, s2)
    # Filtered search (an IDSelector over every cell) works on the index read back.
    among = np.array([c.id for c in again.chunks if c.doc_id == "doc123.txt"])
    _, ids = again.chunk_store.search(q[:2], 10, among=among)
    assert set(ids[ids >= 0].tolist()) == set(among.tolist())
    fresh = QAService(service.settings, embedder=HashEmbedder())
    hits = fresh.search("marker17x1", k=10, filters=Filters.of(docs=["doc123.txt"]))
    assert hits and {h.doc_id for h in hits} == {"doc123.txt"}
    assert trainings == []


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "empty"])
def test_a_damaged_file_means_training_again(
    service: QAService,
    trainings: list[int],
    damage: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = version_dir(service) / "chunks.ivf"
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "flip":
        data[len(data) - 1000] ^= 0xFF
    elif damage == "garbage":
        data = bytearray(b"not an index at all" * 100)
    else:
        data = bytearray()
    path.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger="qa"):
        again = IndexDir(service.settings.index_dir).load()
    assert len(trainings) == 1  # the chunk store only; the question store's file is intact
    assert any("chunks.ivf" in r.getMessage() for r in caplog.records)
    s1, i1 = service.index.chunk_store.search(queries(service), 10)
    s2, i2 = again.chunk_store.search(queries(service), 10)
    assert np.array_equal(i1, i2) and np.allclose(s1, s2)
    # Trained again and kept: the load after that reads it.
    IndexDir(service.settings.index_dir).load()
    assert len(trainings) == 1


def test_a_file_made_for_other_vectors_is_not_used(
    service: QAService, trainings: list[int]
) -> None:
    folder = version_dir(service)
    # The question store's file under the chunk store's name: a valid index, the wrong one.
    if not (folder / "questions.ivf").is_file():
        pytest.skip("question store is flat here")
    (folder / "questions.ivf").replace(folder / "chunks.ivf")
    again = IndexDir(service.settings.index_dir).load()
    assert len(trainings) == 2 and len(again.chunk_store) == len(again.chunks)


def test_an_update_keeps_a_file_for_the_new_version(
    service: QAService, trainings: list[int]
) -> None:
    src = service.settings.source_dir
    old = version_dir(service)
    (src / "new.txt").write_text(transcript(999), encoding="utf-8")
    service.update()
    new = version_dir(service)
    assert new != old and (new / "chunks.ivf").is_file()
    assert trainings  # more chunks, so more cells planned (nlist): trained once, at the reload
    n = len(trainings)
    data = IndexDir(service.settings.index_dir).load()
    assert len(trainings) == n and "new.txt" in data.documents
    hits = service.search("marker999x1", k=10, filters=Filters.of(docs=["new.txt"]))
    assert hits and {h.doc_id for h in hits} == {"new.txt"}


def test_a_small_update_builds_on_the_previous_cells_instead_of_training(
    service: QAService, trainings: list[int]
) -> None:
    src = service.settings.source_dir
    per_doc = sum(c.doc_id == "doc005.txt" for c in service.index.chunks)
    # Same number of chunks (the plan's nlist unchanged), other words: its vectors out and in.
    (src / "doc005.txt").write_text(transcript(5).replace("marker5x", "beacon5x"), "utf-8")
    service.update()
    data = service.index
    assert trainings == [] and data.chunk_store.approximate
    assert data.chunk_store.drift == 2 * per_doc
    vecs = service.embedder.embed([c.text for c in data.chunks if c.doc_id == "doc005.txt"])
    scores, _ = data.chunk_store.search(vecs, 1)
    assert (scores[:, 0] > 0.99).all()  # the new vectors are in the cells
    hits = service.search("beacon5x1", k=10, filters=Filters.of(docs=["doc005.txt"]))
    assert hits and any("beacon5x1" in h.text for h in hits)
    # Kept with its drift: a fresh load reads it, and the drift adds up over updates.
    again = IndexDir(service.settings.index_dir).load()
    assert trainings == [] and again.chunk_store.drift == 2 * per_doc
    s1, i1 = data.chunk_store.search(queries(service), 10)
    s2, i2 = again.chunk_store.search(queries(service), 10)
    assert np.array_equal(i1, i2) and np.allclose(s1, s2)
    # A process that read the file builds its next version on those cells too.
    fresh = QAService(service.settings, embedder=HashEmbedder())
    assert fresh.index.chunk_store.drift == 2 * per_doc
    (src / "doc006.txt").write_text(transcript(6).replace("marker6x", "beacon6x"), "utf-8")
    fresh.update()
    assert trainings == [] and fresh.index.chunk_store.drift == 4 * per_doc


def test_past_a_tenth_of_the_vectors_changed_the_cells_are_trained_again(
    service: QAService, trainings: list[int]
) -> None:
    src = service.settings.source_dir
    n = len(service.index.chunks)
    per_doc = sum(c.doc_id == "doc000.txt" for c in service.index.chunks)
    changed = 0
    for i in range(DOCS):  # one document at a time: its vectors out and in
        (src / f"doc{i:03d}.txt").write_text(transcript(i).replace("marker", "beacon"), "utf-8")
        service.update()
        changed += 2 * per_doc
        if changed >= ann.REUSE_CELLS_BELOW * n:
            break
        assert trainings == [], i
    assert trainings[0] == n  # the chunk store, trained on all its vectors again (questions too)
    assert service.index.chunk_store.drift == 0


def test_a_half_written_file_is_cleaned_up_and_loading_works(
    service: QAService, trainings: list[int]
) -> None:
    folder = version_dir(service)
    tmp = folder / f"{ivf_file.TMP_PREFIX}deadbeef-chunks.ivf"
    tmp.write_bytes(b"QAIVF1\n" + b"\0" * 10)  # a writer killed mid-file
    (folder / "chunks.ivf").unlink()
    idx = IndexDir(service.settings.index_dir)
    assert idx.load().chunk_store.approximate and len(trainings) == 1
    assert tmp.name in idx.recover()
    assert not tmp.exists() and (folder / "chunks.ivf").is_file()


def test_an_unwritable_folder_only_means_no_file(
    service: QAService, trainings: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = version_dir(service)
    for p in folder.glob("*.ivf"):
        p.unlink()

    def fail(*_: object, **__: object) -> None:
        raise OSError("read-only file system")

    monkeypatch.setattr(ivf_file.os, "fsync", fail)
    data = IndexDir(service.settings.index_dir).load()
    assert data.chunk_store.approximate and trainings
    assert not list(folder.glob("*.ivf")) and not list(folder.glob(".tmp-*"))
