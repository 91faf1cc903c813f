"""A/B: in-process search() and ask() p50 of one checkout of qa; run it on two, interleaved.

Usage: .venv/bin/python scripts/bench_ab.py CHECKOUT
Builds the checkout's seeds into a temporary index with the real model, then times every dev
question 3 times (query cache cleared before each call). Prints one JSON line. Works on
checkouts from before the restructuring (issue 11) too: it only uses what both have.
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

DEV = Path(__file__).resolve().parent.parent / "tests" / "data" / "seed_qa_dev.jsonl"


def main() -> None:
    root = Path(sys.argv[1]).resolve()
    sys.path.insert(0, str(root))
    from qa.service import QAService
    from qa.settings import Settings

    tmp = Path(tempfile.mkdtemp())
    shutil.copytree(root / "seeds", tmp / "seeds")
    svc: Any = QAService(Settings(source_dir=tmp / "seeds", index_dir=tmp / "index"))
    svc.build()
    questions = [
        json.loads(line)["question"]
        for line in DEV.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    svc.ask(questions[0])

    def clear() -> None:
        if hasattr(svc, "searcher"):
            svc.searcher.clear_cache()
        else:  # before the restructuring
            svc._query_cache.clear()

    searches: list[float] = []
    asks: list[float] = []
    for _ in range(3):
        for q in questions:
            clear()
            t = time.perf_counter()
            svc.search(q)
            searches.append((time.perf_counter() - t) * 1000)
            clear()
            t = time.perf_counter()
            svc.ask(q)
            asks.append((time.perf_counter() - t) * 1000)
    result = {
        "code": str(root),
        "search_p50": statistics.median(searches),
        "ask_p50": statistics.median(asks),
    }
    print(json.dumps(result))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
