"""qa.retrieve.best_ids: the BM25 head, ranked from a sampled lower bound, equals ranking every
positive score."""

from __future__ import annotations

import numpy as np
import pytest

from qa.retrieve import best_ids


def every_positive(scores: np.ndarray, depth: int) -> np.ndarray:
    """The ranking as first written: every chunk with a query term, its best `depth`."""
    hit = np.flatnonzero(scores > 0)
    if len(hit) > depth:
        kth = np.partition(-scores[hit], depth - 1)[depth - 1]
        hit = hit[-scores[hit] <= kth]
    out: np.ndarray = hit[np.argsort(-scores[hit], kind="stable")[:depth]]
    return out


@pytest.mark.parametrize("seed", range(40))
def test_best_ids_equal_ranking_every_positive_score(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 5000))
    depth = int(rng.integers(1, 120))
    # Few distinct values (ties at the cut), mostly zeros or mostly positive, or one big head.
    kind = seed % 4
    if kind == 0:
        scores = rng.integers(0, 4, n).astype(np.float32)
    elif kind == 1:
        scores = np.where(rng.random(n) < 0.02, rng.random(n), 0).astype(np.float32)
    elif kind == 2:
        scores = rng.random(n).astype(np.float32)
    else:
        scores = np.zeros(n, np.float32)
        scores[: min(n, depth * 3)] = 5.0  # every top score lies outside the sample's reach
        scores[rng.integers(0, n, 3)] = 7.0
    got = best_ids(scores, depth)
    np.testing.assert_array_equal(got, every_positive(scores, depth))


def test_no_positive_score_ranks_nothing() -> None:
    assert len(best_ids(np.zeros(1000, np.float32), 80)) == 0
