"""FAISS behind a small interface: add / remove / search / save / load."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from qa.errors import StorageError

# On 2 cores FAISS's OpenMP threads fight torch's; one thread was measured faster (19.6 → 11.3 ms).
faiss.omp_set_num_threads(1)


class VectorStore(ABC):
    dim: int

    @abstractmethod
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None: ...

    @abstractmethod
    def remove(self, ids: np.ndarray) -> int: ...

    @abstractmethod
    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids), each of shape (len(queries), k); missing slots have id -1."""

    @abstractmethod
    def save(self, path: Path) -> None: ...

    @abstractmethod
    def __len__(self) -> int: ...


class FaissStore(VectorStore):
    """Exact inner product over unit vectors (cosine), with stable int64 ids."""

    def __init__(self, dim: int, index: faiss.Index | None = None, drift: int = 0) -> None:
        self.dim = dim
        # IVF: vectors added or removed, over versions, since its cells were trained (ann.reuse_cells)
        self.drift = drift
        self._index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids) == 0:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise StorageError(f"vectors of shape {vectors.shape} do not fit dimension {self.dim}")
        self._index.add_with_ids(vectors, np.asarray(ids, dtype=np.int64))

    def remove(self, ids: np.ndarray) -> int:
        return int(self._index.remove_ids(np.asarray(ids, dtype=np.int64)))  # type: ignore[arg-type]

    def search(
        self, queries: np.ndarray, k: int, among: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top `k` per query; with `among`, only those ids are considered (a filter).

        An IVF index then scans every cell: a filter that keeps few vectors would otherwise find
        next to none in the `nprobe` cells nearest the query. The selector skips the rest.
        """
        size = len(self) if among is None else min(len(self), len(among))
        k = max(1, min(k, size))
        if size == 0:
            n = len(queries)
            return np.zeros((n, 0), dtype=np.float32), np.zeros((n, 0), dtype=np.int64)
        q = np.ascontiguousarray(queries, dtype=np.float32)
        if among is None:
            scores, ids = self._index.search(q, k)
            return scores, ids
        selector = faiss.IDSelectorBatch(np.asarray(among, dtype=np.int64))
        params: Any
        if self.approximate:
            params = faiss.SearchParametersIVF()
            params.nprobe = int(faiss.extract_index_ivf(self._index).nlist)
        else:
            params = faiss.SearchParameters()
        params.sel = selector
        scores, ids = self._index.search(q, k, params=params)
        return scores, ids

    @property
    def index(self) -> faiss.Index:
        """The FAISS index itself (to keep a trained one on disk, qa.store.ivf_file)."""
        return self._index

    @property
    def approximate(self) -> bool:
        """An IVF index (see qa.store.ann), not an exact flat scan."""
        return not isinstance(self._index, faiss.IndexIDMap2)

    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of everything stored, in storage order (exact: the index is flat)."""
        n = len(self)
        if n == 0:
            return np.zeros(0, dtype=np.int64), np.zeros((0, self.dim), dtype=np.float32)
        idmap: Any = self._index  # an IndexIDMap2 around a flat index
        ids = faiss.vector_to_array(idmap.id_map).astype(np.int64)
        inner = faiss.downcast_index(idmap.index)
        return ids, np.asarray(inner.reconstruct_n(0, n), dtype=np.float32)

    def save(self, path: Path) -> None:
        try:
            faiss.write_index(self._index, str(path))
        except RuntimeError as exc:
            raise StorageError(f"cannot write vector index {path}: {exc}") from exc

    @classmethod
    def build(
        cls, ids: np.ndarray, vectors: np.ndarray, dim: int, exact_below: int | None = None
    ) -> tuple[FaissStore, dict[str, Any]]:
        """A store whose index type follows the size (qa.store.ann), filled; and how it chose.

        Exact below `ann.EXACT_BELOW` vectors (what `FaissStore(dim)` gives), IVF over fp16
        above. The params belong in the manifest (`manifest["ann"]`).
        """
        from qa.store import ann

        vectors = np.asarray(vectors, dtype=np.float32).reshape(-1, dim)
        if len(vectors) == 0:
            return cls(dim), ann.choose_index(0, dim)[1]
        index, params = ann.build_index(
            vectors, np.asarray(ids, dtype=np.int64), exact_below or ann.EXACT_BELOW
        )
        return cls(dim, index), params

    @classmethod
    def from_plan(cls, params: dict[str, Any], ids: np.ndarray, vectors: np.ndarray) -> FaissStore:
        """A filled store of the type `params` (qa.store.ann.plan, from the manifest) names."""
        from qa.store import ann

        dim = vectors.shape[1]
        if len(vectors) == 0:
            return cls(dim)
        return cls(dim, ann.from_plan(params, np.asarray(ids, dtype=np.int64), vectors))

    @classmethod
    def load(cls, path: Path) -> FaissStore:
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as exc:
            raise StorageError(f"cannot read vector index {path}: {exc}") from exc
        return cls(index.d, index)

    def __len__(self) -> int:
        return int(self._index.ntotal)
