"""The library facade: build, search, ask, status. CLI and HTTP are thin shells over this."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa.answer import AnswerSettings, compose, select_quotes
from qa.chunk import ChunkSettings, chunk_transcript
from qa.embed import Embedder, MicroBatcher, load_embedder
from qa.errors import InvalidInput
from qa.ingest import doc_id_for, list_sources, read_source_text, read_transcript
from qa.models import Answer, Chunk, Hit, Sentence
from qa.retrieve import Filters, Query, RetrievalSettings, retrieve, speaker_names
from qa.segments import join
from qa.settings import Settings
from qa.sparse import SparseIndex
from qa.store import FORMAT_VERSION, FaissStore, IndexData, IndexDir
from qa.store.index import check_model

MAX_QUESTION_CHARS = 2000
QUERY_CACHE_SIZE = 1024


@dataclass(frozen=True, slots=True)
class BuildReport:
    documents: int
    chunks: int
    sentences: int
    seconds: float
    version: str
    problems: tuple[str, ...] = ()  # `doc: line N: ...`, what the readers could not read

    def to_dict(self) -> dict[str, Any]:
        return {
            "documents": self.documents,
            "chunks": self.chunks,
            "sentences": self.sentences,
            "seconds": round(self.seconds, 2),
            "version": self.version,
            "problems": list(self.problems),
        }


def sentence_contexts(
    chunks: list[Chunk], sentences: list[Sentence], texts: list[str]
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


def bm25_texts(chunks: list[Chunk], turns: dict[tuple[str, int], str], scope: str) -> list[str]:
    """What BM25 indexes for each chunk: the question it answers, and its chunk or whole turn.

    Whole-turn scope lets a long answer match on all its words (SciFact: whole-document BM25
    0.674 nDCG@10 vs 0.622 per chunk); dense scoring still tells its chunks apart.
    """
    if scope == "chunk":
        return [f"{c.question or ''} {c.text}" for c in chunks]
    return [f"{c.question or ''} {turns[(c.doc_id, c.turn_index)]}" for c in chunks]


def clean_question(question: str) -> str:
    q = question.strip()
    if not q:
        raise InvalidInput("question must not be empty")
    if len(q) > MAX_QUESTION_CHARS:
        raise InvalidInput(f"question is longer than {MAX_QUESTION_CHARS} characters")
    return q


class QAService:
    def __init__(self, settings: Settings | None = None, embedder: Embedder | None = None) -> None:
        self.settings = settings or Settings()
        self._embedder = embedder
        self._index: IndexData | None = None
        self._lock = threading.Lock()
        self._micro_batcher: Embedder | None = None
        # Repeated questions skip the model: vectors depend on the text only, not on the index.
        self._query_cache: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()

    # -- components -----------------------------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            s = self.settings
            self._embedder = load_embedder(s.embedder, s.model_name, s.model_path)
        return self._embedder

    @property
    def index_dir(self) -> IndexDir:
        return IndexDir(self.settings.index_dir)

    @property
    def chunking(self) -> ChunkSettings:
        return ChunkSettings(self.settings.chunk_size, self.settings.chunk_overlap)

    @property
    def index(self) -> IndexData:
        if self._index is None:
            self.load()
        assert self._index is not None
        return self._index

    def load(self) -> IndexData:
        data = self.index_dir.load()
        check_model(data.manifest, self.embedder.name, self.embedder.dim)
        with self._lock:
            self._index = data
        return data

    # -- indexing -------------------------------------------------------------------------
    def build(self, source: Path | None = None) -> BuildReport:
        """Index every transcript under `source` into a new version, then make it live."""
        t0 = time.perf_counter()
        source = source or self.settings.source_dir
        docs = [read_transcript(p, source) for p in list_sources(source)]
        chunks: list[Chunk] = []
        sentences: list[Sentence] = []
        sentence_texts: list[str] = []
        documents: dict[str, dict[str, Any]] = {}
        turn_texts: dict[tuple[str, int], str] = {}
        for doc in docs:
            for i, t in enumerate(doc.turns):
                turn_texts[(doc.doc_id, i)] = doc.text[t.start : t.end]
            c, s = chunk_transcript(doc, self.chunking, first_id=len(chunks))
            chunks.extend(c)
            sentences.extend(s)
            sentence_texts.extend(join(doc.text, x.segments) for x in s)
            documents[doc.doc_id] = {"sha256": doc.sha256, "chunks": len(c), "sentences": len(s)}

        # The interviewer's question is its own key, mapped to every chunk of the answering turn.
        questions: dict[tuple[str, int], tuple[str, list[int]]] = {}
        for chunk in chunks:
            if chunk.question:
                key = (chunk.doc_id, chunk.turn_index)
                questions.setdefault(key, (chunk.question, []))[1].append(chunk.id)
        question_list = list(questions.values())

        emb = self.embedder
        bs = self.settings.batch_size
        chunk_vecs = emb.embed([c.text for c in chunks], bs)
        question_vecs = emb.embed([q for q, _ in question_list], bs)
        sentence_vecs = emb.embed(sentence_texts, bs)
        context_vecs = emb.embed(sentence_contexts(chunks, sentences, sentence_texts), bs)

        chunk_store = FaissStore(emb.dim)
        chunk_store.add(np.arange(len(chunks)), chunk_vecs)
        question_store = FaissStore(emb.dim)
        question_store.add(np.arange(len(question_list)), question_vecs)
        manifest = {
            "format": FORMAT_VERSION,
            "model": emb.name,
            "embedder": emb.backend,
            "dim": emb.dim,
            "chunking": self.chunking.as_dict(),
            "documents": documents,
            "counts": {
                "chunks": len(chunks),
                "sentences": len(sentences),
                "questions": len(question_list),
            },
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        data = IndexData(
            manifest=manifest,
            chunks=chunks,
            sentences=sentences,
            sentence_texts=sentence_texts,
            sentence_vectors=sentence_vecs,
            context_vectors=context_vecs,
            chunk_store=chunk_store,
            question_store=question_store,
            question_chunks=[ids for _, ids in question_list],
            sparse=SparseIndex.build(bm25_texts(chunks, turn_texts, self.settings.bm25_scope)),
        )
        version = self.index_dir.save(data)
        with self._lock:
            self._index = data
        return BuildReport(
            len(docs),
            len(chunks),
            len(sentences),
            time.perf_counter() - t0,
            version,
            problems=tuple(f"{d.doc_id}: {p}" for d in docs for p in d.problems),
        )

    def pending_changes(self, source: Path | None = None) -> dict[str, list[str]]:
        """How the source folder differs from the live index (by content hash)."""
        source = source or self.settings.source_dir
        manifest = self.index_dir.manifest()
        indexed: dict[str, dict[str, Any]] = manifest["documents"]
        current: dict[str, str] = {}
        for path in list_sources(source):
            import hashlib

            current[doc_id_for(path, source)] = hashlib.sha256(
                read_source_text(path).encode("utf-8")
            ).hexdigest()
        changes = {
            "added": sorted(set(current) - set(indexed)),
            "removed": sorted(set(indexed) - set(current)),
            "changed": sorted(
                d for d in set(current) & set(indexed) if current[d] != indexed[d]["sha256"]
            ),
        }
        if manifest.get("chunking") != self.chunking.as_dict():
            changes["settings"] = ["chunking settings differ from the index"]
        return changes

    # -- querying -------------------------------------------------------------------------
    def _query(self, question: str, index: IndexData) -> Query:
        content, named = speaker_names(question, index.speaker_names)
        key = (question, content)
        with self._lock:
            vecs = self._query_cache.get(key)
            if vecs is not None:
                self._query_cache.move_to_end(key)
        if vecs is None:
            texts = [question] if content in ("", question) else [question, content]
            vecs = self._batcher().embed_batch(texts)  # one forward pass, even for two texts
            with self._lock:
                self._query_cache[key] = vecs
                if len(self._query_cache) > QUERY_CACHE_SIZE:
                    self._query_cache.popitem(last=False)
        return Query(text=question, vec=vecs[0], content_vec=vecs[-1], named=named)

    def _batcher(self) -> Embedder:
        with self._lock:
            if self._micro_batcher is None:
                self._micro_batcher = MicroBatcher(self.embedder)
            return self._micro_batcher

    def search(
        self,
        question: str,
        k: int = 5,
        docs: Collection[str] = (),
        speakers: Collection[str] = (),
        date_from: str | None = None,
        date_to: str | None = None,
    ) -> list[Hit]:
        q = clean_question(question)
        filters = Filters.of(docs, speakers, date_from, date_to)
        index = self.index  # one version for the whole request
        return retrieve(index, self._query(q, index), k, self._retrieval(), filters)

    def ask(
        self,
        question: str,
        k: int = 5,
        docs: Collection[str] = (),
        speakers: Collection[str] = (),
        date_from: str | None = None,
        date_to: str | None = None,
    ) -> Answer:
        q = clean_question(question)
        filters = Filters.of(docs, speakers, date_from, date_to)
        index = self.index
        query = self._query(q, index)
        s = self.settings
        retrieval = self._retrieval()
        pool = retrieve(index, query, max(k, s.candidates), retrieval, filters)
        answer_settings = AnswerSettings(
            max_quotes=min(k, s.max_quotes),
            abstain_threshold=s.abstain_threshold,
            passage_weight=s.passage_weight,
            context_weight=s.context_weight,
            speaker_bonus=s.speaker_bonus,
            editorial_penalty=s.editorial_penalty,
        )
        quotes, passages = select_quotes(index, query, pool, answer_settings)
        return compose(q, quotes, passages[:k], answer_settings)

    def _retrieval(self) -> RetrievalSettings:
        s = self.settings
        return RetrievalSettings(
            mode=s.mode,
            fusion=s.fusion,
            candidates=s.candidates,
            question_weight=s.question_weight,
            dense_weight=s.dense_weight,
            bm25_weight=s.bm25_weight,
        )

    # -- introspection --------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        index = self.index
        return {
            "status": "ok",
            "documents": len(index.documents),
            "chunks": len(index.chunks),
            "model": index.manifest["model"],
            "version": index.version,
        }

    def documents(self) -> list[dict[str, Any]]:
        return [
            {"doc_id": doc_id, "sha256": d["sha256"], "chunks": d["chunks"]}
            for doc_id, d in sorted(self.index.documents.items())
        ]
