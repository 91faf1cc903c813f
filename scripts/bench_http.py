"""Only the HTTP and cold-start parts of scripts/bench.py, per embedder backend: quicker to rerun
while tuning the server path.

Usage: .venv/bin/python scripts/bench_http.py [--index DIR] [--embedders auto,torch] [--rounds 2]
                                              [--cold 3]

Without --index the seeds are indexed once (default backend) into a temporary folder. Each round
starts a fresh `qa serve`, warms it with the dev questions, then measures /ask at c=1 (150
distinct questions) and c=16 (640 distinct questions), and reads the server's peak RSS. Prints
one JSON line per round and a Markdown summary (medians over rounds).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import (
    QA_BIN,
    SEEDS,
    cold,
    dev_questions,
    distinct_questions,
    http_load,
    loadavg,
    peak_rss_mb,
    start_server,
)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", type=Path)
    ap.add_argument("--embedders", default="auto,torch")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--cold", type=int, default=3, help="cold `qa ask` runs (0: skip)")
    args = ap.parse_args()

    from qa.service import QAService
    from qa.settings import Settings

    tmp = Path(tempfile.mkdtemp(prefix="qa-bench-http-"))
    try:
        index = args.index or tmp / "index"
        svc = QAService(Settings(source_dir=SEEDS, index_dir=index))
        if args.index is None:
            svc.build()
        questions = distinct_questions(svc.index.sentence_texts, 6000)
        dev = [r["question"] for r in dev_questions()]
        print(f"load average at start: {loadavg()}", file=sys.stderr)
        summary: dict[str, dict[str, list[float]]] = {}
        used = 0
        for backend in args.embedders.split(","):
            rows = summary.setdefault(backend, {})
            env = {**os.environ, "QA_EMBEDDER": backend}
            if args.cold:
                cmd = [str(QA_BIN), "ask", dev[0], "--index", str(index), "--source", str(SEEDS)]
                rows["cold_ask_s"] = [statistics.median(cold(cmd, env, args.cold))]
            for _ in range(args.rounds):
                proc, url, secs = start_server(index, backend)
                try:
                    http_load(url, "/ask", dev, 1)  # warm-up
                    c1 = http_load(url, "/ask", questions[used : used + 150], 1, proc.pid)
                    used += 150
                    c16 = http_load(url, "/ask", questions[used : used + 640], 16, proc.pid)
                    used += 640
                    rss = peak_rss_mb(proc.pid)
                finally:
                    proc.terminate()
                    proc.wait(timeout=30)
                line: dict[str, Any] = {
                    "backend": backend,
                    "serve_s": secs,
                    "c1": c1,
                    "c16": c16,
                    "rss_mb": rss,
                    "load": loadavg(),
                }
                print(json.dumps(line), flush=True)
                for key, value in (
                    ("serve_s", secs),
                    ("c1_p50_ms", c1["p50"]),
                    ("c1_p99_ms", c1["p99"]),
                    ("c16_rps", c16["rps"]),
                    ("c16_errors", c16["errors"]),
                    ("c16_cpu_ms", c16["server_cpu_ms"]),
                    ("rss_mb", rss),
                ):
                    rows.setdefault(key, []).append(value)
        print(f"load average at end: {loadavg()}", file=sys.stderr)
        keys = sorted({k for rows in summary.values() for k in rows})
        print("\n| backend | " + " | ".join(keys) + " |")
        print("|---|" + "---|" * len(keys))
        for backend, rows in summary.items():
            cells = [f"{statistics.median(rows[k]):.2f}" if k in rows else "–" for k in keys]
            print(f"| {backend} | " + " | ".join(cells) + " |")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
