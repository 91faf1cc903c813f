"""Which FAISS index for how many vectors: exact below a threshold, IVF with fp16 storage above.

Exact inner product over float32 is the right answer while a scan is cheap (about 5 ms for 50k
384-d vectors on one core). Past that, an inverted file (k-means cells, `nprobe` of them scanned
per query) over float16 vectors keeps search at a few milliseconds and halves the memory: 1M
MiniLM vectors are 768 MB instead of 1.5 GB. fp16 changes scores by ~1e-3, so recall is set by the
cells probed, not by the storage. The choice and its parameters go into the index manifest.

Measured figures (recall@10 vs exact, latency, memory at 10k/100k/1M): docs/benchmarks.md.
"""

from __future__ import annotations

import math
import threading
from typing import Any

import faiss
import numpy as np

EXACT_BELOW = 50_000  # vectors; below this a flat scan is fast enough and exact
MIN_POINTS_PER_CELL = 39  # FAISS warns below this many training points per centroid
TRAIN_POINTS_PER_CELL = 64  # k-means sample: enough for stable cells, far cheaper than all of n
# A new version builds on the previous one's cells while fewer than this share of its vectors were
# added or removed (summed over versions) since they were trained; past it, train afresh.
REUSE_CELLS_BELOW = 0.1

_threads = threading.local()


def one_thread() -> None:
    """Run FAISS on one OpenMP thread in the calling thread.

    OpenMP keeps the thread count per calling thread: set once at import, it held only for the
    importing thread, and every request thread started a team of all cores for each search. On
    2 cores that team waits for the core the model or another request holds, which made tiny flat
    searches cost as much as the IVF ones (docs/benchmarks-archive.md, session 12). One thread was
    also measured faster for the searches themselves (docs/benchmarks.md).
    """
    if not getattr(_threads, "set", False):
        faiss.omp_set_num_threads(1)
        _threads.set = True


def ivf_params(n: int) -> dict[str, Any]:
    """nlist ≈ 2·√n cells (≈1000 vectors each at 1M), and nprobe scanning ~3% of them."""
    nlist = max(16, int(2 * math.sqrt(n)))
    nprobe = max(8, min(nlist, math.ceil(nlist * 0.03)))
    return {"nlist": nlist, "nprobe": nprobe}


