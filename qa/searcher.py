"""Questions → passages and answers, over the live index, with a cache of question vectors."""

from __future__ import annotations

import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from qa.answer import FILTERED_OUT, STALE_ANSWER, compose, passage_support, select_quotes
from qa.embed import Embedder, MicroBatcher
from qa.errors import InvalidInput
from qa.live import LiveIndex
from qa.models import Answer, Filters, Passage, Quote
from qa.retrieve import Query, retrieve, speaker_names
from qa.settings import Settings
from qa.source import SourceTexts
from qa.store import IndexData

MAX_QUESTION_CHARS = 2000
QUERY_CACHE_SIZE = 1024


def clean_question(question: str) -> str:
    """The question stripped, or InvalidInput: the same rules for every shell (the HTTP schema
    states them too, qa.api.schemas.check_question)."""
    q = question.strip()
    if not q:
        raise InvalidInput("question must not be empty")
    if len(q) > MAX_QUESTION_CHARS:
        raise InvalidInput(f"question is longer than {MAX_QUESTION_CHARS} characters")
    if any(unicodedata.category(ch) == "Cc" and ch not in "\t\n\r" for ch in q):
        raise InvalidInput("question must not contain control characters")
    try:
        q.encode("utf-8")
    except UnicodeEncodeError as exc:  # bytes a shell could not decode (lone surrogates)
        raise InvalidInput("question is not valid text (undecodable bytes)") from exc
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

    def search(self, question: str, *, k: int, filters: Filters) -> list[Passage]:
        q = clean_question(question)
        index = self._live.get()  # one version for the whole request
        _check_filters(index, filters)
        hits = retrieve(index, self._query(q, index), k, self._settings.retrieval, filters)
        return [p for p in map(Passage.of, hits) if self._verbatim(index, p)]

    def ask(self, question: str, *, k: int, filters: Filters) -> Answer:
        q = clean_question(question)
        index = self._live.get()
        _check_filters(index, filters)
        query = self._query(q, index)
        retrieval = self._settings.retrieval
        pool = retrieve(index, query, max(k, retrieval.candidates), retrieval, filters)
        # Nothing found because the filters admit no chunk (not a BM25 search whose words the
        # admitted chunks lack): nothing was searched.
        if not pool and filters.active and not index.admitted(filters).any():
            return replace(compose(q, [], [], self._settings.answer), answer=FILTERED_OUT)
        answering = self._settings.answer
        if k < answering.max_quotes:
            answering = answering.model_copy(update={"max_quotes": k})
        candidates, passages = select_quotes(index, query, pool, answering, filters=filters)
        # Served only while still exact slices of the source (a file may have changed since).
        verbatim = [c for c in candidates if self._verbatim(index, c.quote)]
        covered = passage_support(index, q, pool) if answering.off_topic_support else 1.0
        answer = compose(q, verbatim, passages[:k], answering, support=covered)
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

    def _query(self, question: str, index: IndexData) -> Query:
        content, named = speaker_names(question, index.speaker_names)
        key = (question, content)
        with self._lock:
            vecs = self._cache.get(key)
            if vecs is not None:
                self._cache.move_to_end(key)
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


def _check_filters(index: IndexData, filters: Filters) -> None:
    """A filter naming no document or speaker of this version is a mistake to report (422,
    exit 2), not a question the transcripts leave unanswered."""
    if filters.docs or filters.speakers:
        problems = filters.unmatched(index.documents, index.speaker_keys)
        if problems:
            raise InvalidInput("; ".join(problems))
