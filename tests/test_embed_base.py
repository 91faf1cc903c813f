"""qa.embed.base: `embed` on top of `embed_batch` keeps the order of the texts, even when empty."""

from __future__ import annotations

import numpy as np
from fakes import HashEmbedder


def test_hash_embedder_is_normalised_and_deterministic() -> None:
    e = HashEmbedder()
    a, b = e.embed_batch(["robots on Mars", "robots on Mars"])
    assert np.allclose(a, b) and np.isclose(np.linalg.norm(a), 1.0)
    assert e.embed([]).shape == (0, e.dim)


def test_embed_returns_rows_in_the_order_of_the_texts() -> None:
    e = HashEmbedder()
    texts = ["a much longer text about robots", "short", "a middling text", "x"]
    np.testing.assert_allclose(e.embed(texts, batch_size=2), e.embed_batch(texts))
