"""Measure /ask latency on the seeds: in-process ask() vs HTTP POST /ask on a real uvicorn (concurrency 1).

Usage: .venv/bin/python scripts/bench_ask.py [--rounds 5]
Prints a Markdown table; the figures in README.md came from this script.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    questions = [
        json.loads(line)["question"]
        for line in (ROOT / "tests/data/seed_qa_dev.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    from qa.service import QAService
    from qa.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp) / "index"
        svc = QAService(Settings(source_dir=ROOT / "seeds", index_dir=index))
        svc.build()
        inproc = []
        for _ in range(args.rounds):
            for q in questions:
                t0 = time.perf_counter()
                svc.ask(q)
                inproc.append((time.perf_counter() - t0) * 1000)

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        qa = Path(sys.executable).parent / "qa"
        proc = subprocess.Popen(
            [
                str(qa),
                "serve",
                "--port",
                str(port),
                "--index",
                str(index),
                "--source",
                str(ROOT / "seeds"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ},
        )
        try:
            url = f"http://127.0.0.1:{port}"
            with httpx.Client(timeout=30) as client:
                for _ in range(120):
                    try:
                        if client.get(f"{url}/health").status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    time.sleep(0.5)
                http = []
                for _ in range(args.rounds):
                    for q in questions:
                        t0 = time.perf_counter()
                        r = client.post(f"{url}/ask", json={"question": q})
                        http.append((time.perf_counter() - t0) * 1000)
                        assert r.status_code == 200
        finally:
            proc.terminate()
            proc.wait(timeout=30)

    print("| path | n | p50 ms | p95 ms | p99 ms |")
    print("|---|---|---|---|---|")
    for name, xs in (("in-process ask()", inproc), ("HTTP POST /ask, concurrency 1", http)):
        print(
            f"| {name} | {len(xs)} | {statistics.median(xs):.1f} | {pct(xs, 95):.1f} | {pct(xs, 99):.1f} |"
        )
    print(
        f"\nHTTP overhead (p50 ratio): {statistics.median(http) / statistics.median(inproc):.2f}x"
    )


if __name__ == "__main__":
    main()
