"""ONNX MiniLM: the fp32 export (the default) gives torch's vectors and answers; the int8 graph is
close; the manifest says which ran; `qa ask` on the default path never imports torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from qa import export_onnx
from qa.embed import Embedder, SentenceTransformerEmbedder, bundled_model_path, load_embedder
from qa.errors import ModelUnavailable
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
    return load_embedder("torch")


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


def test_auto_without_an_export_falls_back_to_torch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded: list[str] = []

    class FakeTorch(SentenceTransformerEmbedder):
        def __init__(self, name: str = "m", path: Path | None = None) -> None:
            loaded.append(name)
            self.name = name

    monkeypatch.setattr("qa.embed.SentenceTransformerEmbedder", FakeTorch)
    model = bundled_model_path()
    assert export_onnx.find_export(model, tmp_path) is None
    emb = load_embedder("auto", "m", onnx_dir=tmp_path, export_missing=False)
    assert isinstance(emb, FakeTorch) and loaded == ["m"]

    def broken(*args: object, **kwargs: object) -> Path:
        raise ModelUnavailable("no exporter here")

    monkeypatch.setattr(export_onnx, "export", broken)
    assert isinstance(load_embedder("auto", "m", onnx_dir=tmp_path), FakeTorch)
    with pytest.raises(ModelUnavailable, match="no exporter"):
        load_embedder("onnx-fp32", "m", onnx_dir=tmp_path)


def test_export_key_follows_the_weights(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.safetensors").write_bytes(b"a")
    first = export_onnx.export_key(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"ab")
    assert export_onnx.export_key(tmp_path) != first
    assert export_onnx.find_export(tmp_path, tmp_path / "cache") is None


@pytest.mark.slow
def test_int8_vectors_are_close_to_torch(torch_embedder: Embedder) -> None:
    onnx = load_embedder("onnx")
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


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(ModelUnavailable, match="unknown embedder"):
        load_embedder("tensorflow")


def test_setting_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().embedder == "auto"
    monkeypatch.setenv("QA_EMBEDDER", "torch")
    assert Settings().embedder == "torch"


def test_manifest_records_the_backend(hashed: Built) -> None:
    version = (hashed.index / "CURRENT").read_text().strip()
    manifest = json.loads((hashed.index / "versions" / version / "manifest.json").read_text())
    assert manifest["embedder"] == "hash"


def test_int8_vectors_do_not_reach_other_builds_through_the_cache(tmp_path: Path) -> None:
    """Same model name, but int8 vectors are not torch's: a later build embeds afresh."""
    import shutil

    from conftest import SEEDS

    from qa.embed import HashEmbedder

    class Int8(HashEmbedder):
        backend = "onnx-int8"

    shutil.copytree(SEEDS, tmp_path / "seeds")
    settings = Settings(source_dir=tmp_path / "seeds", index_dir=tmp_path / "index")
    first = QAService(settings, embedder=Int8()).build()
    again = QAService(settings, embedder=HashEmbedder()).build()
    assert first.texts_embedded > 0
    assert again.texts_embedded == first.texts_embedded
    assert QAService(settings, embedder=HashEmbedder()).build().texts_embedded == 0
