#!/usr/bin/env python3
"""In-process A/B of the answer stage: `ask()` p50 with the coverage checks off, on (default) and
with the focal-term check, interleaved, on one built index. Query vectors are cached after a warm
pass, so this times retrieval + quote selection + coverage, not the model (which is unchanged).

    .venv/bin/python scripts/bench_coverage.py --source seeds --index /tmp/seeds-index

Prints one JSON line: p50/p90 ms per variant over every dev question, `rounds` times each.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from qa.service import QAService
from qa.settings import Settings

DEV = Path(__file__).resolve().parent.parent / "tests" / "data" / "seed_qa_dev.jsonl"
VARIANTS = {
    "checks off": {"coverage_checks": False, "focal_check": "off"},
    "type check only": {"focal_check": "off"},
    "default (focal check on typed questions)": {},
    "focal check on every question": {"focal_check": "all"},
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--source", type=Path, default=Path("seeds"))
    ap.add_argument("--index", type=Path, default=Path("index"))
    ap.add_argument("--questions", type=Path, default=DEV)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    questions = [
        json.loads(line)["question"]
        for line in args.questions.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    base = Settings(source_dir=args.source, index_dir=args.index)
    services = {}
    for name, update in VARIANTS.items():
        answer = base.answer.model_copy(update=update)
        services[name] = QAService(base.model_copy(update={"answer": answer}))
    times: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for svc in services.values():
        for q in questions:
            svc.ask(q)  # warm: loads the index, caches the query vectors
    for _ in range(args.rounds):
        for q in questions:
            for name, svc in services.items():
                t0 = time.perf_counter()
                svc.ask(q)
                times[name].append((time.perf_counter() - t0) * 1000)
    out = {
        name: {
            "p50_ms": round(statistics.median(t), 2),
            "p90_ms": round(statistics.quantiles(t, n=10)[-1], 2),
        }
        for name, t in times.items()
    }
    print(json.dumps({"questions": len(questions), "rounds": args.rounds, **out}))


if __name__ == "__main__":
    main()
