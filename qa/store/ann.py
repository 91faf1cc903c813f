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
from typing import Any

import faiss
import numpy as np

EXACT_BELOW = 50_000  # vectors; below this a flat scan is fast enough and exact
MIN_POINTS_PER_CELL = 39  # FAISS warns below this many training points per centroid
TRAIN_POINTS_PER_CELL = 64  # k-means sample: enough for stable cells, far cheaper than all of n
# A new version builds on the previous one's cells while fewer than this share of its vectors were
# added or removed (summed over versions) since they were trained; past it, train afresh.
REUSE_CELLS_BELOW = 0.1


def ivf_params(n: int) -> dict[str, Any]:
    """nlist ≈ 2·√n cells (≈1000 vectors each at 1M), and nprobe scanning ~3% of them."""
    nlist = max(16, int(2 * math.sqrt(n)))
    nprobe = max(8, min(nlist, math.ceil(nlist * 0.03)))
    return {"nlist": nlist, "nprobe": nprobe}


def choose_index(
    n: int, dim: int, exact_below: int = EXACT_BELOW, nprobe: int | None = None
) -> tuple[faiss.Index, dict[str, Any]]:
    """An empty index for `n` unit vectors of `dim` (inner product = cosine), and how it was chosen.

    The index takes int64 ids (`add_with_ids`) either way. An IVF index must be trained before
    vectors are added: `train_and_add` does both, and `needs_training` says whether it is due.
    """
    if n < exact_below:
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        return index, {
            "type": "flat",
            "metric": "ip",
            "storage": "fp32",
            "exact_below": exact_below,
        }
    p = ivf_params(n)
    if nprobe is not None:
        p["nprobe"] = nprobe
    ivf = _ivf(dim, p["nlist"], p["nprobe"])
    return ivf, {
        "type": "ivf",
        "metric": "ip",
        "storage": "fp16",
        "exact_below": exact_below,
        **p,
    }


def plan(n: int, exact_below: int = EXACT_BELOW) -> dict[str, Any]:
    """How `n` vectors will be indexed: what `choose_index` picks, as the manifest records it.

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


def from_plan(params: dict[str, Any], ids: np.ndarray, vectors: np.ndarray) -> faiss.Index:
    """An index built as `params` (from `plan`, e.g. read from a manifest) says, filled."""
    dim = vectors.shape[1]
    if params.get("type") != "ivf":
        flat = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        flat.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids.astype(np.int64))
        return flat
    index = _ivf(dim, int(params["nlist"]), int(params["nprobe"]))
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


def needs_training(index: faiss.Index) -> bool:
    return not bool(index.is_trained)


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
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if needs_training(index):
        nlist = int(params["nlist"])
        if len(vectors) < MIN_POINTS_PER_CELL * nlist:
            raise ValueError(
                f"{len(vectors)} vectors are too few to train {nlist} IVF cells "
                f"(need {MIN_POINTS_PER_CELL * nlist})"
            )
        index.train(train_sample(vectors, nlist))
    index.add_with_ids(vectors, np.asarray(ids, dtype=np.int64))


def build_index(
    vectors: np.ndarray, ids: np.ndarray | None = None, exact_below: int = EXACT_BELOW
) -> tuple[faiss.Index, dict[str, Any]]:
    """Choose by size, train if needed and add: the one call a store build needs."""
    n, dim = vectors.shape
    index, params = choose_index(n, dim, exact_below)
    train_and_add(index, params, np.arange(n) if ids is None else ids, vectors)
    return index, params


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
