"""pgvector behind the two small contracts retrieval and the indexer use: `VectorIndex` (chunk
and question vectors, searched in SQL through HNSW) and the embedding cache (a table).

Ids of a `VectorIndex` are positions in the version (documents in doc-id order, then chunks in
their order). A row's `cid` is `doc_key << 20 | local` (a stored, generated column), so positions
and rows map both ways without reading anything: a version knows its documents' keys.

Search paths (docs/benchmarks.md has the measured trade-off):
- no filter: HNSW (`ORDER BY embedding::vector(dim) <#> q`), restricted to the version's
  documents, with pgvector's iterative scan so the restriction never starves the top k;
- a filter admitting few rows (`among`, up to `exact_among`: 5,000 or 2% of the version): an
  exact scan of those rows by primary key, ordered by the true inner product;
- a filter admitting many: the unfiltered HNSW top few × k, filtered in process, growing until
  k pass (`overfetch`), else exact.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from qa.store.cache import EmbeddingCache, text_key

if TYPE_CHECKING:
    from qa.store.postgres.store import PgStore

LOCAL_BITS = 20  # a document holds fewer than 2**20 chunks (and question keys)
# Up to this many admitted rows (or this share of the version), a filtered search is exact: at
# 1M, exact over 1% of the rows is as fast as the over-fetch and exact (docs/benchmarks.md).
EXACT_AMONG = 5_000
EXACT_SHARE = 0.02


def cids_of(keys: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The row ids of a version's positions: each document's key, then its local ids."""
    local = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(
        np.cumsum(counts) - counts, counts
    )
    out: np.ndarray = np.repeat(keys.astype(np.int64), counts) << LOCAL_BITS | local
    return out


