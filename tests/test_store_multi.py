"""qa.store.multi: a search over one store per group equals one exact store over all vectors,
with and without a filter (real FAISS, random unit vectors)."""

from __future__ import annotations

import numpy as np

from qa.store.faiss_store import FaissStore
from qa.store.multi import GroupedStore


def unit(rng: np.random.Generator, n: int, dim: int = 16) -> np.ndarray:
    v = rng.standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_groups_search_like_one_store_over_every_vector() -> None:
    rng = np.random.default_rng(0)
    sizes = [40, 7, 0, 19]
    parts = [unit(rng, n) for n in sizes]
    # Global ids interleave the groups (as documents in manifest order do).
    ids = rng.permutation(sum(sizes))
    maps = np.split(ids, np.cumsum(sizes)[:-1])
    whole = np.zeros((sum(sizes), 16), np.float32)
    for m, p in zip(maps, parts, strict=True):
        whole[m] = p
    group_of = np.zeros(len(ids), np.int64)
    row_of = np.zeros(len(ids), np.int64)
    for g, m in enumerate(maps):
        group_of[m], row_of[m] = g, np.arange(len(m))

    def locate(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return group_of[x], row_of[x]

    stores = [FaissStore.from_plan({"type": "flat"}, np.arange(len(p)), p) for p in parts]
    grouped = GroupedStore(stores, maps, locate)
    exact = FaissStore.from_plan({"type": "flat"}, np.arange(len(whole)), whole)
    assert len(grouped) == len(whole) and not grouped.approximate
    q = unit(rng, 5)
    for k in (1, 10, 100):
        s1, i1 = grouped.search(q, k)
        s2, i2 = exact.search(q, k)
        assert np.array_equal(i1, i2) and np.allclose(s1, s2)
    among = rng.choice(len(whole), size=9, replace=False)
    s1, i1 = grouped.search(q, 20, among)
    s2, i2 = exact.search(q, 20, among)
    assert np.array_equal(i1, i2) and np.allclose(s1, s2)
    assert set(i1[i1 >= 0].tolist()) == set(among.tolist())
    s, i = grouped.search(q, 5, np.zeros(0, np.int64))
    assert s.shape == i.shape == (5, 0)
