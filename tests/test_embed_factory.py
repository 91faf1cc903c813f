"""qa.embed.factory: Settings pick the backend; `auto` falls back to torch without an export; the
manifest says which backend ran, and int8 vectors stay out of other backends' builds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from qa.embed import SentenceTransformerEmbedder, bundled_model_path, export, load_embedder
from qa.errors import ModelUnavailable
from qa.service import QAService
from qa.settings import Settings

if TYPE_CHECKING:
    from conftest import Built


def test_auto_without_an_export_falls_back_to_torch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded: list[str] = []

    class FakeTorch(SentenceTransformerEmbedder):
        def __init__(self, name: str = "m", path: Path | None = None) -> None:
            loaded.append(name)
            self.name = name

    monkeypatch.setattr("qa.embed.factory.SentenceTransformerEmbedder", FakeTorch)
    model = bundled_model_path()
    assert export.find_export(model, tmp_path) is None
    settings = Settings(embedder="auto", model_name="m", onnx_dir=tmp_path)
    emb = load_embedder(settings, export_missing=False)
    assert isinstance(emb, FakeTorch) and loaded == ["m"]

    def broken(*args: object, **kwargs: object) -> Path:
        raise ModelUnavailable("no exporter here")

    monkeypatch.setattr(export, "export", broken)
    assert isinstance(load_embedder(settings), FakeTorch)
    with pytest.raises(ModelUnavailable, match="no exporter"):
        load_embedder(settings.model_copy(update={"embedder": "onnx-fp32"}))


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(ModelUnavailable, match="unknown embedder"):
        load_embedder(Settings().model_copy(update={"embedder": "tensorflow"}))


def test_setting_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().embedder == "auto"
    monkeypatch.setenv("QA_EMBEDDER", "torch")
    assert Settings().embedder == "torch"


def test_the_onnx_folder_defaults_to_the_user_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("QA_ONNX_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert Settings().onnx_dir == tmp_path / "qa" / "onnx"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert Settings().onnx_dir == Path.home() / ".cache" / "qa" / "onnx"
    monkeypatch.setenv("QA_ONNX_DIR", str(tmp_path / "exports"))
    assert Settings().onnx_dir == tmp_path / "exports"


def test_manifest_records_the_backend(hashed: Built) -> None:
    version = (hashed.index / "CURRENT").read_text().strip()
    manifest = json.loads((hashed.index / "versions" / version / "manifest.json").read_text())
    assert manifest["embedder"] == "hash"


def test_int8_vectors_do_not_reach_other_builds_through_the_cache(tmp_path: Path) -> None:
    """Same model name, but int8 vectors are not torch's: a later build embeds afresh."""
    import shutil

    from conftest import SEEDS
    from fakes import HashEmbedder

    class Int8(HashEmbedder):
        backend = "onnx-int8"

    shutil.copytree(SEEDS, tmp_path / "seeds")
    settings = Settings(source_dir=tmp_path / "seeds", index_dir=tmp_path / "index")
    first = QAService(settings, embedder=Int8()).build()
    again = QAService(settings, embedder=HashEmbedder()).build()
    assert first.texts_embedded > 0
    assert again.texts_embedded == first.texts_embedded
    assert QAService(settings, embedder=HashEmbedder()).build().texts_embedded == 0
