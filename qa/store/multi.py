"""One `VectorIndex` (qa.store.base) over one store per group (qa.store.groups).

A version is a few groups, each with its own FAISS store over its rows: exact for a small group,
IVF (trained once, kept in the group's folder and mapped, qa.store.ivf_file) for a large one. A
search asks every group for its top k and keeps the best k overall; a filter is split into each
group's rows. So adding one interview adds one small store, and no store of the other groups is
rebuilt, trained or copied.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from qa.store.faiss_store import FaissStore

_EMPTY = np.float32(-np.finfo(np.float32).max)
# global ids → (group index, row in that group), for a filter's ids
Locate = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


class GroupedStore:
    """Satisfies `VectorIndex`: ids are the version's (global) ids."""

    def __init__(
        self,
        stores: Sequence[FaissStore],
        to_global: Sequence[np.ndarray],
        locate: Locate,
        holes: Sequence[np.ndarray] | None = None,
    ) -> None:
        """`holes`: per store, its rows of documents the version no longer has (never
        returned: a search excludes them with a selector, qa.store.groups)."""
        self._stores = list(stores)
        self._to_global = [np.asarray(m, dtype=np.int64) for m in to_global]
        self._locate = locate
        given: list[np.ndarray | None] = list(holes) if holes else [None] * len(self._stores)
        self._holes = [
            np.asarray(h, dtype=np.int64) if h is not None and len(h) else None for h in given
        ]
        self._size = sum(
            len(s) - (0 if h is None else len(h))
            for s, h in zip(self._stores, self._holes, strict=True)
        )

    @property
    def stores(self) -> list[FaissStore]:
        return list(self._stores)

    @property
    def approximate(self) -> bool:
        return any(s.approximate for s in self._stores)

    def __len__(self) -> int:
        return self._size

    def search(
        self, queries: np.ndarray, k: int, among: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        n = len(queries)
        scores: list[np.ndarray] = []
        ids: list[np.ndarray] = []
        if among is not None:
            group, row = self._locate(np.asarray(among, dtype=np.int64))
        for g, store in enumerate(self._stores):
            if not len(store):
                continue
            local = None
            if among is not None:
                # Global ids name rows in the version only: a filter never reaches a hole.
                local = row[group == g]
                if not len(local):
                    continue
            holes = self._holes[g] if local is None else None
            if holes is not None and len(holes) >= len(store):
                continue
            s, i = store.search(queries, k, local, holes)
            found = i >= 0
            scores.append(np.where(found, s, -np.inf).astype(np.float32))
            ids.append(np.where(found, self._to_global[g][np.where(found, i, 0)], -1))
        if not scores:
            return np.zeros((n, 0), dtype=np.float32), np.zeros((n, 0), dtype=np.int64)
        all_s = np.concatenate(scores, axis=1)
        all_i = np.concatenate(ids, axis=1)
        if len(scores) > 1:
            order = np.argsort(-all_s, axis=1, kind="stable")[:, :k]
            all_s = np.take_along_axis(all_s, order, axis=1)
            all_i = np.take_along_axis(all_i, order, axis=1)
        # Slots no group filled: id -1 and FAISS's lowest score, as a single store returns them.
        all_s = np.where(all_i < 0, _EMPTY, all_s)
        return all_s[:, :k].astype(np.float32), all_i[:, :k].astype(np.int64)