class PgVectors:
    """One version's chunk (or question) vectors, searched in PostgreSQL."""

    def __init__(
        self, store: PgStore, table: str, dim: int, keys: Sequence[int], counts: Sequence[int]
    ) -> None:
        self._store = store
        self._table = table
        self._dim = dim
        self._keys = np.asarray(keys, dtype=np.int64)
        counts_a = np.asarray(counts, dtype=np.int64)
        self._cids = cids_of(self._keys, counts_a)
        bases = np.cumsum(counts_a) - counts_a
        self._base_of = dict(zip(self._keys.tolist(), bases.tolist(), strict=True))
        self._key_list = self._keys.tolist()
        self.exact_among = max(EXACT_AMONG, int(EXACT_SHARE * len(self._cids)))

    @property
    def approximate(self) -> bool:
        return True  # HNSW: a filter must be passed as `among`

    def __len__(self) -> int:
        return len(self._cids)

    def search(
        self, queries: np.ndarray, k: int, among: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        n = len(queries)
        scores = np.full((n, k), -np.inf, dtype=np.float32)
        ids = np.full((n, k), -1, dtype=np.int64)
        if k <= 0 or len(self._cids) == 0:
            return scores[:, :0], ids[:, :0]
        wanted = None if among is None else self._cids[np.asarray(among, dtype=np.int64)]
        for row, q in enumerate(np.asarray(queries, dtype=np.float32)):
            found = self._one(q, k, wanted, None if among is None else np.asarray(among, np.int64))
            for j, (cid, score) in enumerate(found[:k]):
                ids[row, j] = self._position(cid)
                scores[row, j] = score
        width = max((int((ids[r] >= 0).sum()) for r in range(n)), default=0)
        return scores[:, :width], ids[:, :width]

    def _position(self, cid: int) -> int:
        return int(self._base_of[cid >> LOCAL_BITS]) + (cid & ((1 << LOCAL_BITS) - 1))

    def _one(
        self, q: np.ndarray, k: int, wanted: np.ndarray | None, among: np.ndarray | None
    ) -> list[tuple[int, float]]:
        if wanted is None or among is None:
            return self.hnsw(q, k, None)
        if len(wanted) == 0:
            return []
        if len(wanted) <= self.exact_among:
            return self.exact(q, k, wanted)
        return self.overfetch(q, k, among) or self.exact(q, k, wanted)

    def overfetch(self, q: np.ndarray, k: int, among: np.ndarray) -> list[tuple[int, float]]:
        """A broad filter: the unfiltered HNSW top `limit` (limit ≈ 2k / the admitted share),
        filtered here, the limit growing until k pass; [] if they never do (then: exact).

        Passing tens of thousands of ids to SQL costs more than the search (the planner then
        scans them exactly: docs/benchmarks.md), and a broad filter admits most of the top."""
        admitted = np.zeros(len(self._cids), dtype=bool)
        admitted[among] = True
        limit = min(len(self._cids), max(4 * k, int(2 * k * len(self._cids) / len(among))))
        for _ in range(3):
            hits = [(c, s) for c, s in self.hnsw(q, limit, None) if admitted[self._position(c)]]
            if len(hits) >= k or limit >= len(self._cids):
                return hits[:k]
            limit = min(len(self._cids), limit * 4)
        return []

    def hnsw(self, q: np.ndarray, k: int, wanted: np.ndarray | None) -> list[tuple[int, float]]:
        """Top k through the HNSW index (approximate), optionally among `wanted` row ids."""
        where = "doc_key = ANY(%(keys)s)" if wanted is None else "cid = ANY(%(cids)s)"
        query = (
            f"SELECT cid, embedding::vector({self._dim}) <#> %(q)s::vector({self._dim}) AS d"
            f" FROM {self._table} WHERE dim = {self._dim} AND {where} ORDER BY d LIMIT %(k)s"
        )
        # Lists: pgvector adapts every numpy array as a vector.
        params = {"q": q, "k": k, "keys": self._key_list, "cids": _ints(wanted)}
        rows = self._store.fetch(query, params)
        # relaxed_order: the iterative scan may return rows slightly out of order.
        return sorted(((int(c), -float(d)) for c, d in rows), key=lambda r: -r[1])

    def exact(self, q: np.ndarray, k: int, wanted: np.ndarray) -> list[tuple[int, float]]:
        """Top k among `wanted` by the true inner product (the HNSW index is on a cast, so
        ordering by the uncast column cannot use it)."""
        query = (
            f"SELECT cid, embedding <#> %(q)s::vector AS d FROM {self._table}"
            " WHERE cid = ANY(%(cids)s) ORDER BY d LIMIT %(k)s"
        )
        rows = self._store.fetch(query, {"q": q, "k": k, "cids": _ints(wanted)})
        return [(int(c), -float(d)) for c, d in rows]


def _ints(a: np.ndarray | None) -> list[int] | None:
    return None if a is None else [int(x) for x in a.tolist()]


class PgCache(EmbeddingCache):
    """The embedding cache as a table shared by every process on the database."""

    def __init__(self, store: PgStore, model: str, dim: int) -> None:
        # No SQLite file: every method below is the table's.
        self._store = store
        self.model = model
        self.dim = dim

    def get_many(self, texts: Iterable[str]) -> dict[str, np.ndarray]:
        keys = {text_key(self.model, t): t for t in texts}
        if not keys:
            return {}
        rows = self._store.fetch(
            "SELECT key, vec FROM qa_embeddings WHERE key = ANY(%s)", (list(keys),)
        )
        size = self.dim * 4
        return {
            keys[bytes(key)]: np.frombuffer(bytes(vec), dtype=np.float32)
            for key, vec in rows
            if len(vec) == size
        }

    def put_many(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        if not len(texts):
            return
        keys = [text_key(self.model, t) for t in texts]
        vecs = [np.ascontiguousarray(v, dtype=np.float32).tobytes() for v in vectors]
        # Two workers embedding the same text (a sentence shared by two documents) keep one.
        self._store.execute(
            "INSERT INTO qa_embeddings (key, vec) SELECT * FROM unnest(%s::bytea[], %s::bytea[])"
            " ON CONFLICT (key) DO NOTHING",
            (keys, vecs),
        )

    def prune(self, keep: set[bytes], vacuum: bool = True) -> int:
        return self._store.execute(
            "DELETE FROM qa_embeddings WHERE NOT (key = ANY(%s))", (list(keep),)
        )

    def __len__(self) -> int:
        rows = self._store.fetch("SELECT count(*) FROM qa_embeddings", ())
        return int(rows[0][0])

    def close(self) -> None:
        return None  # the connections belong to the store's pool
