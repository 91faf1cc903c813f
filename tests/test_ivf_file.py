"""A large group's trained IVF index is kept in the group's folder and mapped: the next load reads
it instead of training and gives the same results; an update adds a small group and trains
nothing; a damaged, foreign or half-written file only means training again (fast: fake model, a
low `exact_below` as in test_ann_live)."""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

import numpy as np
import pytest
from fakes import HashEmbedder

from qa.models import Filters
from qa.service import QAService
from qa.settings import Settings
from qa.store import ann, ivf_file
from qa.store import groups as groups_mod
from qa.store.faiss_store import FaissStore
from qa.store.files import IndexDir, group_vectors

DOCS = 220  # × 3 answer turns: enough chunks to train 16+ IVF cells, in one group


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


def groups_of(service: QAService) -> list[Path]:
    root = service.settings.index_dir
    listed = json.loads((root / "versions" / service.index.version / "groups.json").read_text())
    return [root / "groups" / g for g in listed["groups"]]


def big_group(service: QAService) -> Path:
    (folder,) = [g for g in groups_of(service) if (g / "chunk.ivf").is_file()]
    return folder


def replace(path: Path, data: bytes) -> None:
    """New bytes under `path` as a new file: the index this process has mapped keeps the old
    ones (changing a mapped file in place would fault the process that maps it)."""
    tmp = path.with_name(path.name + ".new")
    tmp.write_bytes(data)
    tmp.replace(path)


def queries(service: QAService) -> np.ndarray:
    return service.embedder.embed([f"marker{i}x1" for i in range(0, DOCS, 7)])


