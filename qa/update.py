"""Incremental indexing: the source folder against the live index, document by content hash.

Unchanged documents keep their chunks, sentences and vectors from the previous version. New and
changed documents are chunked, and only texts the embedding cache has not seen go through the
model. The new version is then assembled whole: ids renumbered, the (flat) FAISS stores rebuilt
from the vectors, BM25 rebuilt. A removed document's vectors are therefore gone from the new
version's FAISS files, not hidden by a filter.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa.chunk import ChunkSettings, chunk_transcript
from qa.debug import pause_point
from qa.embed import Embedder
from qa.ingest import doc_id_for, list_sources, parse_transcript, read_source_text
from qa.models import Chunk, Sentence, Transcript
from qa.segments import join
from qa.sparse import SparseIndex, tokenize
from qa.store import FORMAT_VERSION, FaissStore, IndexData
from qa.store.cache import EmbeddingCache

Progress = Callable[[int, int], None]  # (texts embedded so far, texts to embed)


@dataclass(frozen=True, slots=True)
class Plan:
    """How the source folder differs from the index; each a sorted tuple of doc ids."""

    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()

    @property
    def touched(self) -> bool:
        return bool(self.added or self.changed or self.removed)


@dataclass(frozen=True, slots=True)
class UpdateReport:
    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    unchanged: int
    chunks_embedded: int  # chunk texts that went through the model (not found in the cache)
    texts_embedded: int  # every text that did: chunks, questions, sentences, sentence contexts
    documents: int
    chunks: int
    sentences: int
    seconds: float
    version: str  # the live version afterwards (unchanged when nothing changed)
    written: bool  # a new version was written
    phases: tuple[tuple[str, float], ...] = ()  # seconds per step: scan, load, chunk, embed, …
    problems: tuple[str, ...] = ()  # `doc: line N: ...`, what the readers could not read

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": len(self.added),
            "changed": len(self.changed),
            "removed": len(self.removed),
            "unchanged": self.unchanged,
            "chunks_embedded": self.chunks_embedded,
            "seconds": round(self.seconds, 3),
            "texts_embedded": self.texts_embedded,
            "documents": self.documents,
            "chunks": self.chunks,
            "sentences": self.sentences,
            "version": self.version,
            "written": self.written,
            "phases": {name: round(t, 3) for name, t in self.phases},
            "problems": list(self.problems),
            "doc_ids": {
                "added": list(self.added),
                "changed": list(self.changed),
                "removed": list(self.removed),
            },
        }


class Stopwatch:
    """Seconds per named step, for the report (and the benchmark's breakdown)."""

    def __init__(self) -> None:
        self.start = self._last = time.perf_counter()
        self.phases: list[tuple[str, float]] = []

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.phases.append((name, now - self._last))
        self._last = now

    @property
    def total(self) -> float:
        return time.perf_counter() - self.start


def scan(source: Path) -> dict[str, str]:
    """doc id → sha256 of the text every offset refers to, for each transcript under `source`."""
    return {
        doc_id_for(path, source): hashlib.sha256(read_source_text(path).encode("utf-8")).hexdigest()
        for path in list_sources(source)
    }


def plan(current: dict[str, str], indexed: dict[str, str]) -> Plan:
    return Plan(
        added=tuple(sorted(set(current) - set(indexed))),
        changed=tuple(sorted(d for d in set(current) & set(indexed) if current[d] != indexed[d])),
        removed=tuple(sorted(set(indexed) - set(current))),
        unchanged=tuple(sorted(d for d in set(current) & set(indexed) if current[d] == indexed[d])),
    )


def sentence_contexts(
    chunks: Sequence[Chunk], sentences: Sequence[Sentence], texts: Sequence[str]
) -> list[str]:
    """Each sentence with its neighbours in the turn; a turn's first sentence gets the question.

    A short answer ("Yes, it's already up and running.") means nothing alone; with the question
    it answers, or the sentence it continues, it can be found.
    """
    turn_of = [(chunks[s.chunk_id].doc_id, chunks[s.chunk_id].turn_index) for s in sentences]
    out = []
    for i, s in enumerate(sentences):
        first = i == 0 or turn_of[i - 1] != turn_of[i]
        last = i + 1 == len(sentences) or turn_of[i + 1] != turn_of[i]
        before = (chunks[s.chunk_id].question or "")[-300:] if first else texts[i - 1]
        after = "" if last else texts[i + 1]
        out.append(" ".join(p for p in (before, texts[i], after) if p))
    return out


@dataclass(frozen=True, slots=True)
class DocPart:
    """One document's share of a version; chunk ids are local (0..n-1)."""

    doc_id: str
    sha256: str
    chunks: tuple[Chunk, ...]
    sentences: tuple[Sentence, ...]
    sentence_texts: tuple[str, ...]
    chunk_vectors: np.ndarray
    sentence_vectors: np.ndarray
    context_vectors: np.ndarray
    question_chunks: tuple[tuple[int, ...], ...]  # per question key: the local chunks answering it
    question_vectors: np.ndarray
    tokens: tuple[list[str], ...]  # BM25 tokens per chunk (of the question and the chunk text)


@dataclass(frozen=True, slots=True)
class _Chunked:
    """A new or changed document, chunked, waiting for its vectors."""

    doc_id: str
    sha256: str
    chunks: list[Chunk]
    sentences: list[Sentence]
    sentence_texts: list[str]
    contexts: list[str]
    questions: list[tuple[str, list[int]]]
    bm25: list[str]  # what BM25 indexes for each chunk (see bm25_text)
    problems: tuple[str, ...] = ()  # what the reader could not read, with line numbers

    def texts(self) -> Iterable[str]:
        yield from (c.text for c in self.chunks)
        yield from (q for q, _ in self.questions)
        yield from self.sentence_texts
        yield from self.contexts


def chunk_document(
    doc_id: str, text: str, chunking: ChunkSettings, transcript: Transcript | None = None
) -> _Chunked:
    """Chunk one document; `transcript` is it already read (with its sidecar metadata applied)."""
    doc = transcript or parse_transcript(doc_id, text)
    chunks, sentences = chunk_transcript(doc, chunking)
    # A subtitle sentence is several cue slices joined by spaces, not one slice of the file.
    sentence_texts = [join(text, s.segments) for s in sentences]
    # The interviewer's question is its own key, mapped to every chunk of the answering turn.
    questions: dict[int, tuple[str, list[int]]] = {}
    for chunk in chunks:
        if chunk.question:
            questions.setdefault(chunk.turn_index, (chunk.question, []))[1].append(chunk.id)
    turns = [join(text, t.segments) for t in doc.turns]
    return _Chunked(
        doc_id=doc_id,
        sha256=doc.sha256,
        chunks=chunks,
        sentences=sentences,
        sentence_texts=sentence_texts,
        contexts=sentence_contexts(chunks, sentences, sentence_texts),
        questions=list(questions.values()),
        bm25=[bm25_text(c, turns[c.turn_index], chunking.bm25_scope) for c in chunks],
        problems=tuple(doc.problems),
    )


def _stack(vectors: dict[str, np.ndarray], texts: Iterable[str], dim: int) -> np.ndarray:
    rows = [vectors[t] for t in texts]
    return np.vstack(rows).astype(np.float32) if rows else np.zeros((0, dim), dtype=np.float32)


def finish(doc: _Chunked, vectors: dict[str, np.ndarray], dim: int) -> DocPart:
    return DocPart(
        doc_id=doc.doc_id,
        sha256=doc.sha256,
        chunks=tuple(doc.chunks),
        sentences=tuple(doc.sentences),
        sentence_texts=tuple(doc.sentence_texts),
        chunk_vectors=_stack(vectors, (c.text for c in doc.chunks), dim),
        sentence_vectors=_stack(vectors, doc.sentence_texts, dim),
        context_vectors=_stack(vectors, doc.contexts, dim),
        question_chunks=tuple(tuple(ids) for _, ids in doc.questions),
        question_vectors=_stack(vectors, (q for q, _ in doc.questions), dim),
        tokens=tuple(tokenize(t) for t in doc.bm25),
    )


def bm25_text(chunk: Chunk, turn: str, scope: str) -> str:
    """What BM25 indexes for a chunk: the question it answers, and its chunk or whole turn.

    Whole-turn scope lets a long answer match on all its words (SciFact: whole-document BM25
    0.674 nDCG@10 vs 0.622 per chunk); dense scoring still tells its chunks apart.
    """
    return f"{chunk.question or ''} {turn if scope == 'turn' else chunk.text}"


def bm25_tokens(chunk: Chunk) -> list[str]:
    """Tokens for a chunk of a version saved without them (chunk scope: its turn is not at hand)."""
    return tokenize(bm25_text(chunk, chunk.text, "chunk"))


def embed_missing(
    texts: Sequence[str],
    embedder: Embedder,
    cache: EmbeddingCache,
    batch_size: int,
    progress: Progress | None = None,
) -> tuple[dict[str, np.ndarray], set[str]]:
    """Vectors for `texts`: from the cache, or embedded and then cached. Returns (vectors, embedded)."""
    unique = list(dict.fromkeys(texts))
    vectors = cache.get_many(unique)
    # Sorted by length: a batch of similar lengths pads less (sentences vs 600-character chunks).
    todo = sorted((t for t in unique if t not in vectors), key=len)
    step = max(1, batch_size)
    if progress:
        progress(0, len(todo))
    for at in range(0, len(todo), step):
        part = todo[at : at + step]
        vecs = embedder.embed(part, step)
        cache.put_many(part, vecs)  # committed per batch: a crash loses one batch at most
        vectors.update(zip(part, vecs, strict=True))
        if progress:
            progress(at + len(part), len(todo))
        pause_point("embedding")
    return vectors, set(todo)


def split(data: IndexData) -> dict[str, DocPart]:
    """A loaded version back into per-document parts (vectors read back from the flat stores)."""
    dim = data.chunk_store.dim
    chunk_vecs = _by_id(data.chunk_store, len(data.chunks))
    question_vecs = _by_id(data.question_store, len(data.question_chunks))
    chunk_ids: dict[str, list[int]] = {}
    for c in data.chunks:
        chunk_ids.setdefault(c.doc_id, []).append(c.id)
    sentence_ids: dict[str, list[int]] = {}
    for i, s in enumerate(data.sentences):
        sentence_ids.setdefault(data.chunks[s.chunk_id].doc_id, []).append(i)
    question_ids: dict[str, list[int]] = {}
    for q, ids in enumerate(data.question_chunks):
        if ids:
            question_ids.setdefault(data.chunks[ids[0]].doc_id, []).append(q)
    tokens = data.sparse.tokens
    if tokens is not None and len(tokens) != len(data.chunks):
        tokens = None
    parts: dict[str, DocPart] = {}
    for doc_id, meta in data.documents.items():
        cids = chunk_ids.get(doc_id, [])
        local = {g: i for i, g in enumerate(cids)}
        sids = sentence_ids.get(doc_id, [])
        qids = question_ids.get(doc_id, [])
        parts[doc_id] = DocPart(
            doc_id=doc_id,
            sha256=meta["sha256"],
            chunks=tuple(_chunk_at(data.chunks[g], local[g]) for g in cids),
            sentences=tuple(
                _sentence_in(data.sentences[s], local[data.sentences[s].chunk_id]) for s in sids
            ),
            sentence_texts=tuple(data.sentence_texts[s] for s in sids),
            chunk_vectors=chunk_vecs[cids] if cids else np.zeros((0, dim), np.float32),
            sentence_vectors=data.sentence_vectors[sids],
            context_vectors=data.context_vectors[sids],
            question_chunks=tuple(tuple(local[g] for g in data.question_chunks[q]) for q in qids),
            question_vectors=question_vecs[qids] if qids else np.zeros((0, dim), np.float32),
            tokens=tuple(
                tokens[g] if tokens is not None else bm25_tokens(data.chunks[g]) for g in cids
            ),
        )
    return parts


def _chunk_at(c: Chunk, id_: int) -> Chunk:
    # Positional construction: `dataclasses.replace` costs ~4× more, on every chunk of a version.
    # Every field, in declaration order (tests/test_update.py checks none is dropped).
    return Chunk(
        id_, c.doc_id, c.speaker, c.start, c.end, c.line_start, c.line_end, c.text, c.turn_index,
        c.question, c.label, c.segments, c.times, c.title, c.date,
    )  # fmt: skip


def _sentence_in(s: Sentence, chunk_id: int) -> Sentence:
    return Sentence(s.start, s.end, chunk_id, s.line_start, s.line_end, s.segments, s.times)


def _by_id(store: FaissStore, n: int) -> np.ndarray:
    ids, vecs = store.vectors()
    out = np.zeros((n, store.dim), dtype=np.float32)
    out[ids] = vecs
    return out


def assemble(parts: Sequence[DocPart], embedder: Embedder, chunking: ChunkSettings) -> IndexData:
    """One version from per-document parts, in the order given (ids become positions)."""
    dim = embedder.dim
    chunks: list[Chunk] = []
    sentences: list[Sentence] = []
    sentence_texts: list[str] = []
    question_chunks: list[list[int]] = []
    documents: dict[str, dict[str, Any]] = {}
    for part in parts:
        off = len(chunks)
        chunks.extend(_chunk_at(c, c.id + off) for c in part.chunks)
        sentences.extend(_sentence_in(s, s.chunk_id + off) for s in part.sentences)
        sentence_texts.extend(part.sentence_texts)
        question_chunks.extend([i + off for i in ids] for ids in part.question_chunks)
        documents[part.doc_id] = {
            "sha256": part.sha256,
            "chunks": len(part.chunks),
            "sentences": len(part.sentences),
        }

    def cat(arrays: Iterable[np.ndarray]) -> np.ndarray:
        arrays = list(arrays)
        return np.concatenate(arrays) if arrays else np.zeros((0, dim), dtype=np.float32)

    chunk_store = FaissStore(dim)
    chunk_store.add(np.arange(len(chunks)), cat(p.chunk_vectors for p in parts))
    question_store = FaissStore(dim)
    question_store.add(np.arange(len(question_chunks)), cat(p.question_vectors for p in parts))
    manifest = {
        "format": FORMAT_VERSION,
        "model": embedder.name,
        "embedder": embedder.backend,  # torch or onnx-int8: same model, vectors agree to ≥ 0.998
        "dim": dim,
        "chunking": chunking.as_dict(),
        "documents": documents,
        "counts": {
            "chunks": len(chunks),
            "sentences": len(sentences),
            "questions": len(question_chunks),
        },
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    return IndexData(
        manifest=manifest,
        chunks=chunks,
        sentences=sentences,
        sentence_texts=sentence_texts,
        sentence_vectors=cat(p.sentence_vectors for p in parts),
        context_vectors=cat(p.context_vectors for p in parts),
        chunk_store=chunk_store,
        question_store=question_store,
        question_chunks=question_chunks,
        sparse=SparseIndex.from_tokens([t for p in parts for t in p.tokens]),
    )
