"""Questions → passages and answers, over the live index, with a cache of question vectors."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace

import numpy as np

from qa.answer import STALE_ANSWER, compose, select_quotes
from qa.embed import Embedder, MicroBatcher
from qa.errors import InvalidInput
from qa.live import LiveIndex
from qa.models import Answer, Filters, Hit, Passage, Quote
from qa.retrieve import Query, retrieve, speaker_names
from qa.settings import Settings
from qa.source import SourceTexts
from qa.store import IndexData

MAX_QUESTION_CHARS = 2000
QUERY_CACHE_SIZE = 1024


def clean_question(question: str) -> str:
    q = question.strip()
    if not q:
        raise InvalidInput("question must not be empty")
    if len(q) > MAX_QUESTION_CHARS:
        raise InvalidInput(f"question is longer than {MAX_QUESTION_CHARS} characters")
    return q


class Searcher:
    def __init__(
        self,
        settings: Settings,
        live: LiveIndex,
        embedder: Callable[[], Embedder],
        texts: SourceTexts,
    ) -> None:
        self._settings = settings
        self._live = live
        self._embedder = embedder
        self._texts = texts
        self._lock = threading.Lock()
        self._batcher: Embedder | None = None
        # Repeated questions skip the model: vectors depend on the text only, not on the index.
        self._cache: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._sparse: ThreadPoolExecutor | None = None

    def search(self, question: str, *, k: int, filters: Filters) -> list[Passage]:
        q = clean_question(question)
        index = self._live.get()  # one version for the whole request
        _, hits = self._retrieve(q, index, k, filters)
        return [p for p in map(Passage.of, hits) if self._verbatim(index, p)]

    def ask(self, question: str, *, k: int, filters: Filters) -> Answer:
        q = clean_question(question)
        index = self._live.get()
        retrieval = self._settings.retrieval
        query, pool = self._retrieve(q, index, max(k, retrieval.candidates), filters)
        answering = self._settings.answer
        if k < answering.max_quotes:
            answering = answering.model_copy(update={"max_quotes": k})
        candidates, passages = select_quotes(index, query, pool, answering)
        # Served only while still exact slices of the source (a file may have changed since).
        verbatim = [c for c in candidates if self._verbatim(index, c.quote)]
        answer = compose(q, verbatim, passages[:k], answering)
        answer = replace(
            answer, passages=tuple(p for p in answer.passages if self._verbatim(index, p))
        )
        if candidates and not verbatim:
            return replace(
                answer,
                answerable=False,
                answer=STALE_ANSWER,
                quotes=(),
                related=(),
                coverage="not_found",
                confidence=0.0,
            )
        return answer

    def _verbatim(self, index: IndexData, item: Quote | Passage) -> bool:
        return self._texts.holds(index, item.doc_id, item.segments, item.text)

    def clear_cache(self) -> None:
        """Forget the question vectors (benchmarks time the model, not the cache)."""
        with self._lock:
            self._cache.clear()

    def _retrieve(
        self, question: str, index: IndexData, k: int, filters: Filters
    ) -> tuple[Query, list[Hit]]:
        retrieval = self._settings.retrieval
        content, named = speaker_names(question, index.speaker_names)
        key = (question, content)
        with self._lock:
            vecs = self._cache.get(key)
            if vecs is not None:
                self._cache.move_to_end(key)
        sparse: Future[np.ndarray] | None = None
        if vecs is None and retrieval.mode != "dense" and index.sparse.size:
            # BM25 needs no vector: it scores on the other core while the question embeds (the
            # model runs on one thread and releases the GIL), instead of after it.
            sparse = self._sparse_pool().submit(index.sparse.scores, question)
        query = self._query(question, key, named, vecs)  # a failure leaves the BM25 job to finish
        bm25 = None if sparse is None else sparse.result()
        return query, retrieve(index, query, k, retrieval, filters, bm25=bm25)

    def _sparse_pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._sparse is None:
                self._sparse = ThreadPoolExecutor(max_workers=2, thread_name_prefix="qa-bm25")
            return self._sparse

    def _query(
        self, question: str, key: tuple[str, str], named: frozenset[str], vecs: np.ndarray | None
    ) -> Query:
        content = key[1]
        if vecs is None:
            texts = [question] if content in ("", question) else [question, content]
            vecs = self._model().embed_batch(texts)  # one forward pass, even for two texts
            with self._lock:
                self._cache[key] = vecs
                if len(self._cache) > QUERY_CACHE_SIZE:
                    self._cache.popitem(last=False)
        return Query(text=question, vec=vecs[0], content_vec=vecs[-1], named=named)

    def _model(self) -> Embedder:
        with self._lock:
            if self._batcher is None:
                # Concurrent requests share forward passes (a micro-batcher).
                self._batcher = MicroBatcher(self._embedder())
            return self._batcher
