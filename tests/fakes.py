"""Test doubles for fast unit tests of logic, not of quality."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from qa.embed import Embedder


class HashEmbedder(Embedder):
    """A deterministic bag-of-words embedder: each word adds one to a hashed coordinate."""

    backend = "hash"

    def __init__(self, dim: int = 64, name: str = "hash-bow") -> None:
        self.dim = dim
        self.name = name

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "little")
                out[row, h % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        result: np.ndarray = out / norms
        return result
