"""Sentence-context vectors derived from vectors already computed, instead of embedded.

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