def plan(n: int, exact_below: int = EXACT_BELOW) -> dict[str, Any]:
    """How `n` vectors will be indexed, as the manifest records it: exact below `exact_below`,
    IVF over fp16 (nlist ≈ 2·√n, nprobe ≈ 3% of the cells) above.

    Flat also when there are too few vectors to train the IVF cells (a threshold set very low).
    """
    if n >= exact_below:
        # Fewer cells than 2·√n when n is small, so each has enough points to train on.
        nlist = min(ivf_params(n)["nlist"], n // MIN_POINTS_PER_CELL)
        if nlist >= 16:
            nprobe = max(8, min(nlist, math.ceil(nlist * 0.03)))
            return {
                "type": "ivf",
                "metric": "ip",
                "storage": "fp16",
                "exact_below": exact_below,
                "nlist": nlist,
                "nprobe": nprobe,
            }
    return {"type": "flat", "metric": "ip", "storage": "fp32", "exact_below": exact_below}


def empty_index(params: dict[str, Any], dim: int) -> faiss.Index:
    """An empty index of the type `params` (from `plan`) names; int64 ids either way. An IVF
    index must be trained before vectors are added: `train_and_add` does both."""
    if params.get("type") != "ivf":
        return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
    return _ivf(dim, int(params["nlist"]), int(params["nprobe"]))


def from_plan(params: dict[str, Any], ids: np.ndarray, vectors: np.ndarray) -> faiss.Index:
    """An index built as `params` (from `plan`, e.g. read from a manifest) says, filled."""
    index = empty_index(params, vectors.shape[1])
    train_and_add(index, params, ids, vectors)
    return index


def _ivf(dim: int, nlist: int, nprobe: int) -> faiss.IndexIVFScalarQuantizer:
    quantizer = faiss.IndexFlatIP(dim)
    ivf = faiss.IndexIVFScalarQuantizer(
        quantizer, dim, nlist, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT
    )
    ivf.nprobe = nprobe  # stored by faiss.write_index with the index
    return ivf


def reuse_cells(index: faiss.Index, params: dict[str, Any], dim: int) -> faiss.Index | None:
    """An empty IVF index with `index`'s trained cells, if they fit `params`; else None.

    An update changes a few documents: the k-means cells of the version before still describe the
    data, so the new version only assigns its vectors to them (what adding costs anyway).
    """
    if not isinstance(index, faiss.IndexIVFScalarQuantizer) or not index.is_trained:
        return None
    if index.d != dim or index.nlist != int(params["nlist"]):
        return None
    if params.get("storage", "fp16") != "fp16" or index.sq.qtype != faiss.ScalarQuantizer.QT_fp16:
        return None
    # The quantizer with its centroids, and the vectors, which reset() then empties.
    cells = faiss.clone_index(index)
    cells.reset()
    faiss.extract_index_ivf(cells).nprobe = int(params["nprobe"])
    return cells


def train_sample(vectors: np.ndarray, nlist: int, seed: int = 0) -> np.ndarray:
    """A random subset of at most TRAIN_POINTS_PER_CELL × nlist rows (all rows if fewer)."""
    want = TRAIN_POINTS_PER_CELL * nlist
    if len(vectors) <= want:
        return vectors
    rows = np.random.default_rng(seed).choice(len(vectors), size=want, replace=False)
    return vectors[np.sort(rows)]


def train_and_add(
    index: faiss.Index, params: dict[str, Any], ids: np.ndarray, vectors: np.ndarray
) -> None:
    """Train `index` on (a sample of) `vectors` if it needs it, then add them under `ids`."""
    one_thread()
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if not index.is_trained:
        nlist = int(params["nlist"])
        if len(vectors) < MIN_POINTS_PER_CELL * nlist:
            raise ValueError(
                f"{len(vectors)} vectors are too few to train {nlist} IVF cells "
                f"(need {MIN_POINTS_PER_CELL * nlist})"
            )
        index.train(train_sample(vectors, nlist))
    index.add_with_ids(vectors, np.asarray(ids, dtype=np.int64))


ADD_BATCH = 65_536  # rows converted to float32 at once while filling an index


def build(params: dict[str, Any], vectors: np.ndarray) -> faiss.Index:
    """An index as `params` says over `vectors` (ids = rows), e.g. a mapped float16 array: trained
    on a sample, then filled a batch at a time, so no float32 copy of all of them is made."""
    one_thread()
    index = empty_index(params, vectors.shape[1])
    if params.get("type") == "ivf":
        nlist = int(params["nlist"])
        sample = train_sample(np.asarray(vectors), nlist)
        # A group read with holes holds their rows as zeros (qa.store.files): they are never
        # searched, and trained on they would spend a cell on the origin.
        real = sample[np.any(sample != 0, axis=1)]
        if len(real) >= nlist:  # what k-means needs; fewer per cell than FAISS likes only warns
            sample = real
        index.train(np.ascontiguousarray(sample, dtype=np.float32))
    for at in range(0, len(vectors), ADD_BATCH):
        rows = np.ascontiguousarray(vectors[at : at + ADD_BATCH], dtype=np.float32)
        index.add_with_ids(rows, np.arange(at, at + len(rows), dtype=np.int64))
    return index


def clustered_sample(
    centres: np.ndarray, n: int, noise: float, rng: np.random.Generator
) -> np.ndarray:
    """`n` unit vectors near random rows of `centres`: centre + gaussian noise, renormalised.

    Benchmarks need vectors shaped like real embeddings (clustered by topic); uniform random
    vectors in 384 dimensions are all nearly orthogonal and make every ANN index look broken.
    """
    rows = rng.integers(0, len(centres), size=n)
    out = centres[rows] + rng.standard_normal((n, centres.shape[1]), dtype=np.float32) * noise
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return np.ascontiguousarray(out, dtype=np.float32)


def recall_at_k(found: np.ndarray, truth: np.ndarray, k: int = 10) -> float:
    """Mean share of the true top-k ids that the approximate top-k found, over queries."""
    hits = sum(
        len(set(f[:k].tolist()) & set(t[:k].tolist())) for f, t in zip(found, truth, strict=True)
    )
    return hits / (k * len(truth))
