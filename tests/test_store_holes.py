"""Groups with holes (qa.store.groups): changing or deleting a document inside a large group keeps
the group; the version leaves the removed document's rows out, and everything a query reads is as
if they were never there: ids, vector search (exact and IVF), BM25, filters, outlines, records.
Past HOLE_SHARE the group's other documents are built again; a merge drops the holes (fast: fake
model; a low `exact_below` makes the large group IVF, as in test_ivf_file)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import pytest
from fakes import HashEmbedder

from qa.errors import InvalidInput
from qa.models import Filters
from qa.service import QAService
from qa.settings import Settings
from qa.store import ann
from qa.store import groups as groups_mod
from qa.store.faiss_store import FaissStore
from qa.store.files import IndexDir

# Queries whose hits have no equal scores near the cut (several groups and one break ties apart).
TIELESS = ("marker20x1 unique", "marker10x2 word", "salt renewed reply")
QUERIES = ("marker20x1 unique", "topic10x0", "marker10x2 word", "what about topic55x1", "Zed Quinn")


GUESTS = ("Ann Rivers", "Bob Stone", "Cy Vale")


def transcript(i: int, turns: int = 3) -> str:
    guest = "Zed Quinn" if i == 20 else GUESTS[i % 3]  # doc020's guest is in no other document
    return "".join(
        f"Host:\nWhat about topic{i}x{t}?\n\n{guest}:\nThe word marker{i}x{t} is unique "
        "to here.\n\n"
        for t in range(turns)
    )


def make(tmp_path: Path, name: str, docs: int, **settings: Any) -> QAService:
    src = tmp_path / "src"
    if not src.is_dir():
        src.mkdir()
        for i in range(docs):
            (src / f"doc{i:03d}.txt").write_text(transcript(i), encoding="utf-8")
    svc = QAService(
        Settings(source_dir=src, index_dir=tmp_path / name, reload_interval=-1, **settings),
        embedder=HashEmbedder(),
    )
    svc.build()
    assert svc.index
    return svc


def listed(service: QAService) -> list[str]:
    folder = service.settings.index_dir / "versions" / service.index.version
    return list(json.loads((folder / "groups.json").read_text())["groups"])


def group_docs(service: QAService, gid: str) -> list[str]:
    meta = json.loads((service.settings.index_dir / "groups" / gid / "meta.json").read_text())
    return [str(s[4]) for s in meta["segments"]]


def largest(service: QAService) -> str:
    return max(listed(service), key=lambda g: len(group_docs(service, g)))


def edit(service: QAService) -> None:
    """doc010 changed (its first turn is new), doc020 deleted."""
    src = service.settings.source_dir
    (src / "doc010.txt").write_text(
        "Host:\nWhat replaced the old answer?\n\nDee Moss:\nA renewed reply about salt.\n\n"
        + transcript(10)[transcript(10).index("Host:", 5) :],
        encoding="utf-8",
    )
    (src / "doc020.txt").unlink()


def fresh(service: QAService, tmp_path: Path, **settings: Any) -> QAService:
    """A new index over the same folder, built from nothing."""
    return make(tmp_path, "fresh", 0, **settings)


def assert_same_version(got: QAService, want: QAService, *, exact: bool) -> None:
    a, b = got.index, want.index
    assert list(a.chunks) == list(b.chunks)
    assert list(a.sentences) == list(b.sentences)
    assert list(a.sentence_texts) == list(b.sentence_texts)
    assert list(a.question_chunks) == list(b.question_chunks)
    assert len(a.chunk_store) == len(b.chunk_store) == len(a.chunks)
    assert len(a.question_store) == len(b.question_store)
    assert a.outlines() == b.outlines() and set(a.documents) == set(b.documents)
    assert a.speaker_names == b.speaker_names
    for f in (
        Filters.of(speakers=["Cy Vale"]),
        Filters.of(docs=["doc010.txt", "doc020.txt", "doc021.txt"]),
        Filters.of(speakers=["Dee Moss"]),
        Filters.of(speakers=["Zed Quinn"]),
    ):
        np.testing.assert_array_equal(a.admitted(f), b.admitted(f))
        mask = a.admitted(f)
        np.testing.assert_array_equal(a.admitted_questions(mask), b.admitted_questions(mask))
    for q in (*QUERIES, "salt renewed reply", "marker20x0"):
        np.testing.assert_array_equal(a.sparse.scores(q), b.sparse.scores(q))
        if exact:
            vec = HashEmbedder().embed([q])
            for store in ("chunk_store", "question_store"):
                s1, i1 = getattr(a, store).search(vec, 10)
                s2, i2 = getattr(b, store).search(vec, 10)
                np.testing.assert_allclose(s1, s2, rtol=1e-6)
                lone = [
                    j for j in range(s2.shape[1]) if (np.abs(s2[0] - s2[0, j]) < 1e-6).sum() == 1
                ]
                assert i1[0, lone].tolist() == i2[0, lone].tolist()  # equal scores: either order
        if exact and q in TIELESS:
            hits = [(h.doc_id, h.start, h.end, h.text) for h in got.search(q, k=8)]
            assert hits == [(h.doc_id, h.start, h.end, h.text) for h in want.search(q, k=8)]
            f = Filters.of(speakers=["Cy Vale"])
            assert [(h.doc_id, h.start) for h in got.search(q, k=5, filters=f)] == [
                (h.doc_id, h.start) for h in want.search(q, k=5, filters=f)
            ]


def assert_removed_text_never_found(service: QAService) -> None:
    src = service.settings.source_dir
    for q in (*QUERIES, "marker20x0 marker20x2", "marker10x0 topic10x0"):
        for f in (Filters(), Filters.of(speakers=["Cy Vale"])):
            for h in service.search(q, k=10, filters=f):
                assert h.doc_id != "doc020.txt"
                assert (src / h.doc_id).read_text("utf-8")[h.start : h.end] == h.text
        with pytest.raises(InvalidInput, match=r"no indexed document 'doc020\.txt'"):
            service.search(q, k=10, filters=Filters.of(docs=["doc020.txt"]))
        answer = service.ask(q)
        for quote in (*answer.quotes, *answer.related):
            assert quote.doc_id != "doc020.txt"
            text = (src / quote.doc_id).read_text("utf-8")
            assert text[quote.start : quote.end] == quote.text
    assert "marker10x0" not in " ".join(c.text for c in service.index.chunks_of("doc010.txt"))
    assert service.index.chunks_of("doc020.txt") == []
    names = service.index.speaker_names
    assert "Cy Vale" in names and "Dee Moss" in names and "Zed Quinn" not in names


def test_exact_group_keeps_its_folder_after_a_change_and_a_delete(tmp_path: Path) -> None:
    svc = make(tmp_path, "index", 40)
    (big,) = listed(svc)
    edit(svc)
    svc.update()
    assert big in listed(svc) and not svc.index.chunk_store.approximate
    assert "doc020.txt" not in svc.index.outlines()
    assert_removed_text_never_found(svc)
    assert_same_version(svc, fresh(svc, tmp_path), exact=True)
    # Another process maps the same version: the same holes.
    again = QAService(svc.settings, embedder=HashEmbedder())
    assert listed(again) == listed(svc)
    assert_same_version(again, fresh(svc, tmp_path), exact=True)


def test_ivf_group_is_not_rebuilt_and_never_returns_removed_rows(
    tmp_path: Path, trainings: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    svc = make(tmp_path, "index", 220, exact_below=500)
    big = largest(svc)
    assert svc.index.chunk_store.approximate and "doc020.txt" in group_docs(svc, big)
    trainings.clear()
    built: list[int] = []
    real_build = groups_mod.build
    monkeypatch.setattr(
        groups_mod, "build", lambda parts, *a: built.append(len(parts)) or real_build(parts, *a)
    )
    edit(svc)
    svc.update()
    assert big in listed(svc)  # the group and its trained IVF file are used as they are
    assert trainings == [] and built == [1]  # only the changed document's group was built
    assert_removed_text_never_found(svc)
    assert_same_version(svc, fresh(svc, tmp_path, exact_below=500), exact=False)
    # The removed rows are skipped inside the cells searched: the top k is the top k of the
    # rows in the version among what a plain search of those cells finds.
    index = svc.index
    layout_holes = [s for s in index.chunk_store.stores if len(s) > 500]  # type: ignore[attr-defined]
    (store,) = layout_holes
    ivf = faiss.extract_index_ivf(store.index)
    holes_rows = np.flatnonzero(
        np.repeat(
            [d in ("doc010.txt", "doc020.txt") for d in group_docs(svc, big)],
            json_counts(svc, big),
        )
    )
    assert len(holes_rows) == 2 * json_counts(svc, big)[0]  # two documents
    queries = HashEmbedder().embed(["marker20x1 unique to here", "topic10x0", "marker21x1"])
    plain_s, plain = store.search(queries, 10 + len(holes_rows))
    got_s, got = store.search(queries, 10, exclude=holes_rows)
    assert ivf.nprobe < ivf.nlist  # the index's own nprobe, not a scan of every cell
    removed = set(holes_rows.tolist())
    for ps, p, gs, g in zip(plain_s, plain, got_s, got, strict=True):
        left = [(s, i) for s, i in zip(ps, p, strict=True) if i not in removed and i >= 0]
        want = left[:10]
        # the same scores (ids of equal scores may come in either order)
        np.testing.assert_allclose(gs[: len(want)], [s for s, _ in want], rtol=1e-6)
        lone = [j for j, (s, _) in enumerate(want) if sum(abs(s - t) < 1e-6 for t, _ in left) == 1]
        assert [g[j] for j in lone] == [want[j][1] for j in lone]
    assert set(got.ravel().tolist()).isdisjoint(removed)
    assert got[0].tolist() != plain[0, :10].tolist()  # the removed rows were in the plain top 10


def json_counts(service: QAService, gid: str) -> list[int]:
    meta = json.loads((service.settings.index_dir / "groups" / gid / "meta.json").read_text())
    return [int(s[1]) for s in meta["segments"]]


@pytest.mark.parametrize("exact_below", [50_000, 100])
def test_past_the_share_the_group_is_compacted_from_its_arrays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exact_below: int
) -> None:
    monkeypatch.setenv("QA_INDEXING__HOLE_SHARE", "0.02")  # one document of 40 is 2.5%
    svc = make(tmp_path, "index", 40, exact_below=exact_below)
    (big,) = listed(svc)
    before = svc.index.documents["doc010.txt"].segment
    edit(svc)
    decoded: list[str] = []
    real = IndexDir._decode
    monkeypatch.setattr(
        IndexDir, "_decode", lambda self, name, data: decoded.append(name) or real(self, name, data)
    )
    svc.update()
    assert big not in listed(svc)
    # Only the changed document's segments are decoded (the old one for the vectors of its
    # unchanged texts, the new one for its own group): the 38 others are merged from arrays.
    assert set(decoded) <= {before, svc.index.documents["doc010.txt"].segment}
    assert all("doc020.txt" not in group_docs(svc, g) for g in listed(svc))
    assert_same_version(svc, fresh(svc, tmp_path), exact=True)


def test_holes_accumulate_then_a_merge_drops_them(tmp_path: Path) -> None:
    """Deletions inside the IVF group until its segments are collected; a fresh process still
    loads it (even training its IVF file again, from the segments left); adding enough
    documents merges the group, and the merged group holds no removed document."""
    svc = make(tmp_path, "index", 220, exact_below=500)
    big = largest(svc)
    src = svc.settings.source_dir
    for i in (20, 30, 40):  # one per update: the first one's segment is then collected
        (src / f"doc{i:03d}.txt").unlink()
        svc.update()
    assert big in listed(svc)
    segments = svc.settings.index_dir / "segments"
    assert len(list(segments.glob("*.seg"))) < 220  # removed documents' segments are gone
    (svc.settings.index_dir / "groups" / big / "chunk.ivf").unlink()
    again = QAService(svc.settings, embedder=HashEmbedder())
    assert again.index.chunk_store.approximate
    assert_removed_text_never_found_for(again, ["doc020.txt", "doc030.txt", "doc040.txt"])
    for i in range(300, 360):  # a group at least a quarter of the big one's: merged with it
        (src / f"doc{i:03d}.txt").write_text(transcript(i), encoding="utf-8")
    svc.update()
    assert big not in listed(svc)
    merged = largest(svc)
    docs = group_docs(svc, merged)
    assert "doc359.txt" in docs and "doc021.txt" in docs
    assert {"doc020.txt", "doc030.txt", "doc040.txt"}.isdisjoint(docs)
    assert_same_version(svc, fresh(svc, tmp_path, exact_below=500), exact=False)
    assert IndexDir(svc.settings.index_dir).load().chunks == svc.index.chunks


def assert_removed_text_never_found_for(service: QAService, docs: list[str]) -> None:
    for i in (20, 30, 40):
        for h in service.search(f"marker{i}x1 unique", k=10):
            assert h.doc_id not in docs
    assert set(docs).isdisjoint(service.index.outlines())


def test_a_filter_search_over_a_group_with_holes(tmp_path: Path) -> None:
    """A filter's ids name rows in the version only; a store asked with both a filter and
    excluded rows admits neither the filter's others nor the excluded ones."""
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((200, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    store = FaissStore.from_plan(ann.plan(200), np.arange(200), vectors)
    _, ids = store.search(vectors[:3], 5, among=np.arange(0, 50), exclude=np.arange(0, 10))
    assert ids.size and ((ids >= 10) & (ids < 50)).all()
    _, ids = store.search(vectors[:3], 5, exclude=np.arange(0, 3))
    assert not np.isin(ids, [0, 1, 2]).any()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_changes_deletes_and_adds_equal_a_fresh_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    """Updates of a few random changes, deletions and additions, with holes kept, passing the
    share, and merges dropping them: after each, the version equals one built from nothing."""
    import random

    monkeypatch.setenv("QA_INDEXING__HOLE_SHARE", "0.15")
    rng = random.Random(seed)
    svc = make(tmp_path, "index", 30)
    src = svc.settings.source_dir
    names = iter(range(100, 1000))
    for step in range(6):
        present = sorted(p.name for p in src.glob("*.txt"))
        for name in rng.sample(present, rng.randint(1, 3)):
            if rng.random() < 0.5:
                (src / name).unlink()
            else:
                (src / name).write_text(
                    f"Host:\nWhat changed at step {step}?\n\nEve Lark:\nThe step{step} "
                    f"edit of {name}.\n\n",
                    encoding="utf-8",
                )
        for _ in range(rng.choice([0, 1, 1, 12])):
            i = next(names)
            (src / f"doc{i:03d}.txt").write_text(transcript(i), encoding="utf-8")
        svc.update()
        want = make(tmp_path, f"fresh{step}", 0)
        assert_same_version(svc, want, exact=False)
        for h in svc.search("step edit what changed", k=10):
            assert (src / h.doc_id).read_text("utf-8")[h.start : h.end] == h.text


def test_a_document_restored_unchanged_is_searched_again(tmp_path: Path) -> None:
    # Restored byte for byte, a document gets its old segment back, and with it its rows in the
    # group that held it as a hole. A store trained while they were a hole held them as zeros:
    # it must not stand in once they are back (in the process, or as the kept IVF file).
    svc = make(tmp_path, "index", 220, exact_below=500)
    big = largest(svc)
    src = svc.settings.source_dir
    text = (src / "doc020.txt").read_text(encoding="utf-8")
    seg = svc.index.documents["doc020.txt"].segment
    for doc in ("doc020.txt", "doc030.txt", "doc040.txt"):  # the last updates collect its segment
        (src / doc).unlink()
        svc.update()
    assert not (svc.settings.index_dir / "segments" / seg).exists() and big in listed(svc)
    groups = svc.settings.index_dir / "groups" / big
    for kind in groups_mod.VECTORS:  # lost, or made by another faiss: trained again, doc020 zeros
        (groups / f"{kind}.ivf").unlink(missing_ok=True)
    again = QAService(svc.settings, embedder=HashEmbedder())
    assert again.index.chunk_store.approximate
    (src / "doc020.txt").write_text(text, encoding="utf-8")
    again.update()
    assert big in listed(again) and "doc020.txt" in group_docs(again, big)
    assert again.index.documents["doc020.txt"].segment == seg
    vectors = np.asarray(IndexDir(again.settings.index_dir).read_segment(seg).chunk_vectors)
    for service in (again, QAService(again.settings, embedder=HashEmbedder())):
        index = service.index
        # The fake model's vectors are near ties (cosine 0.999): each chunk in its top ten.
        _, ids = index.chunk_store.search(vectors.astype(np.float32), 10)
        assert all("doc020.txt" in {index.chunks[int(i)].doc_id for i in row} for row in ids)
