#!/usr/bin/env python
"""A/B over HTTP: `/ask` p50 of a real `qa serve` from two checkouts on one index, interleaved.

    .venv/bin/python scripts/bench_serve_ab.py --base 37c7e33 --index /work/arch/idx-10000 \
        --source /work/arch/src-10000 --rounds 4

`--base` is a git revision (checked out into a temporary worktree) or a checkout's folder; the
other side is this checkout. Both run on this checkout's venv (the base's `qa` package first on
PYTHONPATH), alternately, `--rounds` times each, so a noisy machine weighs on both alike. Each
server answers every dev question (eval/real_qa, eval/dev2_qa, the seed dev set) twice: the
first pass embeds each question (what a new question costs), the second is served the question's
vector from the searcher's cache (the index work alone). Prints one JSON object; the load
average is recorded beside each run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
QA_BIN = Path(sys.executable).parent / "qa"
sys.path.insert(0, str(ROOT / "scripts"))

from bench_archive import free_port, wait_healthy  # noqa: E402

SETS = ("eval/real_qa.jsonl", "eval/dev2_qa.jsonl", "tests/data/seed_qa_dev.jsonl")


def questions() -> list[str]:
    out = []
    for name in SETS:
        for line in (ROOT / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.append(json.loads(line)["question"])
    return out


def one_server(code: Path | None, index: Path, source: Path, asked: list[str]) -> dict[str, Any]:
    import httpx

    env = dict(os.environ, QA_RELOAD_INTERVAL="-1")
    if code is not None:
        env["PYTHONPATH"] = str(code)
    port = free_port()
    cmd = [str(QA_BIN), "serve", "--port", str(port), "--index", str(index)]
    cmd += ["--source", str(source)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    out: dict[str, Any] = {"load": os.getloadavg()[0]}
    try:
        with httpx.Client(timeout=120) as client:
            wait_healthy(client, url, proc)
            for name in ("new", "repeated"):
                lat = []
                for q in asked:
                    t = time.perf_counter()
                    r = client.post(f"{url}/ask", json={"question": q})
                    lat.append((time.perf_counter() - t) * 1000)
                    r.raise_for_status()
                out[f"{name}_p50_ms"] = round(statistics.median(lat), 1)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", required=True, help="git revision or checkout folder")
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--source", type=Path, required=True)
    ap.add_argument("--rounds", type=int, default=4)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(args.base)
        if not base.is_dir():
            base = Path(tmp) / "base"
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(base), args.base],
                check=True,
            )
        asked = questions()
        runs: dict[str, list[dict[str, Any]]] = {"base": [], "this": []}
        try:
            for _ in range(args.rounds):
                runs["base"].append(one_server(base, args.index, args.source, asked))
                runs["this"].append(one_server(None, args.index, args.source, asked))
        finally:
            if base.parent == Path(tmp):
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)])
    summary = {
        side: {
            key: statistics.median(r[key] for r in rs) for key in ("new_p50_ms", "repeated_p50_ms")
        }
        for side, rs in runs.items()
    }
    ratio = {
        key: round(summary["this"][key] / summary["base"][key], 2)
        for key in ("new_p50_ms", "repeated_p50_ms")
    }
    print(json.dumps({"base": args.base, "runs": runs, "median": summary, "this/base": ratio}))


if __name__ == "__main__":
    main()
