"""qa.embed.onnx and qa.embed.export: the fp32 export (the default) gives torch's vectors and
answers; the int8 graph is close; `qa ask` on the default path never imports torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from qa.embed import Embedder, export, load_embedder
from qa.service import QAService
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


DEV = Path(__file__).parent / "data" / "seed_qa_dev.jsonl"


@pytest.fixture(scope="module")
def torch_embedder() -> Embedder:
    return load_embedder(Settings(embedder="torch"))


@pytest.mark.slow
def test_default_is_the_fp32_export_with_torch_vectors(
    seeded: Built, torch_embedder: Embedder
) -> None:
    fp32 = seeded.service.embedder  # Settings() defaults: auto
    assert fp32.backend == "onnx-fp32"
    assert (fp32.name, fp32.dim) == (torch_embedder.name, torch_embedder.dim)
    a = fp32.embed_batch(SENTENCES)
    b = torch_embedder.embed_batch(SENTENCES)
    # The same weights in fp32: differences are float rounding (measured max 4.4e-7).
    assert np.abs(a - b).max() < 1e-5
    chunks = [c.text for c in seeded.service.index.chunks[:64]]
    assert np.abs(fp32.embed(chunks) - torch_embedder.embed(chunks)).max() < 1e-5


@pytest.mark.slow
def test_fp32_export_gives_torchs_quotes_on_dev_questions(
    seeded: Built, torch_embedder: Embedder
) -> None:
    """The index is the fp32 one; only the query vectors change between the two services."""
    questions = [json.loads(line)["question"] for line in DEV.read_text().splitlines()[:6]]
    settings = seeded.service.settings
    via_onnx = QAService(settings, embedder=seeded.service.embedder)
    via_torch = QAService(settings, embedder=torch_embedder)
    for q in questions:
        a, b = via_onnx.ask(q), via_torch.ask(q)
        assert [(x.doc_id, x.start, x.end) for x in a.quotes] == [
            (x.doc_id, x.start, x.end) for x in b.quotes
        ], q


@pytest.mark.slow
def test_qa_ask_on_the_default_path_does_not_import_torch(seeded: Built) -> None:
    code = (
        "import sys\n"
        "from qa.cli import main\n"
        f"sys.argv = ['qa', 'ask', 'How many robots?', '--index', {str(seeded.index)!r}]\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "heavy = {'torch', 'sentence_transformers', 'transformers'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr


def test_export_key_follows_the_weights(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.safetensors").write_bytes(b"a")
    first = export.export_key(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"ab")
    assert export.export_key(tmp_path) != first
    assert export.find_export(tmp_path, tmp_path / "cache") is None


@pytest.mark.slow
def test_int8_vectors_are_close_to_torch(torch_embedder: Embedder) -> None:
    onnx = load_embedder(Settings(embedder="onnx"))
    assert onnx.backend == "onnx-int8"
    assert (onnx.name, onnx.dim) == (torch_embedder.name, torch_embedder.dim)
    a = onnx.embed_batch(SENTENCES)
    b = torch_embedder.embed_batch(SENTENCES)
    assert a.shape == b.shape == (len(SENTENCES), 384)
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    assert (a * b).sum(axis=1).min() >= 0.99
    # Batched or alone, a text gets the same vector (padding is masked out of the mean).
    alone = onnx.embed_batch(SENTENCES[:1])
    assert float((alone[0] * a[0]).sum()) > 0.9999
