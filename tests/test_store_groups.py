"""qa.store.groups in live indexes: a version is mapped from groups; a reload after adding one
interview reads that interview alone; groups merge so there stay few of them; a damaged or
missing group is built again from the segments, with the same answers (fast: fake model)."""

from __future__ import annotations

import itertools
import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
from fakes import HashEmbedder

from qa.models import Chunk, DocOutline, Filters
from qa.service import QAService
from qa.settings import Settings, load_settings
from qa.store.files import IndexDir
from qa.store.groups import MERGE_RATIO


def transcript(i: int) -> str:
    return (
        f"Host:\nWhat happened in year {1900 + i}?\n\n"
        f"Guest {i % 3}:\nThe marker{i} harvest was early. Rain came in week {i}.\n\n"
    )


@pytest.fixture
def service(tmp_path: Path) -> QAService:
    src = tmp_path / "src"
    src.mkdir()
    for i in range(12):
        (src / f"doc{i:03d}.txt").write_text(transcript(i), encoding="utf-8")
    svc = QAService(
        Settings(source_dir=src, index_dir=tmp_path / "index", reload_interval=-1),
        embedder=HashEmbedder(),
    )
    svc.build()
    assert svc.index  # loaded: the groups exist
    return svc


def listed(service: QAService) -> list[str]:
    folder = service.settings.index_dir / "versions" / service.index.version
    return list(json.loads((folder / "groups.json").read_text())["groups"])


def answers(service: QAService) -> list[object]:
    out: list[object] = []
    for q in ("marker3 harvest", "rain in week 7", "year 1905"):
        out.append([(h.doc_id, h.start, h.end) for h in service.search(q, k=5)])
        # `Host` (every document's one recurring label; a `Guest n` says one turn, so it is
        # no speaker, and a filter naming it is refused)
        hits = service.search(q, k=5, filters=Filters.of(speakers=["Host"]))
        out.append([(h.doc_id, h.speaker) for h in hits])
    return out


