"""QA_EMBEDDER=onnx: the int8 ONNX MiniLM gives the torch model's vectors, and the manifest says which."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np
import pytest

from qa.embed import load_embedder
from qa.errors import ModelUnavailable
from qa.settings import Settings

if TYPE_CHECKING:
    from conftest import Built

SENTENCES = [
    "How many patients have Neuralink?",
    "Our goal is to build thousands of such robots this year.",
    "Yes, it's already up and running.",
    "Is the Russian oil price cap working?",
    "word " * 400,  # past the 256-token limit: truncated like sentence-transformers does
]


@pytest.mark.slow
def test_onnx_vectors_match_torch(seeded: Built) -> None:
    onnx = load_embedder("onnx")
    assert onnx.backend == "onnx-int8"
    assert (onnx.name, onnx.dim) == (seeded.service.embedder.name, seeded.service.embedder.dim)
    a = onnx.embed_batch(SENTENCES)
    b = seeded.service.embedder.embed_batch(SENTENCES)
    assert a.shape == b.shape == (len(SENTENCES), 384)
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    assert (a * b).sum(axis=1).min() >= 0.99
    # Batched or alone, a text gets the same vector (padding is masked out of the mean).
    alone = onnx.embed_batch(SENTENCES[:1])
    assert float((alone[0] * a[0]).sum()) > 0.9999


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(ModelUnavailable, match="unknown embedder"):
        load_embedder("tensorflow")


def test_setting_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().embedder == "torch"
    monkeypatch.setenv("QA_EMBEDDER", "onnx")
    assert Settings().embedder == "onnx"


def test_manifest_records_the_backend(hashed: Built) -> None:
    version = (hashed.index / "CURRENT").read_text().strip()
    manifest = json.loads((hashed.index / "versions" / version / "manifest.json").read_text())
    assert manifest["embedder"] == "hash"
