"""scripts/bench.py: the txtai comparison is optional and its Markdown renders either way.
No timings are asserted (shared noisy cores): only shape and wording."""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("qa_bench_script", ROOT / "scripts/bench.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def saved() -> dict[str, Any]:
    """A saved run (its shape, not its numbers), with the txtai figures removed."""
    r = json.loads((ROOT / "docs/benchmarks.json").read_text(encoding="utf-8"))
    r.pop("txtai", None)
    r.pop("before", None)
    for key in ("txtai_dense", "txtai_hybrid"):
        r["inprocess"].pop(key, None)
    return dict(r)


def test_txtai_missing_is_detected(bench: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "txtai", None)  # `import txtai` raises ImportError
    assert bench.txtai_version() is None


def test_render_without_txtai(bench: ModuleType, saved: dict[str, Any]) -> None:
    md = bench.render(saved, "")  # an older run: no txtai key at all
    assert "txtai" not in md
    saved["txtai"] = {"version": None, "skipped": "txtai is not installed: txtai rows skipped"}
    md = bench.render(saved, "")
    assert "not measured: txtai is not installed" in md
    assert "| txtai hybrid" not in md


def test_render_with_txtai(bench: ModuleType, saved: dict[str, Any]) -> None:
    r = copy.deepcopy(saved)
    ip = r["inprocess"]
    row = {"n": 150, "p50": 10.0, "p95": 12.0, "p99": 14.0}
    ip["qa_search"] = {**row, "p50": 9.0}
    ip["qa_search_default"] = {**row, "p50": 5.0}
    ip["txtai_dense"] = {**row, "p50": 8.0}
    ip["txtai_hybrid"] = row
    info = {"faiss": "IDMap,Flat", "scoring": None, "rows": 131, "index_s": 2.0}
    r["txtai"] = {
        "version": "9.14.0",
        "txtai_dense": info,
        "txtai_hybrid": {**info, "scoring": {"method": "bm25"}},
        "max_abs_diff_vs_st": 1e-8,
    }
    md = bench.render(r, "")
    target = next(line for line in md.splitlines() if "0.6× txtai" in line)
    assert "5.0 ms vs 10.0 ms = 0.50×" in target  # the default's ratio
    assert "9.0 ms vs 10.0 ms = 0.90×" in target  # torch's, beside it
    assert target.endswith("| yes |")
    assert "| txtai hybrid" in md and "| txtai dense" in md
    assert "txtai, same run, same chunk texts" in md


@pytest.mark.slow
def test_txtai_index_is_exact_and_returns_text(bench: ModuleType) -> None:
    pytest.importorskip("txtai")
    from qa.embed import bundled_model_path

    texts = ["We raised prices in March.", "The robot walks slowly.", "Nobody liked the logo."]
    for hybrid in (False, True):
        tx = bench.Txtai(texts, bundled_model_path(), hybrid)
        assert tx.info["faiss"] == "IDMap,Flat" and tx.info["rows"] == 3
        assert (tx.info["scoring"] is not None) == hybrid
        top = tx.search("price increase", 1)[0]
        assert top["text"] == texts[0]
