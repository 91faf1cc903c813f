"""Question vector → scored passages: chunk text and the interviewer's question, fused."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from qa.models import Chunk, Hit
from qa.store import IndexData


@dataclass(frozen=True, slots=True)
class Filters:
    docs: frozenset[str] = frozenset()
    speakers: frozenset[str] = frozenset()

    def admits(self, chunk: Chunk) -> bool:
        if self.docs and chunk.doc_id not in self.docs:
            return False
        return not self.speakers or (chunk.speaker or "").casefold() in self.speakers

    @classmethod
    def of(cls, docs: Collection[str] = (), speakers: Collection[str] = ()) -> Filters:
        return cls(frozenset(docs), frozenset(s.casefold() for s in speakers))


@dataclass(frozen=True, slots=True)
class RetrievalSettings:
    candidates: int = 40
    question_weight: float = 0.9  # a match on the question counts a little less than on the words


def retrieve(
    index: IndexData,
    qvec: np.ndarray,
    k: int,
    settings: RetrievalSettings,
    filters: Filters = Filters(),
) -> list[Hit]:
    """Top `k` chunks: a chunk scores by its own text or by the question it answers, whichever is higher."""
    n = len(index.chunks)
    if n == 0:
        return []
    # Filters are applied after the search, so ask for more when they are set.
    depth = n if (filters.docs or filters.speakers) else min(n, max(k, settings.candidates))
    scores: dict[int, float] = {}
    s, ids = index.chunk_store.search(qvec[None, :], depth)
    for score, cid in zip(s[0], ids[0], strict=True):
        if cid >= 0:
            scores[int(cid)] = float(score)
    if len(index.question_store):
        s, ids = index.question_store.search(qvec[None, :], depth)
        for score, key in zip(s[0], ids[0], strict=True):
            if key < 0:
                continue
            weighted = settings.question_weight * float(score)
            for cid in index.question_chunks[int(key)]:
                if weighted > scores.get(cid, -1.0):
                    scores[cid] = weighted
    hits = [
        Hit(index.chunks[cid], sc)
        for cid, sc in scores.items()
        if filters.admits(index.chunks[cid])
    ]
    hits.sort(key=lambda h: -h.score)
    return hits[:k]
