"""Embedding one interview's texts alone, by thread count and batch size (docs/benchmarks-archive.md).

The "adding one interview ≤ 1.2× embedding it alone" target divides a fixed overhead (scan,
chunk, save, reload: measured by `scripts/bench_archive.py`'s add_one) by this time, which
depends on how many threads embed. Rounds alternate the settings so load drifts hit each alike.

    .venv/bin/python scripts/bench_embed_one.py /work/arch/src-10000/interview_00007.txt \
        --json docs/benchmarks-archive-s15-addone.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from qa.embed.factory import load_embedder
from qa.settings import load_settings
from qa.update import chunk_document


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("transcript", type=Path)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument(
        "--overhead", type=float, default=1.15, help="seconds an add spends beyond embedding"
    )
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    base = load_settings()
    doc = chunk_document(
        args.transcript.name, args.transcript.read_text(encoding="utf-8"), base.chunking
    )
    texts = list(dict.fromkeys(doc.texts()))  # what an add embeds when the cache has none
    embedders = {
        (threads, batch): load_embedder(
            base.with_overrides(batch_size=batch, embed_threads=threads)
        )
        for threads in (1, 2)
        for batch in (64, 32)
    }
    times: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        for (threads, batch), embedder in embedders.items():
            t0 = time.perf_counter()
            embedder.embed(texts)
            times.setdefault(f"threads={threads} batch={batch}", []).append(
                time.perf_counter() - t0
            )
    rows = {}
    for key, runs in times.items():
        median = statistics.median(runs)
        rows[key] = {
            "runs_s": runs,
            "median_s": median,
            "add_ratio": (median + args.overhead) / median,
        }
        print(f"{key}: median {median:.2f} s, add ratio {(median + args.overhead) / median:.3f}")
    out = {
        "transcript": str(args.transcript),
        "texts": len(texts),
        "overhead_s": args.overhead,
        "rows": rows,
    }
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
