"""Does the fp32 ONNX export answer like torch? Vectors and dev-set answers, quote for quote.

Usage: .venv/bin/python scripts/compare_embedders.py [--other onnx-fp32]

Indexes the seeds with torch and with --other (each in a temporary folder), then:
- vectors: max |difference| and min cosine between the two backends over every text the index
  embeds (chunks, sentences, contexts, questions) plus a past-256-token text;
- answers: every dev question (tests/data/seed_qa_dev.jsonl) asked on both indexes with both
  backends' query vectors; quotes compared as (doc_id, start, end) in order, passages as chunk
  ids, scores to 4 decimals (as the API returns them).
Prints one line per comparison; exits 1 when an answer differs.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
DEV = ROOT / "tests/data/seed_qa_dev.jsonl"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--other", default="onnx-fp32")
    args = ap.parse_args()

    from qa.embed import load_embedder
    from qa.service import QAService
    from qa.settings import Settings

    backends = ("torch", args.other)
    embedders = {b: load_embedder(Settings(embedder=b)) for b in backends}
    print("backends:", {b: e.backend for b, e in embedders.items()})
    questions = [json.loads(line)["question"] for line in DEV.read_text().splitlines() if line]
    tmp = Path(tempfile.mkdtemp(prefix="qa-compare-"))
    failed = False
    try:
        services = {}
        for b in backends:
            svc = QAService(Settings(source_dir=SEEDS, index_dir=tmp / b), embedder=embedders[b])
            svc.build()
            services[b] = svc
        data = services["torch"].index
        texts = [c.text for c in data.chunks] + data.sentence_texts + ["word " * 400]
        a = embedders["torch"].embed(texts)
        o = embedders[args.other].embed(texts)
        print(
            f"vectors: {len(texts)} texts, max |diff| {np.abs(a - o).max():.2e}, "
            f"min cosine {(a * o).sum(axis=1).min():.7f}"
        )

        def answers(index_backend: str, query_backend: str) -> list[dict[str, Any]]:
            svc = QAService(services[index_backend].settings, embedder=embedders[query_backend])
            out = []
            for q in questions:
                ans = svc.ask(q)
                out.append(
                    {
                        "answerable": ans.answerable,
                        "quotes": [
                            (x.doc_id, x.start, x.end, round(x.score, 4)) for x in ans.quotes
                        ],
                        "passages": [(p.doc_id, p.start) for p in ans.passages],
                    }
                )
            return out

        base = answers("torch", "torch")
        for index_backend in backends:
            for query_backend in backends:
                got = answers(index_backend, query_backend)
                same_quotes = sum(
                    [q[:3] for q in g["quotes"]] == [q[:3] for q in b["quotes"]]
                    for g, b in zip(got, base, strict=True)
                )
                same_all = sum(g == b for g, b in zip(got, base, strict=True))
                failed |= same_quotes != len(base)
                print(
                    f"{index_backend} index, {query_backend} queries: same quotes (doc, span, "
                    f"order) {same_quotes}/{len(base)}; same quotes + scores + passages "
                    f"{same_all}/{len(base)}"
                )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
