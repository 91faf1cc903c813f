"""qa.embed.batching: the micro-batcher shares forward passes and returns each caller its rows."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from fakes import HashEmbedder

from qa.embed import Embedder, MicroBatcher


class SlowCounting(Embedder):
    def __init__(self) -> None:
        self.inner = HashEmbedder()
        self.name, self.dim = "slow", self.inner.dim
        self.calls: list[int] = []
        self.gate = threading.Event()

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        self.gate.wait(5)  # hold the first pass so the others queue up behind it
        self.calls.append(len(texts))
        return self.inner.embed_batch(texts)


def test_concurrent_callers_share_passes_and_get_their_own_rows() -> None:
    inner = SlowCounting()
    batcher = MicroBatcher(inner)
    questions = [[f"question {i}", f"content {i}"] for i in range(16)]
    with ThreadPoolExecutor(16) as pool:
        futures = [pool.submit(batcher.embed_batch, q) for q in questions]
        inner.gate.set()
        results = [f.result(timeout=10) for f in futures]
    for q, got in zip(questions, results, strict=True):
        np.testing.assert_allclose(got, inner.inner.embed_batch(q))
    assert sum(inner.calls) == 32
    assert len(inner.calls) < 16  # at least some passes were shared


def test_a_failing_pass_fails_its_callers_without_hanging() -> None:
    class Broken(HashEmbedder):
        def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
            raise RuntimeError("model exploded")

    with pytest.raises(RuntimeError, match="model exploded"):
        MicroBatcher(Broken()).embed_batch(["x"])
