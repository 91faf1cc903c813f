"""qa.store.ann: the index type follows the size, and the approximate index finds the true top 10."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import pytest

from qa.store import ann
from qa.store.faiss_store import FaissStore


def test_small_collections_get_an_exact_index() -> None:
    index, params = ann.choose_index(10_000, 384)
    assert params["type"] == "flat"
    assert not ann.needs_training(index)
    assert index.d == 384


def test_large_collections_get_ivf_with_fp16_storage() -> None:
    index, params = ann.choose_index(1_000_000, 384)
    assert params["type"] == "ivf"
    assert params["storage"] == "fp16"
    assert params["nlist"] == 2000
    assert 8 <= params["nprobe"] <= params["nlist"]
    assert ann.needs_training(index)
    assert faiss.extract_index_ivf(index).nprobe == params["nprobe"]


def test_threshold_is_the_boundary() -> None:
    assert ann.choose_index(ann.EXACT_BELOW - 1, 8)[1]["type"] == "flat"
    assert ann.choose_index(ann.EXACT_BELOW, 8)[1]["type"] == "ivf"


def test_too_few_vectors_to_train_is_an_error() -> None:
    index, params = ann.choose_index(100_000, 8, exact_below=10)
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


def test_ivf_recall_at_10_on_clustered_vectors(
    clustered: tuple[np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    data, queries = clustered
    exact = faiss.IndexFlatIP(data.shape[1])
    exact.add(data)
    _, truth = exact.search(queries, 10)

    ids = np.arange(len(data)) + 1000  # ids are kept, not positions
    index, params = ann.build_index(data, ids, exact_below=1_000)
    assert params["type"] == "ivf"
    _, found = index.search(queries, 10)
    assert ann.recall_at_k(found - 1000, truth) >= 0.95

    # nprobe survives a save and load, and the store wrapper searches it like a flat index.
    faiss.write_index(index, str(tmp_path / "ivf.faiss"))
    store = FaissStore.load(tmp_path / "ivf.faiss")
    assert faiss.extract_index_ivf(store._index).nprobe == params["nprobe"]
    scores, got = store.search(queries[:1], 10)
    assert set(got[0].tolist()) == set(found[0].tolist())
    assert np.all(np.diff(scores[0]) <= 1e-6)  # best first
    assert store.remove(np.array([int(got[0][0])])) == 1


def test_flat_build_is_exact(clustered: tuple[np.ndarray, np.ndarray]) -> None:
    data, queries = clustered
    index, params = ann.build_index(data[:2000])
    assert params["type"] == "flat"
    exact = faiss.IndexFlatIP(data.shape[1])
    exact.add(data[:2000])
    _, truth = exact.search(queries, 10)
    _, found = index.search(queries, 10)
    assert ann.recall_at_k(found, truth) == 1.0


def test_recall_at_k_counts_overlap() -> None:
    truth = np.array([[1, 2, 3, 4]])
    assert ann.recall_at_k(np.array([[1, 2, 9, 8]]), truth, k=4) == 0.5


def test_store_build_follows_the_size(clustered: tuple[np.ndarray, np.ndarray]) -> None:
    data, queries = clustered
    small, p_small = FaissStore.build(np.arange(500), data[:500], data.shape[1])
    assert p_small["type"] == "flat" and len(small) == 500
    big, p_big = FaissStore.build(np.arange(len(data)), data, data.shape[1], exact_below=1_000)
    assert p_big["type"] == "ivf" and len(big) == len(data)
    _, ids = big.search(queries[:3], 5)
    assert ids.shape == (3, 5) and (ids >= 0).all()
    empty, p_empty = FaissStore.build(np.arange(0), np.zeros((0, 8)), 8)
    assert len(empty) == 0 and p_empty["type"] == "flat"
