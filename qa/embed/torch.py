"""all-MiniLM-L6-v2 through sentence-transformers, loaded from disk, never from a hub."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from qa.embed.base import DIM, MODEL_NAME, Embedder, bundled_model_path
from qa.errors import ModelUnavailable


class SentenceTransformerEmbedder(Embedder):
    """The `torch` backend: the reference the ONNX graphs are measured against."""

    dim = DIM
    backend = "torch"

    def __init__(self, name: str = MODEL_NAME, path: Path | None = None) -> None:
        self.name = name
        self.path = path or bundled_model_path()
        if not (self.path / "config.json").is_file():
            raise ModelUnavailable(f"no model weights at {self.path}")
        # Imported here: torch + sentence-transformers cost seconds, and only the model needs them.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        # torch's OpenMP threads otherwise spin after each forward pass, starving the request
        # threads (measured on /ask under load: docs/benchmarks.md).
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]

            self._model = SentenceTransformer(str(self.path), device="cpu")
        except Exception as exc:  # any failure to load is the same problem for the caller
            raise ModelUnavailable(f"cannot load model from {self.path}: {exc}") from exc
        get_dim = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        self.dim = int(get_dim() or self.dim)
        self._lock = threading.Lock()  # torch inference from many threads only adds contention

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            vecs = self._model.encode(
                list(texts),
                batch_size=max(1, len(texts)),
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vecs, dtype=np.float32)
