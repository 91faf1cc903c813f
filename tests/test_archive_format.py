"""Index formats 5 and 6 (float16 segment vectors, compressed segment headers) and derived or pair-made sentence-context vectors (fast: fake model)."""

from __future__ import annotations

import json
import shutil
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from fakes import HashEmbedder

from qa.models import Chunk, Sentence
from qa.service import QAService
from qa.settings import ChunkingSettings, Settings
from qa.store import ann
from qa.store import segment as seg
from qa.store.cache import EmbeddingCache
from qa.store.contexts import derive_contexts, sentence_pairs
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


class _Counting(HashEmbedder):
    """Counts the characters it is given to embed: the work, near enough."""

    def __init__(self) -> None:
        super().__init__()
        self.chars = 0

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        self.chars += sum(len(t) for t in texts)
        return super().embed_batch(texts)


def _turn(
    cid: int, turn: int, question: str | None, n: int, at: int
) -> tuple[Chunk, list[Sentence]]:
    chunk = Chunk(cid, "d", "S", at, at + 10 * n, cid, cid, "x" * 10 * n, turn, question)
    return chunk, [Sentence(at + 10 * k, at + 10 * k + 9, cid, cid, cid) for k in range(n)]


def test_sentence_pairs_hold_each_sentence_with_its_neighbours_in_the_turn() -> None:
    # An interviewer turn of two sentences, an answer of three to a question, an answer of one
    # sentence to no question.
    parts = [_turn(0, 0, None, 2, 0), _turn(1, 1, "Q" * 400, 3, 20), _turn(2, 2, None, 1, 50)]
    chunks = [c for c, _ in parts]
    sentences = [s for _, ss in parts for s in ss]
    texts = [f"s{i}" for i in range(len(sentences))]
    pairs, members = sentence_pairs(chunks, sentences, texts)
    assert pairs == ["s0 s1", "Q" * 300 + " s2", "s2 s3", "s3 s4"]
    assert members == [(0,), (0,), (1, 2), (2, 3), (3,), ()]


def test_pair_contexts_embed_pairs_and_keep_the_one_pair_contexts_exact(tmp_path: Path) -> None:
    embedded, pairs = _service(tmp_path), _service(tmp_path, "pairs")
    read: dict[str, int] = {}
    for name, service in (("embedded", embedded), ("pairs", pairs)):
        counting = _Counting()
        QAService(service.settings, embedder=counting).build()
        read[name] = counting.chars
    # About as many texts, but a pair is two sentences where a context is three.
    assert read["pairs"] < 0.85 * read["embedded"]
    triples = {p.doc_id: p for p in embedded.load().parts.values()}
    two = []
    for name, part in pairs.load().parts.items():
        assert part.pair_contexts and not part.derived_contexts
        raw = (pairs.settings.index_dir / "segments" / name).read_bytes()
        np.testing.assert_array_equal(seg.decode(raw).context_vectors, part.context_vectors)
        np.testing.assert_allclose(np.linalg.norm(part.context_vectors, axis=1), 1.0, atol=1e-3)
        _, members = sentence_pairs(part.chunks, part.sentences, part.sentence_texts)
        want = triples[part.doc_id].context_vectors
        cos = (part.context_vectors * want).sum(axis=1)
        # A sentence held by one pair (a turn's edge) is read with the same text as its
        # embedded context; one held by two gets the pairs' combination, close to it.
        one = np.array([len(m) < 2 for m in members])
        np.testing.assert_allclose(cos[one], 1.0, atol=2e-3)
        two.extend(cos[~one].tolist())
    assert two and float(np.mean(two)) > 0.9
    # Switching the setting makes the index stale: the next update rebuilds it.
    switched = embedded.settings.model_copy(update={"chunking": pairs.settings.chunking})
    assert "settings" in QAService(switched, embedder=HashEmbedder()).pending_changes()


def _same_contexts(service: QAService, tmp_path: Path, name: str) -> None:
    """`service`'s context vectors equal those of a fresh build of its source and settings."""
    fresh = QAService(
        service.settings.model_copy(update={"index_dir": tmp_path / name}),
        embedder=HashEmbedder(),
    )
    fresh.build()
    got = {p.doc_id: p for p in service.load().parts.values()}
    for part in fresh.load().parts.values():
        want = part.context_vectors
        np.testing.assert_allclose(got[part.doc_id].context_vectors, want, atol=1e-6)


def test_updates_over_pair_contexts_equal_fresh_builds(tmp_path: Path) -> None:
    # A segment stores the combined contexts, not the pairs' vectors: neither an update nor a
    # rebuild with embedded contexts may take them for the vectors of any text (here with no
    # cache to fall back on).
    service = _service(tmp_path, "pairs")
    journal = service.settings.model_copy(update={"cache_mode": "journal"})
    service = QAService(journal, embedder=HashEmbedder())
    service.build()
    doc = service.settings.source_dir / "003_aef95c100974d035.txt"
    doc.write_text(
        doc.read_text(encoding="utf-8") + "\n\nInterviewer:\nAnd the salt flats?\n",
        encoding="utf-8",
    )
    assert service.update().changed == 1
    _same_contexts(service, tmp_path, "fresh-pairs")
    embedded = journal.model_copy(update={"chunking": ChunkingSettings()})
    switched = QAService(embedded, embedder=HashEmbedder())
    switched.update()
    _same_contexts(switched, tmp_path, "fresh-embedded")


def test_segments_that_lost_their_contexts_flag_are_not_reused_as_embedded_contexts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`qa db export` writes segments without the flag that says their contexts are combined
    pairs; the version's manifest still says so, and that is enough to keep them out."""
    import dataclasses

    from qa.store.files import IndexDir

    service = _service(tmp_path, "pairs")
    journal = service.settings.model_copy(update={"cache_mode": "journal"})
    QAService(journal, embedder=HashEmbedder()).build()
    real = IndexDir.read_segment

    def unflagged(self: IndexDir, name: str) -> object:
        return dataclasses.replace(real(self, name), pair_contexts=False)

    monkeypatch.setattr(IndexDir, "read_segment", unflagged)
    embedded = journal.model_copy(update={"chunking": ChunkingSettings()})
    switched = QAService(embedded, embedder=HashEmbedder())
    switched.update()
    monkeypatch.undo()
    _same_contexts(switched, tmp_path, "fresh-embedded")


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