def test_the_first_load_keeps_the_trained_index_and_the_next_maps_it(
    service: QAService, trainings: list[int]
) -> None:
    first = service.index  # loaded (and trained) by the fixture
    folder = big_group(service)
    assert (folder / "question.ivf").is_file() == first.question_store.approximate
    again = IndexDir(service.settings.index_dir).load()
    assert trainings == []  # mapped, not trained
    assert again.chunk_store.approximate and len(again.chunk_store) == len(first.chunk_store)
    q = queries(service)
    s1, i1 = first.chunk_store.search(q, 10)
    s2, i2 = again.chunk_store.search(q, 10)
    assert np.array_equal(i1, i2) and np.allclose(s1, s2)
    # Filtered search (an IDSelector over every cell) works on the mapped index.
    among = np.array([c.id for c in again.chunks if c.doc_id == "doc123.txt"])
    _, ids = again.chunk_store.search(q[:2], 10, among=among)
    assert set(ids[ids >= 0].tolist()) == set(among.tolist())
    fresh = QAService(service.settings, embedder=HashEmbedder())
    hits = fresh.search("marker17x1", k=10, filters=Filters.of(docs=["doc123.txt"]))
    assert hits and {h.doc_id for h in hits} == {"doc123.txt"}
    assert trainings == []


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty", "description"])
def test_a_damaged_file_means_training_again(
    service: QAService,
    trainings: list[int],
    damage: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = big_group(service) / "chunk.ivf"
    s1, i1 = service.index.chunk_store.search(queries(service), 10)
    if damage == "description":
        replace(path.with_name("chunk.ivf.json"), b"{not json")
    else:
        data = path.read_bytes()
        cut = {"truncate": data[: len(data) // 2], "garbage": b"not an index at all" * 100}
        replace(path, cut.get(damage, b""))
    with caplog.at_level(logging.WARNING, logger="qa"):
        again = IndexDir(service.settings.index_dir).load()
    assert len(trainings) == 1  # the chunk store only; the question store's file is intact
    assert any("chunk.ivf" in r.getMessage() for r in caplog.records)
    s2, i2 = again.chunk_store.search(queries(service), 10)
    assert np.array_equal(i1, i2) and np.allclose(s1, s2)
    # Trained again and kept: the load after that maps it.
    IndexDir(service.settings.index_dir).load()
    assert len(trainings) == 1


def test_a_flipped_byte_is_found_by_a_full_check(service: QAService) -> None:
    path = big_group(service) / "chunk.ivf"
    n = len(service.index.chunk_store)
    plan = ann.plan(n, 500)
    want = ivf_file.key("chunk", path.parent.name, n, service.index.manifest.dim, plan)
    assert ivf_file.read(path, want, full=True) is not None
    data = bytearray(path.read_bytes())
    data[len(data) - 1000] ^= 0xFF
    replace(path, bytes(data))
    assert ivf_file.read(path, want, full=True) is None


def test_a_file_made_for_other_vectors_is_not_used(
    service: QAService, trainings: list[int]
) -> None:
    folder = big_group(service)
    if not (folder / "question.ivf").is_file():
        pytest.skip("question store is flat here")
    # The question store's files under the chunk store's name: a valid index, the wrong one.
    (folder / "question.ivf").replace(folder / "chunk.ivf")
    (folder / "question.ivf.json").replace(folder / "chunk.ivf.json")
    again = IndexDir(service.settings.index_dir).load()
    assert len(trainings) == 2 and len(again.chunk_store) == len(again.chunks)


def test_an_update_adds_a_small_group_and_trains_nothing(
    service: QAService, trainings: list[int]
) -> None:
    src = service.settings.source_dir
    before = groups_of(service)
    (src / "new.txt").write_text(transcript(999), encoding="utf-8")
    service.update()
    after = groups_of(service)
    assert after[: len(before)] == before and len(after) == len(before) + 1
    assert trainings == []  # the big group's store is the one held; the new one is exact
    hits = service.search("marker999x1", k=10, filters=Filters.of(docs=["new.txt"]))
    assert hits and {h.doc_id for h in hits} == {"new.txt"}
    fresh = IndexDir(service.settings.index_dir).load()
    assert trainings == [] and "new.txt" in fresh.documents
    q = queries(service)
    s1, i1 = service.index.chunk_store.search(q, 10)
    s2, i2 = fresh.chunk_store.search(q, 10)
    assert np.array_equal(i1, i2) and np.allclose(s1, s2)


def test_a_half_written_file_is_cleaned_up_once_stale(
    service: QAService, trainings: list[int]
) -> None:
    folder = big_group(service)
    tmp = folder / f"{ivf_file.TMP_PREFIX}deadbeef-chunk.ivf"
    tmp.write_bytes(b"\0" * 10)  # a reader killed mid-file
    (folder / "chunk.ivf").unlink()
    idx = IndexDir(service.settings.index_dir)
    assert idx.load().chunk_store.approximate and len(trainings) == 1
    assert tmp.name not in idx.recover()  # young: perhaps another reader's, still being written
    old = time.time() - 3600
    os.utime(tmp, (old, old))
    assert tmp.name in idx.recover()
    assert not tmp.exists() and (folder / "chunk.ivf").is_file()


def test_an_unwritable_folder_only_means_no_file(
    service: QAService, trainings: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = big_group(service)
    for p in folder.glob("*.ivf*"):
        p.unlink()

    def fail(*_: object, **__: object) -> None:
        raise OSError("read-only file system")

    monkeypatch.setattr(ivf_file.os, "fsync", fail)
    data = IndexDir(service.settings.index_dir).load()
    assert data.chunk_store.approximate and trainings
    assert not list(folder.glob("*.ivf*")) and not list(folder.glob(".tmp-*"))


def test_a_large_group_keeps_its_vectors_only_in_its_ivf_file(service: QAService) -> None:
    """Not a second copy as .npy: retraining and merging read them from the segments."""
    folder = big_group(service)
    assert not (folder / "chunk.npy").exists()
    small = [g for g in groups_of(service) if g != folder]
    assert all((g / "chunk.npy").is_file() for g in small)
    root = service.settings.index_dir
    group = groups_mod.read(root, folder.name)
    assert group is not None and "chunk" not in group.arrays
    dim = service.index.manifest.dim
    parts = service.index.parts  # by segment
    want = np.concatenate([parts[s].chunk_vectors for s in group.segments])
    got = group_vectors(root, group, "chunk", dim)
    assert got.dtype == np.float16 and np.array_equal(got.astype(np.float32), want)


def test_a_new_group_merges_into_a_large_one(service: QAService, trainings: list[int]) -> None:
    src = service.settings.source_dir
    before = big_group(service)
    for i in range(DOCS, DOCS + DOCS // 3):  # a third of the big group: they merge
        (src / f"doc{i:03d}.txt").write_text(transcript(i), encoding="utf-8")
    service.update()
    merged = big_group(service)
    assert merged != before and len(groups_of(service)) == 1
    assert not (merged / "chunk.npy").exists() and trainings  # trained once, when written
    new = f"doc{DOCS + 5:03d}.txt"
    hits = service.search(f"marker{DOCS + 5}x1", k=10, filters=Filters.of(docs=[new]))
    assert hits and {h.doc_id for h in hits} == {new}
    # The merged IVF holds the right vector under each id: as an exact search over the segments.
    data = service.index
    vecs = np.vstack([p.chunk_vectors for p in data.parts.values()])
    exact = FaissStore.from_plan({"type": "flat"}, np.arange(len(vecs)), vecs)
    q = np.vstack([queries(service), vecs[-40:]])
    assert ann.recall_at_k(data.chunk_store.search(q, 10)[1], exact.search(q, 10)[1]) >= 0.9
    count = len(trainings)
    fresh = IndexDir(service.settings.index_dir).load()
    assert len(trainings) == count  # mapped
    q = queries(service)
    s1, i1 = service.index.chunk_store.search(q, 10)
    s2, i2 = fresh.chunk_store.search(q, 10)
    assert np.array_equal(i1, i2) and np.allclose(s1, s2)
