"""Question → scored passages: dense (chunk text and the interviewer's question) and BM25,
fused by z-score (default) or reciprocal rank (`QA_RETRIEVAL__FUSION=rrf`)."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from qa.models import Filters, Hit
from qa.settings import RetrievalSettings
from qa.store import IndexData

NO_FILTERS = Filters()
RRF_K = 60  # the usual constant from Cormack et al.; damps the head of each ranking


@dataclass(frozen=True, slots=True)
class Query:
    """A question ready for search: its vector, and its vector with speaker names taken out."""

    text: str
    vec: np.ndarray
    content_vec: np.ndarray
    named: frozenset[str]  # name words of indexed speakers that the question mentions


def speaker_names(question: str, names: Collection[str]) -> tuple[str, frozenset[str]]:
    """`question` without the speakers' names, and the names it used.

    A name in a question says whose words are wanted, not what they are about; left in, it pulls
    every sentence that mentions the person (summaries, introductions) above what they said.
    Labels are often in capitals (`MR. SULLIVAN:`), so case is ignored, but a name must be
    capitalised in the question: the speaker May is not the verb "may".
    """
    found = set()
    stripped = question
    for name in sorted(names, key=len, reverse=True):
        if name.casefold() in _NOT_NAMES:
            continue
        pattern = re.compile(rf"\b{re.escape(name)}(?:['’]s)?\b", re.IGNORECASE)
        hits = [m for m in pattern.finditer(stripped) if m.group(0)[0].isupper()]
        if hits:
            found.add(name.casefold())
            for m in reversed(hits):
                stripped = stripped[: m.start()] + stripped[m.end() :]
    return " ".join(stripped.split()), frozenset(found)


# Words of labels that are no names: `MR. SULLIVAN`, `THE PRESIDENT`, `WILL HURD` ("Will the…").
_NOT_NAMES = frozenset(
    [
        "mr.",
        "ms.",
        "mrs.",
        "dr.",
        "mr",
        "ms",
        "mrs",
        "dr",
        "sen.",
        "rep.",
        "the",
        "and",
        "will",
        "may",
        "can",
        "did",
        "does",
        "who",
        "what",
        "how",
        "why",
        "when",
        "where",
        "which",
        "president",
        "secretary",
        "minister",
        "prime",
        "vice",
    ]
)


def dense_scores(
    index: IndexData,
    vec: np.ndarray,
    depth: int,
    settings: RetrievalSettings,
    filters: Filters = NO_FILTERS,
) -> dict[int, float]:
    """chunk id → cosine of its text, or (weighted) of the question it answers, whichever is higher.

    An exact store ranks everything and the filter applies afterwards; an approximate (IVF) one
    would only see the probed cells, so it is searched among the admitted ids alone.
    """
    chunks_among = questions_among = None
    if filters.active and (index.chunk_store.approximate or index.question_store.approximate):
        admitted = index.admitted(filters)
        if index.chunk_store.approximate:
            chunks_among = np.flatnonzero(admitted).astype(np.int64)
        if index.question_store.approximate:
            questions_among = index.admitted_questions(admitted)
    scores: dict[int, float] = {}
    s, ids = index.chunk_store.search(vec[None, :], depth, chunks_among)
    for score, cid in zip(s[0], ids[0], strict=True):
        if cid >= 0:
            scores[int(cid)] = float(score)
    if len(index.question_store):
        s, ids = index.question_store.search(vec[None, :], depth, questions_among)
        for score, key in zip(s[0], ids[0], strict=True):
            if key < 0:
                continue
            weighted = settings.question_weight * float(score)
            for cid in index.question_chunks[int(key)]:
                if weighted > scores.get(cid, -1.0):
                    scores[cid] = weighted
    return scores


def _zscores(scores: dict[int, float], top: int = 100) -> tuple[dict[int, float], float]:
    """Standardise against the head of the list (z over the best `top`) and the floor for absentees."""
    head = np.sort(np.fromiter(scores.values(), dtype=np.float64))[-top:]
    mean, std = float(head.mean()), float(head.std()) or 1.0
    z = {cid: (v - mean) / std for cid, v in scores.items()}
    return z, (float(head.min()) - mean) / std


SAMPLE = 16  # every 16th score bounds the best ones from below (`best_ids`)


def best_ids(scores: np.ndarray, depth: int) -> np.ndarray:
    """Ids of the `depth` best positive scores, best first, ties in id order.

    Only chunks with a query term score, but at 10,000 interviews a common word is in most of
    them: the `depth`-th best of every 16th score is at most the `depth`-th best of all, so the
    scores at or above it (a few thousand) hold the best, and only they are ranked.
    """
    sample = scores[::SAMPLE]
    floor = np.float32(0)
    if len(sample) > depth:
        floor = np.partition(sample, len(sample) - depth)[len(sample) - depth]
    hit = np.flatnonzero(scores >= floor) if floor > 0 else np.flatnonzero(scores > 0)
    if len(hit) > depth:  # the `depth` best (and any tied with the last), then sorted
        kth = np.partition(-scores[hit], depth - 1)[depth - 1]
        hit = hit[-scores[hit] <= kth]
    top: np.ndarray = hit[np.argsort(-scores[hit], kind="stable")[:depth]]
    return top


def retrieve(
    index: IndexData,
    query: Query,
    k: int,
    settings: RetrievalSettings,
    filters: Filters = NO_FILTERS,
) -> list[Hit]:
    """Top `k` chunks by dense + BM25 fusion; `Hit.score` is 1.0 for the best chunk.

    `zscore` fusion (default) adds the standardised scores, so a chunk far ahead on one method
    keeps its lead; `rrf` adds reciprocal ranks and only sees order. Measured on SciFact: z-score
    0.730 nDCG@10, RRF 0.704 (docs/benchmarks-retrieval.md).
    """
    n = len(index.chunks)
    if n == 0:
        return []
    # Filters apply after the search, so with filters the whole index is ranked.
    depth = n if filters.active else min(n, max(k, settings.candidates) * 2)
    lists: list[tuple[float, dict[int, float]]] = []
    if settings.mode in ("hybrid", "dense"):
        lists.append(
            (
                settings.dense_weight,
                dense_scores(index, query.content_vec, depth, settings, filters),
            )
        )
    if settings.mode in ("hybrid", "bm25"):
        bm = index.sparse.scores(query.text)
        top = best_ids(bm, depth)
        lists.append((settings.bm25_weight, {int(c): float(bm[c]) for c in top}))
    lists = [(w, scores) for w, scores in lists if scores]
    if not lists:
        return []
    fused: dict[int, float] = {}
    if settings.fusion == "rrf" or len(lists) == 1:
        for w, scores in lists:
            ranked = sorted(scores, key=lambda c: -scores[c])
            for r, cid in enumerate(ranked):
                fused[cid] = fused.get(cid, 0.0) + w / (RRF_K + 1 + r)
    else:
        normalised = [(w, *_zscores(scores)) for w, scores in lists]
        for cid in set().union(*(scores for _, scores in lists)):
            fused[cid] = sum(w * z.get(cid, floor) for w, z, floor in normalised)
    if filters.active:
        admitted = index.admitted(filters)
        fused = {c: v for c, v in fused.items() if admitted[c]}
    ranked = sorted(fused, key=lambda c: -fused[c])
    # The score shown (and used to weigh a passage's quotes) depends on rank only, like RRF, so
    # either fusion gives scores on one scale: 1.0 for the best chunk, 0.5 at rank RRF_K.
    return [Hit(index.chunks[c], RRF_K / (RRF_K + r)) for r, c in enumerate(ranked[:k])]
