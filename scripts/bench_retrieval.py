#!/usr/bin/env python
"""Retrieval benchmarks: BEIR SciFact (test) and XQuAD-en, written to docs/benchmarks-retrieval.md.

    .venv/bin/python scripts/bench_retrieval.py [--only scifact|xquad]

Uses the repo's copies under eval/ and the default Settings (QA_* environment variables apply).
The results file is rewritten after each dataset, so a partial run still leaves its numbers.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.embed import Embedder  # noqa: E402
from qa.evaluate import eval_beir, eval_squad  # noqa: E402
from qa.service import QAService  # noqa: E402
from qa.settings import Settings  # noqa: E402

OUT = ROOT / "docs" / "benchmarks-retrieval.md"
RAW = OUT.with_suffix(".json")  # lets `--only` add one dataset to an earlier run's results
PUBLISHED = {  # SciFact test nDCG@10 (see eval/scifact/SOURCE.md)
    "bm25": "0.665 (BM25, BEIR)",
    "dense": "0.645 (all-MiniLM-L6-v2, MTEB)",
    "hybrid": "0.713 (bge-small-en-v1.5, MTEB)",
}


def _machine() -> str:
    import torch

    return (
        f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), Python {platform.python_version()}"
    )


def _render(results: dict[str, Any], started: str, wall: dict[str, float]) -> str:
    lines = [
        "# Retrieval benchmarks",
        "",
        "Command: `.venv/bin/python scripts/bench_retrieval.py`",
        f"Date: {started} (UTC). Machine: {_machine()}.",
        "Note: CPU-only; other jobs shared the 2 cores during the run, so timings are upper bounds.",
        "",
    ]
    sf = results.get("scifact")
    if sf:
        lines += [
            f"## BEIR SciFact ({sf['split']}: {sf['queries']} queries, {sf['documents']} abstracts)",
            "",
            f"Model {sf['model']}; chunking {sf['chunking']['size']}/{sf['chunking']['overlap']} "
            f"chars → {sf['chunks']} chunks; a document scores as its best chunk (top 300 "
            f"passages deduplicated to documents). Index built once in {sf['index_seconds']:.0f}s "
            f"(chunk vectors only; sentence vectors are not needed for retrieval). "
            f"Run wall time {wall['scifact']:.0f}s.",
            "",
            "| mode | nDCG@10 | Recall@10 | Recall@100 | MRR@10 | published nDCG@10 |",
            "|---|---|---|---|---|---|",
        ]
        for mode, m in sf["modes"].items():
            lines.append(
                f"| {mode} | {m['ndcg@10']:.3f} | {m['recall@10']:.3f} | {m['recall@100']:.3f} "
                f"| {m['mrr@10']:.3f} | {PUBLISHED.get(mode, '')} |"
            )
        lines += [
            "",
            "Published numbers embed each whole abstract (or index it whole for BM25); they are "
            "references, not the same system. bge-small is a different, stronger embedder: it is "
            "listed beside hybrid only as the bar the hybrid was hoped to reach.",
            "",
        ]
    xq = results.get("xquad")
    if xq:
        lines += [
            f"## XQuAD-en ({xq['questions']} questions, {xq['paragraphs']} paragraphs as documents)",
            "",
            f"Model {xq['model']}; {xq['chunks']} chunks; full index (with sentence vectors) built "
            f"in {xq['index_seconds']:.0f}s. Run wall time {wall['xquad']:.0f}s.",
            "",
            "| mode | gold paragraph recall@1 | recall@5 |",
            "|---|---|---|",
        ]
        for mode, m in xq["recall"].items():
            lines.append(f"| {mode} | {m['recall@1']:.3f} | {m['recall@5']:.3f} |")
        lines += [
            "",
            f"`ask` ({xq['ask_mode']}, k=5): a top-3 quote contains the gold answer "
            f"(casefolded, whitespace collapsed) for **{xq['answer_in_quote@3']:.3f}** of "
            f"questions; {xq['abstained']} answers abstained. No published retrieval numbers "
            "exist for this 240-paragraph pool.",
            "",
        ]
    lines += ["## Raw results", "", "```json", json.dumps(results, indent=2), "```", ""]
    return "\n".join(lines)


def _save(results: dict[str, Any], started: str, wall: dict[str, float]) -> None:
    OUT.write_text(_render(results, started, wall), encoding="utf-8")
    raw = {"started": started, "wall": wall, "results": results}
    RAW.write_text(json.dumps(raw, indent=2) + "\n", encoding="utf-8")


class VectorCache(Embedder):
    """The model, with vectors kept by text hash in an .npz file across runs.

    Retrieval settings (fusion, BM25 scope, weights) change nothing the model computes, so a
    second run re-measures them in seconds instead of re-embedding 21,697 chunks.
    """

    def __init__(self, inner: Embedder, path: Path) -> None:
        self.inner, self.path = inner, path
        self.name, self.dim = inner.name, inner.dim
        self.table: dict[str, np.ndarray] = {}
        if path.is_file():
            with np.load(path) as data:
                self.table = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        keys = [self.key(t) for t in texts]
        missing = [t for t, k in zip(texts, keys, strict=True) if k not in self.table]
        if missing:
            for t, v in zip(missing, self.inner.embed_batch(missing), strict=True):
                self.table[self.key(t)] = v
        return np.stack([self.table[k] for k in keys]).astype(np.float32)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = np.array(list(self.table))
        np.savez(self.path, keys=keys, vectors=np.stack(list(self.table.values())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["scifact", "xquad"])
    parser.add_argument(
        "--vector-cache", type=Path, help="keep model vectors in this .npz between runs"
    )
    args = parser.parse_args()
    started = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
    settings = Settings()
    embedder: Embedder = QAService(settings).embedder  # load the model once for both datasets
    if args.vector_cache:
        embedder = VectorCache(embedder, args.vector_cache)
    results: dict[str, Any] = {}
    wall: dict[str, float] = {}
    if args.only and RAW.is_file():
        earlier = json.loads(RAW.read_text(encoding="utf-8"))
        results, wall = earlier["results"], earlier["wall"]
        started = f"{earlier['started']} and {started}"
    if args.only in (None, "scifact"):
        t0 = time.perf_counter()
        results["scifact"] = eval_beir(
            ROOT / "eval" / "scifact", settings=settings, embedder=embedder, service_type=QAService
        )
        wall["scifact"] = time.perf_counter() - t0
        _save(results, started, wall)
    if args.only in (None, "xquad"):
        t0 = time.perf_counter()
        results["xquad"] = eval_squad(
            ROOT / "eval" / "xquad-en" / "xquad.en.json",
            settings=settings,
            embedder=embedder,
            service_type=QAService,
        )
        wall["xquad"] = time.perf_counter() - t0
        _save(results, started, wall)
    if isinstance(embedder, VectorCache):
        embedder.save()
    print(f"wrote {OUT.relative_to(ROOT)} (total {sum(wall.values()):.0f}s)")


if __name__ == "__main__":
    main()
