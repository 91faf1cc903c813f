"""qa.sparse: BM25 over several groups' postings scores like one bm25s index over all chunks."""

from __future__ import annotations

import numpy as np
import pytest

from qa.models import Chunk
from qa.sparse import GroupedBM25, Postings, SparseIndex, tokenize
from qa.store import groups
from qa.store.segment import DocPart

WORDS = ["mars", "rocket", "engine", "battery", "factory", "robot", "salt", "water", "moon"]


def part(rng: np.random.Generator, doc: str, n: int) -> DocPart:
    texts = [" ".join(rng.choice(WORDS, size=rng.integers(0, 12))) for _ in range(n)]
    chunks = tuple(Chunk(i, doc, "Guest", 0, 0, 0, 0, t, i) for i, t in enumerate(texts))
    empty = np.zeros((0, 4), np.float32)
    return DocPart(
        doc_id=doc,
        sha256=doc,
        chunks=chunks,
        sentences=(),
        sentence_texts=(),
        chunk_vectors=np.zeros((n, 4), np.float32),
        sentence_vectors=empty,
        context_vectors=empty,
        question_chunks=(),
        question_vectors=empty,
        tokens=tuple(tokenize(t) for t in texts),
    )


@pytest.mark.parametrize("split", [[30], [12, 1, 17], [5, 5, 5, 5, 10]])
def test_grouped_scores_equal_one_bm25s_index(split: list[int]) -> None:
    rng = np.random.default_rng(len(split))
    parts = [part(rng, f"d{i}", n) for i, n in enumerate(split)]
    whole = SparseIndex.from_tokens([t for p in parts for t in p.tokens])
    postings = []
    row = 0
    for p in parts:  # one group per part, its rows at the part's global ids
        built = groups.build([(p.doc_id, p)], 4, {p.doc_id: (0, 0, "<f2")})
        a = built["arrays"]
        vocab = {t: i for i, t in enumerate(built["meta"]["vocab"])}
        to_global = np.arange(row, row + len(p.chunks))
        postings.append(
            Postings(vocab, a["post_ptr"], a["post_rows"], a["post_tf"], a["doclen"], to_global)
        )
        row += len(p.chunks)
    grouped = GroupedBM25(postings, row)
    for query in ("mars rocket", "salt bacteria water water", "orbit", "nothing here", ""):
        np.testing.assert_allclose(grouped.scores(query), whole.scores(query), rtol=1e-5, atol=1e-6)
