"""Index formats 5 and 6 (float16 segment vectors, compressed segment headers) and derived sentence-context vectors (fast: fake model)."""

from __future__ import annotations

import json
import shutil
import zlib
from pathlib import Path

import numpy as np
import pytest
from fakes import HashEmbedder

from qa.service import QAService
from qa.settings import ChunkingSettings, Settings
from qa.store import ann
from qa.store import segment as seg
from qa.store.cache import EmbeddingCache
from qa.store.contexts import derive_contexts
from qa.store.faiss_store import FaissStore

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def _service(tmp_path: Path, contexts: str = "embedded") -> QAService:
    shutil.copytree(SEEDS, tmp_path / "src", dirs_exist_ok=True)
    settings = Settings(
        source_dir=tmp_path / "src",
        index_dir=tmp_path / f"index-{contexts}",
        reload_interval=-1,
        chunking=ChunkingSettings(contexts=contexts),  # type: ignore[arg-type]
    )
    return QAService(settings, embedder=HashEmbedder())


def _plain_header(data: bytes, drop: tuple[str, ...] = ()) -> bytes:
    """The bytes with the header as a format-5 writer made it: plain JSON, not compressed."""
    (n,) = seg._LEN.unpack_from(data, 0)
    header = json.loads(zlib.decompress(data[seg._LEN.size : seg._LEN.size + n]))
    for key in drop:
        del header[key]
    head = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode()
    return seg._LEN.pack(len(head)) + head + data[seg._LEN.size + n :]


def _float32_segment(part: seg.DocPart, monkeypatch: pytest.MonkeyPatch) -> bytes:
    """The bytes a format-4 writer made: float32 arrays, no `dtype` in the header."""
    monkeypatch.setattr(seg, "STORED_DTYPE", "f4")
    _, data = seg.encode(part)
    monkeypatch.undo()
    return _plain_header(data, drop=("dtype",))


def test_a_compressed_header_is_smaller_and_a_plain_one_still_reads(tmp_path: Path) -> None:
    service = _service(tmp_path)
    service.build()
    for part in service.load().parts.values():
        _, packed = seg.encode(part)
        plain = _plain_header(packed)
        assert len(packed) < len(plain)
        old, new = seg.decode(plain), seg.decode(packed)
        assert (old.chunks, old.sentences, old.tokens, old.sentence_texts, old.text) == (
            new.chunks,
            new.sentences,
            new.tokens,
            new.sentence_texts,
            new.text,
        )
        np.testing.assert_array_equal(old.sentence_vectors, new.sentence_vectors)
        assert seg.vector_blocks(plain)[0] - len(plain) == seg.vector_blocks(packed)[0] - len(
            packed
        )
        assert seg.keys_of(plain) == seg.keys_of(packed) == part.text_keys
    damaged = bytearray(packed)
    damaged[seg._LEN.size + 2] ^= 0xFF
    with pytest.raises(ValueError):
        seg.decode(bytes(damaged))


def test_float16_segments_are_half_and_a_float32_segment_still_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = _service(tmp_path)
    service.build()
    part = next(iter(service.load().parts.values()))
    _, f16 = seg.encode(part)
    f32 = _float32_segment(part, monkeypatch)
    vectors = sum(getattr(part, a).size for a in seg._ARRAYS)
    assert len(f32) - len(_plain_header(f16)) == vectors * 2 - len(',"dtype":"f2"')
    old, new = seg.decode(f32), seg.decode(f16)
    assert old.chunks == new.chunks and old.chunk_vectors.dtype == np.float32
    np.testing.assert_allclose(old.chunk_vectors, new.chunk_vectors, atol=1e-3)
    assert seg.keys_of(f32) == seg.keys_of(f16) == part.text_keys


def test_float16_search_finds_the_float32_top_results() -> None:
    rng = np.random.default_rng(0)
    centres = ann.clustered_sample(rng.standard_normal((50, 384), dtype=np.float32), 50, 0, rng)
    vectors = ann.clustered_sample(centres, 5_000, 0.06, rng)
    queries = ann.clustered_sample(centres, 50, 0.06, rng)
    ids = np.arange(len(vectors))
    plan = ann.plan(len(vectors))
    exact = FaissStore.from_plan(plan, ids, vectors)
    halved = FaissStore.from_plan(plan, ids, vectors.astype(np.float16).astype(np.float32))
    _, want = exact.search(queries, 10)
    _, got = halved.search(queries, 10)
    assert ann.recall_at_k(got, want) >= 0.99
    assert (got[:, 0] == want[:, 0]).mean() >= 0.98


def test_derived_contexts_are_not_embedded_nor_stored(tmp_path: Path) -> None:
    embedded, derived = _service(tmp_path), _service(tmp_path, "derived")
    full, less = embedded.build(), derived.build()
    assert less.texts_embedded < full.texts_embedded
    assert less.chunks == full.chunks
    data = derived.load()
    for name, part in data.parts.items():
        assert part.derived_contexts
        raw = (derived.settings.index_dir / "segments" / name).read_bytes()
        again = derive_contexts(
            part.chunks,
            part.sentences,
            part.sentence_texts,
            part.sentence_vectors,
            part.question_chunks,
            part.question_vectors,
        )
        np.testing.assert_allclose(seg.decode(raw).context_vectors, again, atol=1e-6)
        norms = np.linalg.norm(again, axis=1)
        np.testing.assert_allclose(norms, 1.0, atol=1e-5)
    # Switching the setting makes the index stale: the next update rebuilds it.
    switched = embedded.settings.model_copy(update={"chunking": derived.settings.chunking})
    assert "settings" in QAService(switched, embedder=HashEmbedder()).pending_changes()


def test_journal_cache_keeps_no_second_copy_and_updates_reuse_the_segments(
    tmp_path: Path,
) -> None:
    service = _service(tmp_path)
    service = QAService(
        service.settings.model_copy(update={"cache_mode": "journal"}), embedder=HashEmbedder()
    )
    first = service.build()
    cache = service.settings.index_dir / "cache" / "embeddings.sqlite"
    assert first.texts_embedded > 0
    journal = EmbeddingCache(cache, "m", 64)
    assert len(journal) == 0  # the segments hold every vector
    journal.close()
    # One new turn in a changed document: only its texts go through the model; the rest comes
    # from the document's previous segment.
    doc = service.settings.source_dir / "003_aef95c100974d035.txt"
    doc.write_text(
        doc.read_text(encoding="utf-8") + "\n\nInterviewer:\nAnd the salt flats?\n",
        encoding="utf-8",
    )
    again = service.update()
    assert again.changed == 1 and 0 < again.texts_embedded <= 3
    rebuilt = QAService(service.settings, embedder=HashEmbedder()).build()
    assert rebuilt.texts_embedded == 0
