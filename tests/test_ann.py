"""qa.store.ann: the index type follows the size, and the approximate index finds the true top 10."""

from __future__ import annotations

import threading

import faiss
import numpy as np
import pytest

from qa.store import ann
from qa.store.faiss_store import FaissStore


def test_small_collections_get_an_exact_index() -> None:
    params = ann.plan(10_000)
    assert params["type"] == "flat"
    index = ann.empty_index(params, 384)
    assert index.is_trained and index.d == 384


def test_large_collections_get_ivf_with_fp16_storage() -> None:
    params = ann.plan(1_000_000)
    assert params["type"] == "ivf"
    assert params["storage"] == "fp16"
    assert params["nlist"] == 2000
    assert 8 <= params["nprobe"] <= params["nlist"]
    index = ann.empty_index(params, 384)
    assert not index.is_trained
    assert faiss.extract_index_ivf(index).nprobe == params["nprobe"]


def test_threshold_is_the_boundary() -> None:
    assert ann.plan(ann.EXACT_BELOW - 1)["type"] == "flat"
    assert ann.plan(ann.EXACT_BELOW)["type"] == "ivf"


def test_too_few_vectors_to_train_is_an_error() -> None:
    params = {"type": "ivf", "nlist": 100, "nprobe": 8}
    index = ann.empty_index(params, 8)
    with pytest.raises(ValueError, match="too few"):
        ann.train_and_add(index, params, np.arange(50), np.ones((50, 8), dtype=np.float32))


@pytest.fixture(scope="module")
def clustered() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    centres = rng.standard_normal((300, 64)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    data = ann.clustered_sample(centres, 20_000, 0.1, rng)
    queries = ann.clustered_sample(centres, 100, 0.1, rng)
    return data, queries


def _truth(data: np.ndarray, queries: np.ndarray) -> np.ndarray:
    exact = faiss.IndexFlatIP(data.shape[1])
    exact.add(data)
    return exact.search(queries, 10)[1]


def test_ivf_recall_at_10_on_clustered_vectors(clustered: tuple[np.ndarray, np.ndarray]) -> None:
    data, queries = clustered
    params = ann.plan(len(data), exact_below=1_000)
    assert params["type"] == "ivf"
    ids = np.arange(len(data)) + 1000  # ids are kept, not positions
    index = ann.from_plan(params, ids, data)
    _, found = index.search(queries, 10)
    assert ann.recall_at_k(found - 1000, _truth(data, queries)) >= 0.95

    # The store wrapper searches it like a flat index, best first.
    store = FaissStore(data.shape[1], index)
    assert store.approximate and len(store) == len(data)
    scores, got = store.search(queries[:1], 10)
    assert set(got[0].tolist()) == set(found[0].tolist())
    assert np.all(np.diff(scores[0]) <= 1e-6)


def test_filtered_ivf_search_sees_every_admitted_id(
    clustered: tuple[np.ndarray, np.ndarray],
) -> None:
    """A filter keeping ids far from the query's cells still gets them back, exactly ranked."""
    data, queries = clustered
    params = ann.plan(len(data), exact_below=1_000)
    store = FaissStore.from_plan(params, np.arange(len(data)), data)
    among = np.arange(0, len(data), 997)
    scores, ids = store.search(queries[:2], 5, among=among)
    want = np.argsort(-(queries[:2] @ data[among].T), axis=1)[:, :5]
    assert (ids == among[want]).all()
    assert np.all(np.diff(scores, axis=1) <= 1e-3)


def test_ivf_training_skips_the_zero_rows_of_holes() -> None:
    """A group built from its segments holds its holes' rows as zeros; no cell goes to them
    (trained on, here they take a cell of their own: a centroid at the origin)."""
    rng = np.random.default_rng(7)
    centres = rng.standard_normal((300, 64)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    vectors = ann.clustered_sample(centres, 8_000, 0.1, rng)
    vectors[::5] = 0  # a fifth of the rows are holes
    params = ann.plan(len(vectors), exact_below=1_000)
    index = ann.build(params, vectors.astype(np.float16))
    ivf = faiss.extract_index_ivf(index)
    centroids = ivf.quantizer.reconstruct_n(0, ivf.nlist)
    assert np.linalg.norm(centroids, axis=1).min() > 0.5
    assert index.ntotal == len(vectors)  # the holes' rows are still there, under their ids


def test_flat_plan_is_exact(clustered: tuple[np.ndarray, np.ndarray]) -> None:
    data, queries = clustered
    params = ann.plan(2000)
    assert params["type"] == "flat"
    index = ann.from_plan(params, np.arange(2000), data[:2000])
    _, found = index.search(queries, 10)
    assert ann.recall_at_k(found, _truth(data[:2000], queries)) == 1.0


def test_recall_at_k_counts_overlap() -> None:
    truth = np.array([[1, 2, 3, 4]])
    assert ann.recall_at_k(np.array([[1, 2, 9, 8]]), truth, k=4) == 0.5


def test_store_from_plan_follows_the_plan(clustered: tuple[np.ndarray, np.ndarray]) -> None:
    data, queries = clustered
    small = FaissStore.from_plan(ann.plan(500), np.arange(500), data[:500])
    assert not small.approximate and len(small) == 500
    big = FaissStore.from_plan(ann.plan(len(data), 1_000), np.arange(len(data)), data)
    assert big.approximate and len(big) == len(data)
    _, ids = big.search(queries[:3], 5)
    assert ids.shape == (3, 5) and (ids >= 0).all()
    empty = FaissStore.from_plan(ann.plan(0), np.arange(0), np.zeros((0, 8), dtype=np.float32))
    assert len(empty) == 0 and empty.search(queries[:1, :8], 5)[1].shape == (1, 0)


def test_a_search_from_any_thread_runs_faiss_on_one_thread() -> None:
    # OpenMP keeps its thread count per calling thread: a request thread must not start a team
    # of every core for each search (qa.store.ann.one_thread).
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((50, 8)).astype(np.float32)
    store = FaissStore.from_plan({"type": "flat"}, np.arange(50), vectors)
    seen: list[int] = []

    def search() -> None:
        store.search(vectors[:1], 5)
        seen.append(faiss.omp_get_max_threads())

    thread = threading.Thread(target=search)
    thread.start()
    thread.join()
    assert seen == [1]
