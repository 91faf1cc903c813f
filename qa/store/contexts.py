"""Sentence-context vectors made otherwise than by embedding each context text.

Two choices of `QA_CHUNKING__CONTEXTS` besides the default `embedded`: `derived` (below) and
`pairs` (further down: the sentence pairs of a turn embedded, each context made from the pairs
holding its sentence). Both are opt-in; docs/benchmarks-archive.md says what each costs.

`derived`: from vectors already computed, instead of embedded.

A sentence's context is the sentence with its neighbours in the turn (the interviewer's question
for a turn's first sentence; qa.update.sentence_contexts says which). Embedding that text costs a
forward pass per sentence over three sentences' worth of tokens: the largest share of indexing.
MiniLM pools by averaging token vectors, so the embedding of a concatenation is close to the
length-weighted mean of its parts' embeddings; the parts (each sentence, each question) are
embedded anyway. The derived vector is that mean, renormalised.

It costs quality (docs/benchmarks-archive.md), so it is opt-in: `QA_CHUNKING__CONTEXTS=derived`,
for an archive where indexing time matters more. Derived only from what a segment stores anyway,
so the files backend does not store them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from qa.models import Chunk, Sentence

QUESTION_CHARS = 300  # the tail of the question a turn's first sentence is read with (qa.update)
# The sentence itself counts twice its length: of the weightings tried on the dev sets it lost
# least (docs/benchmarks-archive.md).
SELF_WEIGHT = 2.0


def derive_contexts(
    chunks: Sequence[Chunk],
    sentences: Sequence[Sentence],
    sentence_texts: Sequence[str],
    sentence_vectors: np.ndarray,
    question_chunks: Sequence[Sequence[int]],
    question_vectors: np.ndarray,
) -> np.ndarray:
    """One unit vector per sentence: it and its neighbours in the turn, weighted by length.

    Ids are local to one document (a segment's), as in qa.store.segment.DocPart.
    """
    n = len(sentences)
    dim = sentence_vectors.shape[1] if sentence_vectors.ndim == 2 else 0
    if n == 0:
        return np.zeros((0, dim), dtype=np.float32)
    vecs = np.asarray(sentence_vectors, dtype=np.float32)
    question_of: dict[int, int] = {}
    for key, ids in enumerate(question_chunks):
        for cid in ids:
            question_of.setdefault(cid, key)
    turn = [(chunks[s.chunk_id].doc_id, chunks[s.chunk_id].turn_index) for s in sentences]
    weight = np.array([max(1, len(t)) for t in sentence_texts], dtype=np.float32)
    out = vecs * (weight * SELF_WEIGHT)[:, None]
    first = np.ones(n, dtype=bool)
    first[1:] = [turn[i - 1] != turn[i] for i in range(1, n)]
    last = np.ones(n, dtype=bool)
    last[:-1] = ~first[1:]
    inner_prev = ~first
    out[inner_prev] += vecs[:-1][inner_prev[1:]] * weight[:-1][inner_prev[1:], None]
    inner_next = ~last
    out[inner_next] += vecs[1:][inner_next[:-1]] * weight[1:][inner_next[:-1], None]
    for i in np.flatnonzero(first).tolist():
        chunk = chunks[sentences[i].chunk_id]
        asked = question_of.get(chunk.id)
        if chunk.question and asked is not None and asked < len(question_vectors):
            size = min(len(chunk.question), QUESTION_CHARS)
            out[i] += np.asarray(question_vectors[asked], dtype=np.float32) * size
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(out / norms, dtype=np.float32)


# -- contexts from overlapping pairs (`QA_CHUNKING__CONTEXTS=pairs`) ------------------------------
# Each adjacent pair of sentences in a turn is embedded once (a turn's first sentence is paired
# with the tail of the interviewer's question, as the embedded context reads it), and a sentence's
# context is made from the (at most two) pairs that hold it. A pair costs about two sentences of
# tokens where a context costs three, and every vector still comes from the model reading the
# sentence beside its neighbours (docs/benchmarks-archive.md, section 0).
#
# The context text is the two pairs' text with the sentence counted once: MiniLM mean-pools its
# token states, so by inclusion and exclusion the context's pooled vector is close to the pairs'
# vectors weighted by their lengths less the sentence's. Closer to the embedded context than the
# pairs' plain sum, measured on the seeds and the real corpus (same section).


def sentence_pairs(
    chunks: Sequence[Chunk], sentences: Sequence[Sentence], texts: Sequence[str]
) -> tuple[list[str], list[tuple[int, ...]]]:
    """(pair texts, per sentence the indices of the pairs that hold it, in order). A sentence
    held by no pair (a turn of one sentence answering no question) has none: its context is its
    own vector. One held by one pair has that pair for context: the same text the embedded
    context would be."""
    turn = [(chunks[s.chunk_id].doc_id, chunks[s.chunk_id].turn_index) for s in sentences]
    pairs: list[str] = []
    members: list[tuple[int, ...]] = []
    left = -1  # the pair holding the previous sentence (or the question) and this one, if any
    for i, s in enumerate(sentences):
        first = i == 0 or turn[i - 1] != turn[i]
        last = i + 1 == len(sentences) or turn[i + 1] != turn[i]
        if first:
            left = -1
            tail = (chunks[s.chunk_id].question or "")[-QUESTION_CHARS:]
            if tail:
                left = len(pairs)
                pairs.append(f"{tail} {texts[i]}")
        mine = [] if left < 0 else [left]
        left = -1
        if not last:
            left = len(pairs)
            mine.append(left)
            pairs.append(f"{texts[i]} {texts[i + 1]}")
        members.append(tuple(mine))
    return pairs, members


def combine_pairs(
    pair_texts: Sequence[str],
    pair_vectors: np.ndarray,
    members: Sequence[Sequence[int]],
    sentence_texts: Sequence[str],
    sentence_vectors: np.ndarray,
) -> np.ndarray:
    """One unit vector per sentence: its pairs' vectors weighted by their lengths, less the
    sentence's counted once too many (its own vector when no pair holds it)."""
    vecs = np.asarray(sentence_vectors, dtype=np.float32)
    if len(members) == 0:
        return np.zeros((0, vecs.shape[1] if vecs.ndim == 2 else 0), dtype=np.float32)
    pv = np.asarray(pair_vectors, dtype=np.float32)
    size = np.array([len(t) for t in pair_texts], dtype=np.float32)
    out = vecs.copy()
    for i, held in enumerate(members):
        if len(held) == 1:
            out[i] = pv[held[0]]
        elif held:
            idx = list(held)
            own = (len(held) - 1) * max(1, len(sentence_texts[i]))
            out[i] = (pv[idx] * size[idx, None]).sum(axis=0) - vecs[i] * own
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(out / norms, dtype=np.float32)
