#!/usr/bin/env python
"""Issue 16 experiment: how close contexts made from sentence pairs come to the embedded ones.

    .venv/bin/qa index build --source seeds --index /tmp/e-seeds
    QA_CHUNKING__CONTEXTS=pairs .venv/bin/qa index build --source seeds --index /tmp/p-seeds
    .venv/bin/python scripts/bench_pair_contexts.py seeds /tmp/e-seeds /tmp/p-seeds \
        tests/data/seed_qa_dev.jsonl

The embedding caches of the two indexes (default `keep` mode) hold the context texts' and the
pairs' vectors: nothing is embedded here but the questions. For each sentence held by two pairs (the others' pair is
their context text), each way of combining the pairs is compared with the embedded context:
cosine (mean, 1st percentile), and over the QUESTIONS the change in the score a context gets
(mean, mean absolute, and over each question's 20 best-scoring contexts).

Results: docs/benchmarks-archive.md, section 0 (session 14).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import qa.update as update
from qa.embed.base import DIM, MODEL_NAME
from qa.ingest import read_transcript
from qa.service import QAService
from qa.settings import ChunkingSettings, Settings
from qa.store.cache import EmbeddingCache
from qa.store.contexts import sentence_pairs


def unit(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def main() -> None:
    if len(sys.argv) != 5:
        raise SystemExit(__doc__)
    source, questions = Path(sys.argv[1]), Path(sys.argv[4])
    caches = [
        EmbeddingCache(Path(i) / "cache" / "embeddings.sqlite", MODEL_NAME, DIM)
        for i in sys.argv[2:4]
    ]
    rows: dict[str, list[np.ndarray]] = {k: [] for k in ("T", "L", "R", "S")}
    sizes: dict[str, list[int]] = {k: [] for k in ("L", "R", "S")}
    for f in sorted(p for p in source.rglob("*") if p.is_file()):
        if f.name.startswith(("SOURCE", ".")) or f.suffix == ".json":
            continue
        doc = read_transcript(f, source)
        d = update.chunk_document(doc.doc_id, doc.text, ChunkingSettings(), doc)
        pairs, members = sentence_pairs(d.chunks, d.sentences, d.sentence_texts)
        want = {*d.contexts, *d.sentence_texts, *pairs}
        have = caches[1].get_many(want)
        have.update(caches[0].get_many(want - set(have)))
        if len(have) < len(want):
            raise SystemExit(f"{doc.doc_id}: {len(want) - len(have)} texts not in the cache")
        for i, held in enumerate(members):
            if len(held) != 2:
                continue
            left, right = pairs[held[0]], pairs[held[1]]
            for k, t in (("T", d.contexts[i]), ("L", left), ("R", right)):
                rows[k].append(have[t])
            rows["S"].append(have[d.sentence_texts[i]])
            sizes["L"].append(len(left))
            sizes["R"].append(len(right))
            sizes["S"].append(len(d.sentence_texts[i]))
    T, L, R, S = (np.array(rows[k], dtype=np.float32) for k in ("T", "L", "R", "S"))
    nL, nR, nS = (np.array(sizes[k], dtype=np.float32)[:, None] for k in ("L", "R", "S"))
    X = np.stack([L, R, S], axis=-1).reshape(-1, 3)
    coef = np.linalg.lstsq(X, T.reshape(-1), rcond=None)[0]
    forms = {
        "sum of the two pairs": unit(L + R),
        "sum weighted by length": unit(L * nL + R * nR),
        "by length, less the sentence (what `pairs` does)": unit(L * nL + R * nR - S * nS),
        f"least squares {', '.join(f'{c:.2f}' for c in coef)} (fitted here, a reference)": unit(
            L * coef[0] + R * coef[1] + S * coef[2]
        ),
    }
    asked = [json.loads(line)["question"] for line in questions.open() if line.strip()]
    embedder = QAService(Settings(source_dir=source, index_dir=Path(sys.argv[3]))).embedder
    Q = embedder.embed(asked, 32)
    truth = Q @ T.T
    top = np.argsort(-truth, axis=1)[:, :20]
    print(f"{len(T)} sentences held by two pairs, {len(asked)} questions")
    for name, vecs in forms.items():
        cos = (vecs * T).sum(axis=1)
        moved = Q @ vecs.T - truth
        best = np.take_along_axis(moved, top, axis=1)
        print(
            f"{name}: cosine {cos.mean():.3f} (1st pct {np.percentile(cos, 1):.3f}); score change"
            f" {moved.mean():+.4f}, |change| {np.abs(moved).mean():.4f},"
            f" top-20 {best.mean():+.4f}"
        )


if __name__ == "__main__":
    main()