def test_a_reload_after_one_new_interview_reads_only_it(
    service: QAService, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = listed(service)
    read: list[str] = []
    real = IndexDir.read_segment

    def counting(self: IndexDir, name: str) -> object:
        read.append(name)
        return real(self, name)

    monkeypatch.setattr(IndexDir, "read_segment", counting)
    src = service.settings.source_dir
    (src / "doc100.txt").write_text(transcript(100), encoding="utf-8")
    service.update()
    assert read == []  # the new segment came from the update itself, the rest is mapped
    assert listed(service)[: len(before)] == before
    fresh = IndexDir(service.settings.index_dir).load()  # another process: maps all of it
    assert read == [] and "doc100.txt" in fresh.documents
    assert [h.doc_id for h in service.search("marker100", k=1)] == ["doc100.txt"]


def test_groups_merge_so_there_stay_few(service: QAService, tmp_path: Path) -> None:
    src = service.settings.source_dir
    for i in range(12, 60):  # one interview per update
        (src / f"doc{i:03d}.txt").write_text(transcript(i), encoding="utf-8")
        service.update()
        sizes = [
            len(
                json.loads((service.settings.index_dir / "groups" / g / "meta.json").read_text())[
                    "segments"
                ]
            )
            for g in listed(service)
        ]
        # Each group is more than MERGE_RATIO times the next: log-many of them.
        assert all(a > MERGE_RATIO * b for a, b in itertools.pairwise(sizes)), sizes
    assert len(listed(service)) <= 4
    fresh = QAService(
        Settings(source_dir=src, index_dir=tmp_path / "fresh", reload_interval=-1),
        embedder=HashEmbedder(),
    )
    fresh.build()
    assert list(service.index.chunks) == list(fresh.index.chunks)
    assert answers(service) == answers(fresh)


@pytest.mark.parametrize("damage", ["small file", "meta", "missing"])
def test_a_damaged_group_is_built_again(service: QAService, damage: str) -> None:
    want = answers(service)
    root = service.settings.index_dir / "groups"
    (gid,) = listed(service)
    folder = root / gid
    if damage == "small file":
        np.save(folder / "post_tf.npy.new.npy", np.ones(3, np.float32))
        os.replace(folder / "post_tf.npy.new.npy", folder / "post_tf.npy")
    elif damage == "meta":
        (folder / "meta.json").write_text("{")
    else:
        os.rename(folder, root / "elsewhere")
    again = QAService(service.settings, embedder=HashEmbedder())
    assert answers(again) == want
    assert (root / gid / "meta.json").is_file()


@pytest.mark.parametrize(("share", "kept"), [(None, True), (0.0, False), (0.5, True)])
def test_how_many_holes_a_group_keeps_is_a_setting(
    service: QAService, monkeypatch: pytest.MonkeyPatch, share: float | None, kept: bool
) -> None:
    """One document of twelve deleted: a hole under the default share (and 0.5), a compaction
    under QA_INDEXING__HOLE_SHARE=0."""
    if share is not None:
        monkeypatch.setenv("QA_INDEXING__HOLE_SHARE", str(share))
    settings = service.settings.model_copy(update={"indexing": load_settings().indexing})
    assert settings.indexing.hole_share == (0.1 if share is None else share)
    again = QAService(settings, embedder=HashEmbedder())
    (old,) = listed(again)
    (settings.source_dir / "doc000.txt").unlink()
    again.update()
    assert (old in listed(again)) is kept
    assert "doc000.txt" not in again.index.documents


def test_a_reader_with_another_hole_share_does_not_compact_the_writers_version(
    service: QAService, monkeypatch: pytest.MonkeyPatch
) -> None:
    (group,) = listed(service)
    (service.settings.source_dir / "doc000.txt").unlink()
    service.update()  # the writer, at the default share: doc000's rows are a hole
    version = service.settings.index_dir / "versions" / service.index.version / "groups.json"
    before = version.read_bytes()
    monkeypatch.setenv("QA_INDEXING__HOLE_SHARE", "0")
    settings = service.settings.model_copy(update={"indexing": load_settings().indexing})
    reader = IndexDir(settings.index_dir, hole_share=settings.indexing.hole_share).load()
    assert "doc000.txt" not in reader.documents
    assert version.read_bytes() == before and listed(service) == [group]


def test_unused_groups_are_collected(service: QAService, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_INDEXING__HOLE_SHARE", "0")  # no holes: a deletion rebuilds
    service = QAService(
        service.settings.model_copy(update={"indexing": load_settings().indexing}),
        embedder=HashEmbedder(),
    )
    (old,) = listed(service)
    src = service.settings.source_dir
    (src / "doc000.txt").unlink()  # the only group no longer covers the version: rebuilt
    service.update()
    assert old not in listed(service)
    root = service.settings.index_dir / "groups"
    ago = time.time() - 3600
    os.utime(root / old, (ago, ago))
    (src / "doc001.txt").unlink()
    service.update()  # two versions kept: the first one, which named `old`, is pruned now
    versions = service.settings.index_dir / "versions"
    used = {
        g for v in versions.iterdir() for g in json.loads((v / "groups.json").read_text())["groups"]
    }
    assert old not in used and not (root / old).exists()


def test_outlines_come_from_the_groups_and_match_the_chunks(service: QAService) -> None:
    index = service.index
    by_doc: dict[str, list[Chunk]] = {}
    for c in index.chunks:
        by_doc.setdefault(c.doc_id, []).append(c)
    want = {d: DocOutline.of(d, cs) for d, cs in by_doc.items()}
    assert index.outlines() == want and len(want) == 12
    assert want["doc004.txt"].speakers[0] == "Host" and want["doc004.txt"].turns >= 1
    assert index.chunks_of("doc004.txt") == by_doc["doc004.txt"]
    assert index.chunks_of("missing.txt") == []
    # A backend whose chunks are a plain list walks out from a chunk of the document.
    import dataclasses

    plain = dataclasses.replace(index, chunks=list(index.chunks), columns=None)
    for doc, chunks in by_doc.items():
        for near in (chunks[0].id, chunks[-1].id, chunks[len(chunks) // 2].id):
            assert plain.chunks_of(doc, near=near) == chunks
        assert plain.chunks_of(doc, near=0 if chunks[0].id else len(index.chunks) - 1) == chunks


def test_unlabelled_chunks_from_the_facets_equal_the_records(tmp_path: Path) -> None:
    """Editorial text (before the first speaker label) of a chunk's document: the files backend
    reads it from the facet columns, the same ids as walking the document's records."""
    import dataclasses

    src = tmp_path / "src"
    src.mkdir()
    for i in range(4):
        intro = f"Briefing number {i} at the harbour office.\n\n" if i % 2 == 0 else ""
        (src / f"doc{i}.txt").write_text(intro + transcript(i), encoding="utf-8")
    svc = QAService(
        Settings(source_dir=src, index_dir=tmp_path / "index", reload_interval=-1),
        embedder=HashEmbedder(),
    )
    svc.build()
    index = svc.index
    walked = dataclasses.replace(index, columns=None)  # the generic path: records only
    assert index.columns is not None
    found = [index.unlabelled_chunks(c) for c in range(len(index.chunks))]
    assert found == [walked.unlabelled_chunks(c) for c in range(len(index.chunks))]
    assert any(found) and not all(found)
    assert all(index.chunks[c].speaker is None for ids in found for c in ids)
