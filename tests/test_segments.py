"""Index format 3: per-document segments shared between versions, collected when unreferenced,
and the embedding cache pruned to what kept versions use (fast: fake model)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from fakes import HashEmbedder

from qa.errors import IndexIncompatible
from qa.service import QAService
from qa.settings import Settings
from qa.store import segment as seg
from qa.store.cache import EmbeddingCache
from qa.store.files import IndexDir

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
A, B = "000_c8b093dbc246d9b3.txt", "003_aef95c100974d035.txt"
NEW = "Interviewer:\nWhere do the bacteria live?\n\nDr. Rivera:\nInside salt crystals.\n"


@pytest.fixture
def service(tmp_path: Path) -> QAService:
    shutil.copytree(SEEDS, tmp_path / "src")
    return QAService(
        Settings(source_dir=tmp_path / "src", index_dir=tmp_path / "index", reload_interval=-1),
        embedder=HashEmbedder(),
    )


def manifest(service: QAService) -> dict[str, dict[str, str]]:
    return {d: m.segment for d, m in service.store.manifest().documents.items()}


def segment_files(service: QAService) -> set[str]:
    return {p.name for p in (service.settings.index_dir / "segments").glob("*.seg")}


def cache_size(service: QAService) -> int:
    cache = EmbeddingCache(service.settings.index_dir / "cache" / "embeddings.sqlite", "m", 64)
    try:
        return len(cache)
    finally:
        cache.close()


def test_an_update_writes_only_the_new_documents_segment(service: QAService) -> None:
    service.build()
    before = manifest(service)
    mtimes = {
        p.name: p.stat().st_mtime_ns for p in (service.settings.index_dir / "segments").iterdir()
    }
    (service.settings.source_dir / "new.txt").write_text(NEW, encoding="utf-8")
    service.update()
    after = manifest(service)
    # Unchanged documents name the very same files, untouched; one new file for the new document.
    assert {d: after[d] for d in before} == before
    assert segment_files(service) == set(before.values()) | {after["new.txt"]}
    for p in (service.settings.index_dir / "segments").iterdir():
        if p.name in mtimes:
            assert p.stat().st_mtime_ns == mtimes[p.name]
    # The version folder holds a manifest and the list of its groups, nothing else.
    version = service.store.current()
    folder = service.settings.index_dir / "versions" / str(version)
    assert sorted(p.name for p in folder.iterdir()) == ["groups.json", "manifest.json"]


def test_segment_roundtrip_is_exact(service: QAService) -> None:
    service.build()
    data = QAService(service.settings, embedder=HashEmbedder()).load()
    for name, part in data.parts.items():
        again_name, raw = seg.encode(part)
        assert again_name == name  # content-addressed: same content, same name
        back = seg.decode(raw)
        assert back.chunks == part.chunks and back.sentences == part.sentences
        assert back.tokens == part.tokens and back.question_chunks == part.question_chunks
        assert back.text_keys == part.text_keys and len(part.text_keys) > 0
        np.testing.assert_array_equal(back.context_vectors, part.context_vectors)


def test_unreferenced_segments_are_collected_after_the_switch(service: QAService) -> None:
    src = service.settings.source_dir
    service.build()
    first = manifest(service)
    (src / A).unlink()
    service.update()  # A's segment is still named by the previous (kept) version
    assert first[A] in segment_files(service)
    (src / "new.txt").write_text(NEW, encoding="utf-8")
    service.update()  # the version that named A is pruned: its segment goes too
    assert first[A] not in segment_files(service)
    assert segment_files(service) == set(manifest(service).values())
    # A crashed writer's stray segment (renamed, never named) goes with the next collection.
    stray = service.settings.index_dir / "segments" / "0123stray.seg"
    stray.write_bytes(b"x")
    (service.settings.index_dir / "segments" / ".tmp-dead-x.seg").write_bytes(b"half")
    result = service.prune()
    assert result.segments == 1 and result.leftovers == 1 and not stray.exists()
    assert not list((service.settings.index_dir / "segments").glob(".tmp-*"))


def test_reload_reads_only_new_segments(
    service: QAService, monkeypatch: pytest.MonkeyPatch
) -> None:
    service.build()
    reader = QAService(service.settings, embedder=HashEmbedder())
    held = reader.index
    (service.settings.source_dir / "new.txt").write_text(NEW, encoding="utf-8")
    service.update()
    read: list[str] = []
    original = IndexDir._segment_bytes

    def spy(self: IndexDir, name: str) -> bytes:
        read.append(name)
        return original(self, name)

    monkeypatch.setattr(IndexDir, "_segment_bytes", spy)
    fresh = reader.load()
    # None: the writer built the new version's groups (the new one's too); the reader maps them.
    assert read == []
    assert fresh.version != held.version and "new.txt" in fresh.documents
    # Same content as a cold load.
    cold = IndexDir(service.settings.index_dir).load()
    assert fresh.chunks == cold.chunks and fresh.sentence_texts == cold.sentence_texts
    np.testing.assert_array_equal(fresh.sentence_vectors, cold.sentence_vectors)


def test_a_missing_segment_is_a_storage_error(service: QAService) -> None:
    from qa.errors import StorageError

    service.build()
    victim = manifest(service)[A]
    (service.settings.index_dir / "segments" / victim).unlink()
    with pytest.raises(StorageError, match=victim):
        QAService(service.settings, embedder=HashEmbedder()).load()


def test_format_2_index_is_refused_and_rebuilt(service: QAService) -> None:
    report = service.build()
    path = service.settings.index_dir / "versions" / report.version / "manifest.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "format": 2}))
    with pytest.raises(IndexIncompatible, match="rebuild it with `qa index build`"):
        QAService(service.settings, embedder=HashEmbedder()).load()
    again = QAService(service.settings, embedder=HashEmbedder()).update()
    assert again.written and again.doc_ids.added == (A, B)


def test_cache_keeps_what_kept_versions_use(service: QAService) -> None:
    src = service.settings.source_dir
    service.build()
    full = cache_size(service)
    (src / A).unlink()
    service.update()
    (src / "new.txt").write_text(NEW, encoding="utf-8")
    service.update()
    # A is in no kept version now; the default ratio lets the cache keep it until pruned.
    assert cache_size(service) > full
    result = service.prune()
    assert result.embeddings > 0
    keep = service.store.text_keys()
    assert cache_size(service) == result.embeddings_kept == len(keep)
    # What is left is exactly enough: a rebuild of what is indexed embeds nothing.
    report = QAService(service.settings, embedder=HashEmbedder()).build()
    assert report.texts_embedded == 0


def test_updates_prune_the_cache_once_it_outgrows_the_index(service: QAService) -> None:
    strict = QAService(
        service.settings.model_copy(update={"cache_max_ratio": 0.0}), embedder=HashEmbedder()
    )
    src = service.settings.source_dir
    strict.build()
    (src / A).unlink()
    strict.update()
    (src / "new.txt").write_text(NEW, encoding="utf-8")
    strict.update()  # 0 × texts + 10,000 slack: the seeds' few thousand texts stay
    assert cache_size(strict) > len(strict.store.text_keys())
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("qa.update.CACHE_SLACK", 0)
        (src / "new.txt").write_text(NEW + "\nDr. Rivera:\nAnd under rocks.\n", encoding="utf-8")
        strict.update()
    keep = strict.store.text_keys()
    assert cache_size(strict) == len(keep)


def test_a_lost_segment_is_rebuilt_by_the_next_update(service: QAService) -> None:
    service.build()
    victim = manifest(service)[A]
    (service.settings.index_dir / "segments" / victim).unlink()
    report = QAService(service.settings, embedder=HashEmbedder()).update()
    # Nothing changed in the source, yet a version is written with A indexed again, from the cache.
    assert report.written and report.unchanged == 2 and report.texts_embedded == 0
    assert manifest(service)[A] == victim  # same content, same name
    assert A in QAService(service.settings, embedder=HashEmbedder()).load().documents
