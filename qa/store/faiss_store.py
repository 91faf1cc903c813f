"""FAISS as a `VectorIndex` (qa.store.base): exact inner product, or IVF over fp16 (qa.store.ann)."""

from __future__ import annotations

from typing import Any

import faiss
import numpy as np

from qa.store import ann


class FaissStore:
    """Unit vectors (cosine) with int64 ids; satisfies `qa.store.base.VectorIndex`."""

    def __init__(self, dim: int, index: faiss.Index | None = None, drift: int = 0) -> None:
        self.dim = dim
        # IVF: vectors added or removed, over versions, since its cells were trained (ann.reuse_cells)
        self.drift = drift
        self._index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        # The last `exclude` array searched with and its selector (`_not`), replaced whole.
        self._excluding: tuple[np.ndarray, tuple[Any, Any]] | None = None

    @classmethod
    def from_plan(cls, params: dict[str, Any], ids: np.ndarray, vectors: np.ndarray) -> FaissStore:
        """A filled store of the type `params` (qa.store.ann.plan, from the manifest) names."""
        dim = vectors.shape[1]
        if len(vectors) == 0:
            return cls(dim)
        return cls(dim, ann.from_plan(params, np.asarray(ids, dtype=np.int64), vectors))

    def search(
        self,
        queries: np.ndarray,
        k: int,
        among: np.ndarray | None = None,
        exclude: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top `k` per query; with `among`, only those ids are considered (a filter); ids in
        `exclude` never are (rows of removed documents a group still holds, qa.store.groups).

        With `among`, an IVF index scans every cell: a filter that keeps few vectors would
        otherwise find next to none in the `nprobe` cells nearest the query. The selector skips
        the rest. `exclude` alone keeps the index's own `nprobe`: the excluded rows are skipped
        inside the cells it scans, so they never take a place in the top k.
        """
        excluded = 0 if exclude is None else len(exclude)
        size = len(self) - excluded if among is None else min(len(self), len(among))
        k = max(1, min(k, size))
        if size <= 0:
            n = len(queries)
            return np.zeros((n, 0), dtype=np.float32), np.zeros((n, 0), dtype=np.int64)
        q = np.ascontiguousarray(queries, dtype=np.float32)
        ann.one_thread()
        if among is None and not excluded:
            scores, ids = self._index.search(q, k)
            return scores, ids
        # The selectors are kept referenced until the search returns (FAISS holds raw pointers).
        keep: list[Any] = []
        selector: Any = None
        if among is not None:
            selector = faiss.IDSelectorBatch(np.asarray(among, dtype=np.int64))
            keep.append(selector)
        if exclude is not None and excluded:
            others, removed = self._not(exclude)
            keep += [others, removed]
            selector = others if selector is None else faiss.IDSelectorAnd(selector, others)
            keep.append(selector)
        params: Any
        if self.approximate:
            params = faiss.SearchParametersIVF()
            ivf = faiss.extract_index_ivf(self._index)
            params.nprobe = int(ivf.nlist if among is not None else ivf.nprobe)
        else:
            params = faiss.SearchParameters()
        params.sel = selector
        scores, ids = self._index.search(q, k, params=params)
        del keep
        return scores, ids

    def _not(self, exclude: np.ndarray) -> tuple[Any, Any]:
        """A selector of every id but `exclude`'s (and the one it wraps), built once per
        array: a version passes the same one at every search (a few thousand ids to hash)."""
        hit = self._excluding
        if hit is not None and hit[0] is exclude:
            return hit[1]
        removed = faiss.IDSelectorBatch(np.asarray(exclude, dtype=np.int64))
        pair = (faiss.IDSelectorNot(removed), removed)
        self._excluding = (exclude, pair)
        return pair

    @property
    def index(self) -> faiss.Index:
        """The FAISS index itself (to keep a trained one on disk, qa.store.ivf_file)."""
        return self._index

    @property
    def approximate(self) -> bool:
        """An IVF index (see qa.store.ann), not an exact flat scan."""
        return not isinstance(self._index, faiss.IndexIDMap2)

    def __len__(self) -> int:
        return int(self._index.ntotal)
